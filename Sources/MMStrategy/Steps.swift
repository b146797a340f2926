import Foundation
import MMCore

/// The ladder as it goes through the pipeline.
public struct Proposal: Sendable, Equatable {
    public var buys: [ProposedOrder]
    public var sells: [ProposedOrder]
    public init(buys: [ProposedOrder], sells: [ProposedOrder]) {
        self.buys = buys
        self.sells = sells
    }
}

/// Reference prices: buys and sells differ only with the inventory cost source.
public struct Reference: Sendable, Equatable {
    public var buy: Dec
    public var sell: Dec
}

/// One function per pipeline step: a proposal in, a proposal out, and a line in the trace for
/// what changed. The functions are pure; `Strategy.decide` puts them in order.
public enum Steps {
    static func pct(_ f: Dec) -> String { Units.renderPercent(f.rounded(places: 8)) }

    /// The base ladder: `levels.count` levels a side at `spread + level × levels.spread`.
    public static func baseLadder(_ ref: Reference, bidSpread: Dec, askSpread: Dec, config c: StrategyConfig,
                                  rules: MarketRules, trace: inout Trace) -> Proposal {
        var p = Proposal(buys: [], sells: [])
        p.buys.reserveCapacity(c.levels)
        p.sells.reserveCapacity(c.levels)
        for level in 0..<c.levels {
            let extra = c.levelSpread * Dec(level)
            let size = rules.amount(c.orderAmount + c.levelAmount * Dec(level))
            guard size.isPositive else { continue }
            let buy = rules.price(ref.buy * (1 - bidSpread - extra))
            let sell = rules.price(ref.sell * (1 + askSpread + extra))
            if buy.isPositive { p.buys.append(ProposedOrder(side: .buy, level: level, price: buy, amount: size)) }
            if sell.isPositive { p.sells.append(ProposedOrder(side: .sell, level: level, price: sell, amount: size)) }
        }
        trace.add("ladder: \(c.levels) level\(c.levels == 1 ? "" : "s") a side, bid spread \(pct(bidSpread)), ask spread \(pct(askSpread)), level spread \(pct(c.levelSpread))")
        return p
    }

    /// Static or moving price band: no buys at or above the ceiling, no sells at or below the floor.
    public static func priceBand(_ p: consuming Proposal, price: Dec, ceiling: Dec?, floor: Dec?, trace: inout Trace) -> Proposal {
        if let ceiling, price >= ceiling, !p.buys.isEmpty {
            p.buys = []
            trace.add("band: buys removed (price \(price) ≥ ceiling \(ceiling))")
        }
        if let floor, price <= floor, !p.sells.isEmpty {
            p.sells = []
            trace.add("band: sells removed (price \(price) ≤ floor \(floor))")
        }
        return p
    }

    /// Ping-pong: after buy fills quote that many fewer buy levels (innermost first), and likewise for sells.
    public static func pingPong(_ p: consuming Proposal, filledBuys: Int, filledSells: Int, trace: inout Trace) -> Proposal {
        if filledBuys > 0 {
            p.buys = Array(p.buys.dropFirst(filledBuys))
            trace.add("ping-pong: \(filledBuys) buy fill\(filledBuys == 1 ? "" : "s") ahead, \(p.buys.count) buy level\(p.buys.count == 1 ? "" : "s") left")
        }
        if filledSells > 0 {
            p.sells = Array(p.sells.dropFirst(filledSells))
            trace.add("ping-pong: \(filledSells) sell fill\(filledSells == 1 ? "" : "s") ahead, \(p.sells.count) sell level\(p.sells.count == 1 ? "" : "s") left")
        }
        return p
    }

    /// The price of the first level with volume beyond `depth` (dust plus our own orders) in
    /// front of it, or the side's last price.
    static func depthPrice(_ levels: [BookLevel], depth: Dec) -> Dec? {
        var total: Dec = 0
        for level in levels {
            total += level.amount
            if total > depth { return level.price }
        }
        return levels.last?.price
    }

    /// Order optimization: pull the innermost quote to one tick inside the best price that has
    /// more than `depth` (plus our own resting volume) in front of it; never widens a quote.
    public static func optimize(_ p: consuming Proposal, book: OrderBook, bidDepth: Dec, askDepth: Dec, ownBids: Dec, ownAsks: Dec,
                                levelSpread: Dec, rules: MarketRules, trace: inout Trace) -> Proposal {
        if let first = p.buys.first, let top = depthPrice(book.bids, depth: bidDepth + ownBids) {
            let above = top.floored(toMultipleOf: rules.tick) + rules.tick
            let p0 = Swift.min(first.price, above)
            if p0 != first.price {
                for i in p.buys.indices { p.buys[i].price = rules.price(p0 * (1 - levelSpread * Dec(i))) }
                trace.add("optimize: bid \(first.price) → \(p0) (one tick above \(top))")
            }
        }
        if let first = p.sells.first, let top = depthPrice(book.asks, depth: askDepth + ownAsks) {
            let below = top.ceiled(toMultipleOf: rules.tick) - rules.tick
            let p0 = Swift.max(first.price, below)
            if p0 != first.price {
                for i in p.sells.indices { p.sells[i].price = rules.price(p0 * (1 + levelSpread * Dec(i))) }
                trace.add("optimize: ask \(first.price) → \(p0) (one tick below \(top))")
            }
        }
        return p
    }

    /// Transaction costs: widen prices by the maker fee.
    public static func transactionCosts(_ p: consuming Proposal, fee: Dec, rules: MarketRules, trace: inout Trace) -> Proposal {
        guard fee.isPositive else { return p }
        var p = p
        for i in p.buys.indices { p.buys[i].price = rules.price(p.buys[i].price * (1 - fee)) }
        for i in p.sells.indices { p.sells[i].price = rules.price(p.sells[i].price * (1 + fee)) }
        trace.add("costs: prices widened by the maker fee \(pct(fee))")
        return p
    }

    static let half: Dec = "0.5"

    /// The bid and ask size multipliers of the inventory skew.
    public static func skewRatios(base: Dec, quote: Dec, price: Dec, target: Dec, range: Dec) -> (bid: Dec, ask: Dec) {
        let total = base * price + quote
        guard total.isPositive, range.isPositive else { return (0, 0) }
        let bv = base * price
        let rv = Swift.min(range * price, total * half)
        let tv = total * target
        let lo = Swift.max(tv - rv, 0), hi = tv + rv
        // The two interpolations of the reference (value → ratio → multiplier) compose to one line
        // per half: 2 → 1 from `lo` to the target, 1 → 0 from the target to `hi`.
        let bid: Dec
        if bv < tv {
            bid = bv <= lo ? 2 : 2 - (bv - lo).divided(by: tv - lo, scale: 12)
        } else {
            bid = bv >= hi ? 0 : 1 - (bv - tv).divided(by: hi - tv, scale: 12)
        }
        return (bid, 2 - bid)
    }

    /// Inventory skew: scale sizes towards the target share of value held in base.
    public static func inventorySkew(_ p: consuming Proposal, base: Dec, quote: Dec, price: Dec, config c: StrategyConfig,
                                     rules: MarketRules, trace: inout Trace) -> Proposal {
        let levels = Dec(c.levels)
        let totalSize = 2 * levels * c.orderAmount + levels * Dec(c.levels - 1) * c.levelAmount
        let (bid, ask) = skewRatios(base: base, quote: quote, price: price, target: c.inventoryTarget,
                                    range: totalSize * c.inventoryRange)
        for i in p.buys.indices { p.buys[i].amount = rules.amount(p.buys[i].amount * bid) }
        for i in p.sells.indices { p.sells[i].amount = rules.amount(p.sells[i].amount * ask) }
        if trace.enabled {
            let total = base * price + quote
            let share = total.isPositive ? (base * price).divided(by: total, scale: 6) : 0
            trace.add("skew: bid ×\(bid.rounded(places: 4)), ask ×\(ask.rounded(places: 4)) (base \(Units.renderPercent(share.rounded(places: 3))) of value, target \(pct(c.inventoryTarget)))")
        }
        p.buys.removeAll { !$0.amount.isPositive }
        p.sells.removeAll { !$0.amount.isPositive }
        return p
    }

    /// Caps sizes at `order.max`.
    public static func capSizes(_ p: consuming Proposal, max: Dec?, rules: MarketRules, trace: inout Trace) -> Proposal {
        guard let max else { return p }
        let cap = rules.amount(max)
        var p = p
        for i in p.buys.indices where p.buys[i].amount > cap {
            trace.add("size: bid \(i) \(p.buys[i].amount) → \(cap) (order.max)")
            p.buys[i].amount = cap
        }
        for i in p.sells.indices where p.sells[i].amount > cap {
            trace.add("size: ask \(i) \(p.sells[i].amount) → \(cap) (order.max)")
            p.sells[i].amount = cap
        }
        return p
    }

    /// Max position: no buy that would take base holdings plus open buys above `position.max`.
    public static func positionLimit(_ p: consuming Proposal, max: Dec?, baseHeld: Dec, openBuys: Dec, rules: MarketRules,
                                     trace: inout Trace) -> Proposal {
        guard let max else { return p }
        var room = max - baseHeld - openBuys
        var p = p
        for i in p.buys.indices {
            let before = p.buys[i].amount
            if before > room {
                p.buys[i].amount = room.isPositive ? rules.amount(room) : 0
                trace.add("position: bid \(p.buys[i].level) \(before) → \(p.buys[i].amount) (base \(baseHeld) + open buys within position.max \(max))")
            }
            room -= p.buys[i].amount
        }
        p.buys.removeAll { !$0.amount.isPositive }
        return p
    }

    /// The budget: buys never need more quote than is available plus what our own orders lock
    /// (fees included), sells never more base. Innermost levels are funded first.
    public static func budget(_ p: consuming Proposal, base: Dec, quote: Dec, fee: Dec, rules: MarketRules, trace: inout Trace) -> Proposal {
        var quoteLeft = quote
        let feeFactor = 1 + fee
        for i in p.buys.indices {
            let order = p.buys[i]
            let need = order.amount * order.price * feeFactor
            if quoteLeft < need {
                let size = quoteLeft.isPositive ? rules.amount(quoteLeft.divided(by: order.price * feeFactor, scale: 18)) : 0
                trace.add("budget: bid \(order.level) \(order.amount) at \(order.price) → \(size) (quote left \(quoteLeft))")
                p.buys[i].amount = size
                quoteLeft -= size * order.price * feeFactor
            } else {
                quoteLeft -= need
            }
        }
        var baseLeft = base
        for i in p.sells.indices {
            let order = p.sells[i]
            if baseLeft < order.amount {
                let size = baseLeft.isPositive ? rules.amount(baseLeft) : 0
                trace.add("budget: ask \(order.level) \(order.amount) at \(order.price) → \(size) (base left \(baseLeft))")
                p.sells[i].amount = size
                baseLeft -= size
            } else {
                baseLeft -= order.amount
            }
        }
        p.buys.removeAll { !$0.amount.isPositive }
        p.sells.removeAll { !$0.amount.isPositive }
        return p
    }

    /// Drops orders below `order.min`, the market's minimum quantity or its minimum notional.
    public static func minimums(_ p: consuming Proposal, orderMin: Dec?, rules: MarketRules, dropped: inout [DroppedOrder],
                                trace: inout Trace) -> Proposal {
        let minAmount = Swift.max(orderMin ?? 0, rules.minQuantity)
        func keep(_ o: ProposedOrder) -> Bool {
            let reason: String
            if o.amount < minAmount {
                reason = "size \(o.amount) below the minimum \(minAmount)" + ((orderMin ?? 0) >= rules.minQuantity ? " (order.min)" : " (market)")
            } else if o.amount * o.price < rules.minNotional {
                reason = "value \(o.amount * o.price) below the market's minimum \(rules.minNotional)"
            } else {
                return true
            }
            dropped.append(DroppedOrder(order: o, reason: reason))
            trace.add("size: \(o.side == .buy ? "bid" : "ask") \(o.level) dropped, \(reason)")
            return false
        }
        var p = p
        p.buys.removeAll { !keep($0) }
        p.sells.removeAll { !keep($0) }
        return p
    }

    /// Post-only: drop orders that would cross the book.
    public static func noCrossing(_ p: consuming Proposal, book: OrderBook, trace: inout Trace) -> Proposal {
        if let ask = book.bestAsk {
            let before = p.buys.count
            p.buys.removeAll { $0.price >= ask }
            if p.buys.count < before { trace.add("post-only: \(before - p.buys.count) bid(s) at or above the best ask \(ask) dropped") }
        }
        if let bid = book.bestBid {
            let before = p.sells.count
            p.sells.removeAll { $0.price <= bid }
            if p.sells.count < before { trace.add("post-only: \(before - p.sells.count) ask(s) at or below the best bid \(bid) dropped") }
        }
        return p
    }

    /// Whether the live orders are close enough to the proposal to be kept: the same number on
    /// each side and, in price order, each within `tolerance` of its counterpart.
    public static func withinTolerance(_ p: Proposal, live: [LiveOrder], tolerance: Dec?,
                                       including: (Int) -> Bool = { _ in true }) -> Bool {
        guard let tolerance else { return false }
        func side(_ proposed: [ProposedOrder], _ side: Side) -> Bool {
            var count = 0
            for (i, o) in live.enumerated() where o.side == side && including(i) { count += 1 }
            guard count == proposed.count else { return false }
            guard count > 0 else { return true }
            return withUnsafeTemporaryAllocation(of: Dec.self, capacity: count * 2) { buffer in
                var n = 0
                for (i, o) in live.enumerated() where o.side == side && including(i) { buffer.initializeElement(at: n, to: o.price); n += 1 }
                for o in proposed { buffer.initializeElement(at: n, to: o.price); n += 1 }
                defer { _ = buffer.deinitialize() }
                var current = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
                var wanted = UnsafeMutableBufferPointer(rebasing: buffer[count..<(count * 2)])
                current.sort()
                wanted.sort()
                for i in 0..<count {
                    let c = current[i]
                    guard c.isPositive, (wanted[i] - c).magnitude <= c * tolerance else { return false }
                }
                return true
            }
        }
        return side(p.buys, .buy) && side(p.sells, .sell)
    }
}
