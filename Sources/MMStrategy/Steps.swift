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
                                  rules: MarketRules, dropped: inout [DroppedOrder], trace: inout Trace) -> Proposal {
        var p = Proposal(buys: [], sells: [])
        p.buys.reserveCapacity(c.levels)
        p.sells.reserveCapacity(c.levels)
        for level in 0..<c.levels {
            let extra = c.levelSpread * Dec(level)
            let wanted = c.orderAmount + c.levelAmount * Dec(level)
            let size = rules.amount(wanted)
            let buy = rules.price(ref.buy * (1 - bidSpread - extra))
            let sell = rules.price(ref.sell * (1 + askSpread + extra))
            guard size.isPositive else {
                // Every level that cannot be quoted is said, with why (preview lists them).
                let why = wanted.isPositive ? "size \(wanted) rounds to 0 at the market's step \(rules.step)" : "size \(wanted) is not positive (order.amount + level × levels.amount)"
                dropped.append(DroppedOrder(order: ProposedOrder(side: .buy, level: level, price: buy, amount: 0), reason: why))
                dropped.append(DroppedOrder(order: ProposedOrder(side: .sell, level: level, price: sell, amount: 0), reason: why))
                trace.add("ladder: level \(level) dropped, \(why)")
                continue
            }
            if buy.isPositive { p.buys.append(ProposedOrder(side: .buy, level: level, price: buy, amount: size)) } else {
                dropped.append(DroppedOrder(order: ProposedOrder(side: .buy, level: level, price: buy, amount: size),
                                            reason: "price \(ref.buy * (1 - bidSpread - extra)) rounds to 0 or below at the tick \(rules.tick)"))
            }
            if sell.isPositive { p.sells.append(ProposedOrder(side: .sell, level: level, price: sell, amount: size)) }
        }
        trace.add("ladder: \(c.levels) level\(c.levels == 1 ? "" : "s") a side, bid spread \(pct(bidSpread)), ask spread \(pct(askSpread)), level spread \(pct(c.levelSpread))")
        return p
    }

    /// A price band: no buys at or above the ceiling, no sells at or below the floor. The static
    /// band and the moving one are each applied (either can empty a side), at the price source.
    public static func priceBand(_ p: consuming Proposal, price: Dec, ceiling: Dec?, floor: Dec?, name: String = "band",
                                 dropped: inout [DroppedOrder], trace: inout Trace) -> Proposal {
        if let ceiling, price >= ceiling, !p.buys.isEmpty {
            let why = "price \(price) at or above the \(name) ceiling \(ceiling)"
            for o in p.buys { dropped.append(DroppedOrder(order: o, reason: why)) }
            p.buys = []
            trace.add("band: buys removed (\(why))")
        }
        if let floor, price <= floor, !p.sells.isEmpty {
            let why = "price \(price) at or below the \(name) floor \(floor)"
            for o in p.sells { dropped.append(DroppedOrder(order: o, reason: why)) }
            p.sells = []
            trace.add("band: sells removed (\(why))")
        }
        return p
    }

    /// Ping-pong: after buy fills quote that many fewer buy levels (innermost first), and likewise for sells.
    public static func pingPong(_ p: consuming Proposal, filledBuys: Int, filledSells: Int, dropped: inout [DroppedOrder],
                                trace: inout Trace) -> Proposal {
        for o in p.buys.prefix(filledBuys) { dropped.append(DroppedOrder(order: o, reason: "ping-pong: \(filledBuys) buy fill(s) ahead of the sells")) }
        for o in p.sells.prefix(filledSells) { dropped.append(DroppedOrder(order: o, reason: "ping-pong: \(filledSells) sell fill(s) ahead of the buys")) }
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

    /// The price of the first level at which the side's cumulative volume, less our own
    /// (`own`), reaches `depth`, inclusive as in the reference, and holds someone else's volume
    /// (so that a quote never steps ahead of our own order); or the side's last price.
    static func depthPrice(_ levels: [BookLevel], depth: Dec, own: Dec = 0) -> Dec? {
        // total - own ≥ depth and total - own > 0, without a subtraction per level.
        let needed = depth + own
        var total: Dec = 0
        for i in levels.indices {
            total += levels[i].amount
            if total >= needed && total > own { return levels[i].price }
        }
        return levels.last?.price
    }

    /// Order optimization: pull the innermost quote to one tick inside the best price that has
    /// more than `depth` (plus our own resting volume) in front of it; never widens a quote.
    public static func optimize(_ p: consuming Proposal, book: OrderBook, bidDepth: Dec, askDepth: Dec, ownBids: Dec, ownAsks: Dec,
                                levelSpread: Dec, rules: MarketRules, trace: inout Trace) -> Proposal {
        // Every level is spaced again from level 0's price, whether or not it moved (as the reference does).
        if let first = p.buys.first, let top = depthPrice(book.bids, depth: bidDepth, own: ownBids) {
            let above = top.ceiled(toMultipleOf: rules.tick) + rules.tick
            let p0 = rules.price(Swift.min(first.price, above))
            for i in p.buys.indices { p.buys[i].price = rules.price(p0 * (1 - levelSpread * Dec(i))) }
            trace.add(p0 != first.price ? "optimize: bid \(first.price) → \(p0) (one tick above \(top)); deeper bids spaced from it"
                                        : "optimize: bid stays at \(p0) (one tick above \(top) would be \(above)); deeper bids spaced from it")
        }
        if let first = p.sells.first, let top = depthPrice(book.asks, depth: askDepth, own: ownAsks) {
            let below = top.floored(toMultipleOf: rules.tick) - rules.tick
            let p0 = rules.price(Swift.max(first.price, below))
            for i in p.sells.indices { p.sells[i].price = rules.price(p0 * (1 + levelSpread * Dec(i))) }
            trace.add(p0 != first.price ? "optimize: ask \(first.price) → \(p0) (one tick below \(top)); deeper asks spaced from it"
                                        : "optimize: ask stays at \(p0) (one tick below \(top) would be \(below)); deeper asks spaced from it")
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
                                     rules: MarketRules, dropped: inout [DroppedOrder], trace: inout Trace) -> Proposal {
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
        dropEmpty(&p, dropped: &dropped, reason: { o in
            "inventory skew: size ×\((o.side == .buy ? bid : ask).rounded(places: 4)) rounds to 0 at the step \(rules.step)" })
        return p
    }

    /// Removes the orders whose size is zero, each with its reason.
    static func dropEmpty(_ p: inout Proposal, dropped: inout [DroppedOrder], reason: (ProposedOrder) -> String) {
        // Nearly always nothing to drop: then the arrays are not rewritten.
        guard p.buys.contains(where: { !$0.amount.isPositive }) || p.sells.contains(where: { !$0.amount.isPositive }) else { return }
        for o in p.buys where !o.amount.isPositive { dropped.append(DroppedOrder(order: o, reason: reason(o))) }
        for o in p.sells where !o.amount.isPositive { dropped.append(DroppedOrder(order: o, reason: reason(o))) }
        p.buys.removeAll { !$0.amount.isPositive }
        p.sells.removeAll { !$0.amount.isPositive }
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
                                     dropped: inout [DroppedOrder], trace: inout Trace) -> Proposal {
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
        dropEmpty(&p, dropped: &dropped, reason: { _ in "position.max \(max): base \(baseHeld) held and \(openBuys) in open buys leave no room" })
        return p
    }

    /// The budget: buys never need more quote than is available plus what our own orders lock
    /// (fees included), sells never more base. Innermost levels are funded first; once an order
    /// has been cut to what is left, the deeper ones on its side get nothing (as the reference).
    public static func budget(_ p: consuming Proposal, base: Dec, quote: Dec, fee: Dec, rules: MarketRules,
                              dropped: inout [DroppedOrder], trace: inout Trace) -> Proposal {
        var quoteLeft = quote
        let feeFactor = 1 + fee
        var reasons: [Int: String] = [:]
        for i in p.buys.indices {
            let order = p.buys[i]
            let need = order.amount * order.price * feeFactor
            if quoteLeft < need {
                let size = quoteLeft.isPositive ? rules.amount(quoteLeft.divided(by: order.price * feeFactor, scale: 18)) : 0
                if quoteLeft.isPositive || !size.isPositive {
                    trace.add("budget: bid \(order.level) \(order.amount) at \(order.price) → \(size) (quote left \(quoteLeft))")
                }
                reasons[order.level] = quoteLeft.isPositive ? "budget: \(quoteLeft) quote left buys less than the step \(rules.step)"
                    : "budget: no quote left for it (a shallower bid took the rest)"
                p.buys[i].amount = size
                quoteLeft = 0
            } else {
                quoteLeft -= need
            }
        }
        var baseLeft = base
        for i in p.sells.indices {
            let order = p.sells[i]
            if baseLeft < order.amount {
                let size = baseLeft.isPositive ? rules.amount(baseLeft) : 0
                if baseLeft.isPositive || !size.isPositive {
                    trace.add("budget: ask \(order.level) \(order.amount) at \(order.price) → \(size) (base left \(baseLeft))")
                }
                reasons[-1 - order.level] = baseLeft.isPositive ? "budget: \(baseLeft) base left is less than the step \(rules.step)"
                    : "budget: no base left for it (a shallower ask took the rest)"
                p.sells[i].amount = size
                baseLeft = 0
            } else {
                baseLeft -= order.amount
            }
        }
        dropEmpty(&p, dropped: &dropped, reason: { o in reasons[o.side == .buy ? o.level : -1 - o.level] ?? "budget" })
        return p
    }

    /// Drops orders below `order.min`, the market's minimum quantity or its minimum notional.
    public static func minimums(_ p: consuming Proposal, orderMin: Dec?, rules: MarketRules, dropped: inout [DroppedOrder],
                                trace: inout Trace) -> Proposal {
        let minAmount = Swift.max(orderMin ?? 0, rules.minQuantity)
        // Why an order is below the minimums; nil (and no text made) when it is not.
        func failure(_ o: ProposedOrder) -> String? {
            if o.amount < minAmount {
                return "size \(o.amount) below the minimum \(minAmount)" + ((orderMin ?? 0) >= rules.minQuantity ? " (order.min)" : " (market)")
            }
            if o.amount * o.price < rules.minNotional {
                return "value \(o.amount * o.price) below the market's minimum \(rules.minNotional)"
            }
            return nil
        }
        // Nearly always every order passes: then the arrays are not rewritten.
        guard p.buys.contains(where: { failure($0) != nil }) || p.sells.contains(where: { failure($0) != nil }) else { return p }
        func keep(_ o: ProposedOrder) -> Bool {
            guard let reason = failure(o) else { return true }
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
    public static func noCrossing(_ p: consuming Proposal, book: OrderBook, dropped: inout [DroppedOrder], trace: inout Trace) -> Proposal {
        if let ask = book.bestAsk, p.buys.contains(where: { $0.price >= ask }) {
            for o in p.buys where o.price >= ask { dropped.append(DroppedOrder(order: o, reason: "post-only: at or above the best ask \(ask)")) }
            let before = p.buys.count
            p.buys.removeAll { $0.price >= ask }
            if p.buys.count < before { trace.add("post-only: \(before - p.buys.count) bid(s) at or above the best ask \(ask) dropped") }
        }
        if let bid = book.bestBid, p.sells.contains(where: { $0.price <= bid }) {
            for o in p.sells where o.price <= bid { dropped.append(DroppedOrder(order: o, reason: "post-only: at or below the best bid \(bid)")) }
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
            for i in live.indices where live[i].side == side && including(i) { count += 1 }
            guard count == proposed.count else { return false }
            guard count > 0 else { return true }
            return withUnsafeTemporaryAllocation(of: Dec.self, capacity: count * 2) { buffer in
                var n = 0
                for i in live.indices where live[i].side == side && including(i) { buffer.initializeElement(at: n, to: live[i].price); n += 1 }
                for i in proposed.indices { buffer.initializeElement(at: n, to: proposed[i].price); n += 1 }
                defer { _ = buffer.deinitialize() }
                let current = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
                let wanted = UnsafeMutableBufferPointer(rebasing: buffer[count..<(count * 2)])
                insertionSort(current)
                insertionSort(wanted)
                for i in 0..<count {
                    let c = current[i]
                    guard c.isPositive, (wanted[i] - c).magnitude <= c * tolerance else { return false }
                }
                return true
            }
        }
        return side(p.buys, .buy) && side(p.sells, .sell)
    }

    /// A ladder's few prices in order: insertion sort, inlined, where the library's sort sets up
    /// a merge sort for a handful of elements.
    @inline(__always) static func insertionSort(_ b: UnsafeMutableBufferPointer<Dec>) {
        guard b.count > 1 else { return }
        for i in 1..<b.count {
            let x = b[i]
            var j = i
            while j > 0 && x < b[j - 1] { b[j] = b[j - 1]; j -= 1 }
            b[j] = x
        }
    }
}
