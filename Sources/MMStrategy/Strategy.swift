import Foundation
import MMCore

/// Pure market making with mmsh's additions. Deterministic: the same view, state and config
/// always give the same decision and next state.
public enum Strategy {
    /// Decides what to place and cancel now. `explain` fills the decision's trace.
    public static func decide(_ view: MarketView, state: inout StrategyState, config c: StrategyConfig,
                              explain: Bool = false) -> Decision {
        var trace = Trace(enabled: explain)
        var d = decide(view, state: &state, config: c, trace: &trace)
        d.trace = trace.lines
        return d
    }

    static func decide(_ view: MarketView, state: inout StrategyState, config c: StrategyConfig, trace: inout Trace) -> Decision {
        var d = Decision()
        let now = view.now
        state.prune(live: view.orders)

        guard !state.stopped else {
            cancelAll(view.orders, reason: "stopped by the stop loss", into: &d)
            trace.add("stopped: the stop loss fired earlier")
            return d
        }
        guard let bestBid = view.book.bestBid, let bestAsk = view.book.bestAsk, let mid = view.book.mid else {
            trace.add("waiting: the book has no bid or no ask yet")
            return d
        }

        // Trading hours come first: outside them nothing else matters.
        if let hours = c.hours {
            let inside = Hours.inside(now: now, windows: hours, days: c.days, offset: Hours.offset(&state, now: now, timeZone: c.timeZone))
            if inside != state.insideHours {
                if state.insideHours != nil || !inside { d.events.append(inside ? .enteredTradingHours : .leftTradingHours) }
                state.insideHours = inside
            }
            if !inside {
                d.waiting = true
                cancelAll(view.orders, reason: "outside trading hours", into: &d)
                trace.add("hours: outside \(hours.map(\.description).joined(separator: ",")) \(c.days) \(c.timeZone.identifier); waiting")
                return d
            }
        } else {
            state.insideHours = nil
        }

        // Portfolio value, for the stop loss.
        let base = view.balances.base, quote = view.balances.quote
        let value = base.total * mid + quote.total
        if state.startValue == nil {
            state.startValue = value
            state.startBase = base.total
            state.startQuote = quote.total
        }
        if let pct = c.stopLoss, let startValue = state.startValue {
            // The basis: the value at start, or what holding the starting balances is worth now.
            let start = c.stopLossAgainstHolding ? (state.startBase ?? 0) * mid + (state.startQuote ?? 0) : startValue
            let threshold = start * (1 - pct)
            if value <= threshold {
                state.stopped = true
                d.stop = true
                d.events.append(.stopLoss(start: start, now: value, threshold: threshold, againstHolding: c.stopLossAgainstHolding))
                cancelAll(view.orders, reason: "stop loss", into: &d)
                trace.add("stop loss: value \(value.rounded(places: 8)) ≤ \(threshold.rounded(places: 8)) (\(Steps.pct(pct)) below \(start.rounded(places: 8))\(c.stopLossAgainstHolding ? ", the value of holding the starting balances" : " at start"))")
                if c.stopLossAction == .liquidate, let startBase = state.startBase {
                    d.liquidation = liquidation(base: base, quote: quote, startBase: startBase, bestBid: bestBid,
                                                bestAsk: bestAsk, rules: view.rules, trace: &trace)
                }
                return d
            }
        }

        // Reference price.
        if state.costBase == nil, let cost = c.inventoryCost {
            state.costBase = base.total
            state.costQuote = base.total * cost
        }
        let ref = reference(view, state: state, source: c.priceSource, mid: mid, trace: &trace)
        d.referencePrice = ref.buy
        Volatility.sample(&state, now: now, mid: mid, window: c.volatilityWindow)

        let ownLive = view.orders
        // Which orders hang, looked up once (a set lookup hashes the client id).
        let marks = HangingMarks(ownLive, hanging: state.hanging)
        let ladderCount = ownLive.count - marks.count

        // The proposal, when it is time for one.
        var proposal: Proposal?
        if state.createAt <= now {
            var bidSpread = c.bidSpread, askSpread = c.askSpread
            if c.volatility {
                (bidSpread, askSpread) = Volatility.spreads(state, config: c, now: now, trace: &trace)
            }
            var p = Steps.baseLadder(ref, bidSpread: bidSpread, askSpread: askSpread, config: c, rules: view.rules, dropped: &d.dropped, trace: &trace)
            // The bands are evaluated at the price source (the mid for inventory cost): the
            // static band first, then the moving one; either can empty a side.
            let price = ref.buy
            p = Steps.priceBand(consume p, price: price, ceiling: c.bandCeiling, floor: c.bandFloor, dropped: &d.dropped, trace: &trace)
            if c.movingBand {
                let (ceiling, floor) = movingBand(&state, price: price, now: now, config: c, trace: &trace)
                p = Steps.priceBand(consume p, price: price, ceiling: ceiling, floor: floor, name: "moving band", dropped: &d.dropped, trace: &trace)
            }
            if c.pingPong { p = Steps.pingPong(consume p, filledBuys: state.filledBuys, filledSells: state.filledSells, dropped: &d.dropped, trace: &trace) }
            if c.optimize {
                var ownBids: Dec = 0, ownAsks: Dec = 0
                for o in ownLive { if o.side == .buy { ownBids += o.amount } else { ownAsks += o.amount } }
                p = Steps.optimize(consume p, book: view.book, bidDepth: c.bidDepth, askDepth: c.askDepth, ownBids: ownBids,
                                   ownAsks: ownAsks, levelSpread: c.levelSpread, rules: view.rules, trace: &trace)
            }
            if c.costs { p = Steps.transactionCosts(consume p, fee: view.rules.makerFee, rules: view.rules, trace: &trace) }

            // What this instance holds: available plus what its own orders lock.
            var lockedQuote: Dec = 0, lockedBase: Dec = 0, hangingBuys: Dec = 0, hangingQuote: Dec = 0, hangingSells: Dec = 0
            for (i, o) in ownLive.enumerated() {
                switch (marks[i], o.side) {
                case (false, .buy): lockedQuote += o.amount * o.price
                case (false, .sell): lockedBase += o.amount
                case (true, .buy): hangingBuys += o.amount; hangingQuote += o.amount * o.price
                case (true, .sell): hangingSells += o.amount
                }
            }
            let baseFunds = base.available + lockedBase, quoteFunds = quote.available + lockedQuote
            if c.skew {
                p = Steps.inventorySkew(consume p, base: baseFunds + hangingSells, quote: quoteFunds + hangingQuote, price: price,
                                        config: c, rules: view.rules, dropped: &d.dropped, trace: &trace)
            }
            p = Steps.capSizes(consume p, max: c.orderMax, rules: view.rules, trace: &trace)
            p = Steps.positionLimit(consume p, max: c.positionMax, baseHeld: base.total, openBuys: hangingBuys, rules: view.rules,
                                    dropped: &d.dropped, trace: &trace)
            p = Steps.budget(consume p, base: baseFunds, quote: quoteFunds, fee: view.rules.makerFee, rules: view.rules, dropped: &d.dropped, trace: &trace)
            p = Steps.minimums(consume p, orderMin: c.orderMin, rules: view.rules, dropped: &d.dropped, trace: &trace)
            p = Steps.noCrossing(consume p, book: view.book, dropped: &d.dropped, trace: &trace)
            proposal = p
            d.buys = p.buys
            d.sells = p.sells
        } else {
            trace.add("timer: next ladder in \(TimeSpan(milliseconds: state.createAt - now))")
        }

        // Hanging orders: cancel when the price ran away, renew when old; beyond their caps the
        // farthest go.
        let capped = hangingOverCaps(ownLive, marks: marks, ref: ref, base: base.total, quote: quote.total, config: c)
        if !capped.isEmpty {
            d.events.append(.hangingCapped(count: capped.count, reason: capped[0].reason))
            d.cancels += capped
        }
        let cappedIds = Set(capped.map(\.clientId))
        for (i, o) in ownLive.enumerated() where marks[i] && !cappedIds.contains(o.clientId) {
            let side = o.side == .buy ? ref.buy : ref.sell
            let distance = (o.price - side).magnitude.divided(by: side, scale: 18)
            if distance > c.hangingCancel {
                d.cancels.append(CancelRequest(clientId: o.clientId, reason: "hanging order \(Steps.pct(distance)) from the price (over \(Steps.pct(c.hangingCancel)))"))
            } else if now - o.placedAt > c.maxAge, !o.cancelling {
                d.renewals.append(o)
            }
        }

        // Ladder orders: max age, then refresh, then minimum spread.
        var cancelLadder: String?
        if ownLive.indices.contains(where: { !marks[$0] && now - ownLive[$0].placedAt > c.maxAge }) {
            cancelLadder = "older than refresh.max_age \(TimeSpan(milliseconds: c.maxAge))"
        } else if state.cancelAt <= now, ladderCount > 0 {
            if let proposal, Steps.withinTolerance(proposal, live: ownLive, tolerance: c.refreshTolerance, including: { !marks[$0] }) {
                trace.add("refresh: live orders kept (within tolerance \(c.refreshTolerance.map(Steps.pct) ?? "off"))")
            } else {
                cancelLadder = proposal == nil ? "refresh (pausing after a fill)" : "refresh: prices moved"
            }
        }
        if let reason = cancelLadder {
            for (i, o) in ownLive.enumerated() where !marks[i] && !o.cancelling { d.cancels.append(CancelRequest(clientId: o.clientId, reason: reason)) }
        } else if let minSpread = c.minSpread {
            for (i, o) in ownLive.enumerated() where !marks[i] && !o.cancelling {
                let side = o.side == .buy ? ref.buy : ref.sell
                let signed = (o.price - side).divided(by: side, scale: 18) * (o.side == .buy ? -1 : 1)
                if signed < minSpread {
                    d.cancels.append(CancelRequest(clientId: o.clientId, reason: "spread \(Steps.pct(signed)) below spread.min \(Steps.pct(minSpread))"))
                }
            }
        }

        // Place the ladder when nothing of the last one is left or on its way out.
        if let proposal, state.createAt <= now, ladderCount == 0, !ownLive.contains(where: \.cancelling), d.cancels.isEmpty,
           !(proposal.buys.isEmpty && proposal.sells.isEmpty) {
            d.place = true
            state.batch += 1
            state.createAt = now + c.refreshTime
            state.cancelAt = state.createAt
            trace.add("place: \(proposal.buys.count) bid(s), \(proposal.sells.count) ask(s); next refresh in \(TimeSpan(milliseconds: c.refreshTime))")
        }
        return d
    }

    /// The hanging orders beyond `hanging.max_count`, or beyond `hanging.max_share` of the
    /// inventory (sells against the base held, buys against the quote), farthest from the price first.
    static func hangingOverCaps(_ live: [LiveOrder], marks: HangingMarks, ref: Reference, base: Dec, quote: Dec,
                                config c: StrategyConfig) -> [CancelRequest] {
        guard marks.count > 0, c.hangingMaxCount != nil || c.hangingMaxShare != nil else { return [] }
        func distance(_ o: LiveOrder) -> Dec {
            let side = o.side == .buy ? ref.buy : ref.sell
            return (o.price - side).magnitude.divided(by: side, scale: 18)
        }
        // Nearest first: those are kept.
        var hanging = live.indices.filter { marks[$0] && !live[$0].cancelling }.map { live[$0] }
        hanging.sort { distance($0) < distance($1) }
        var out: [CancelRequest] = []
        var sells: Dec = 0, buys: Dec = 0, kept = 0
        for o in hanging {
            if let max = c.hangingMaxCount, kept >= max {
                out.append(CancelRequest(clientId: o.clientId, reason: "hanging.max_count \(max) reached: the farthest hanging order goes"))
                continue
            }
            if let share = c.hangingMaxShare {
                if o.side == .sell, base.isPositive, sells + o.amount > base * share {
                    out.append(CancelRequest(clientId: o.clientId, reason: "hanging.max_share \(Steps.pct(share)): hanging sells would hold more of the base"))
                    continue
                }
                if o.side == .buy, quote.isPositive, buys + o.amount * o.price > quote * share {
                    out.append(CancelRequest(clientId: o.clientId, reason: "hanging.max_share \(Steps.pct(share)): hanging buys would hold more of the quote"))
                    continue
                }
            }
            kept += 1
            if o.side == .sell { sells += o.amount } else { buys += o.amount * o.price }
        }
        return out
    }

    static func cancelAll(_ orders: [LiveOrder], reason: String, into d: inout Decision) {
        for o in orders where !o.cancelling { d.cancels.append(CancelRequest(clientId: o.clientId, reason: reason)) }
    }

    static func reference(_ view: MarketView, state: StrategyState, source: StrategyConfig.PriceSource, mid: Dec,
                          trace: inout Trace) -> Reference {
        let price: Dec
        switch source {
        case .mid: price = mid
        case .best_bid: price = view.book.bestBid!
        case .best_ask: price = view.book.bestAsk!
        case .last:
            price = view.lastTrade ?? mid
            if view.lastTrade == nil { trace.add("price: no trade yet, using the mid \(mid)") }
        case .last_own_trade:
            price = state.lastOwnTrade ?? mid
            if state.lastOwnTrade == nil { trace.add("price: no own trade yet, using the mid \(mid)") }
        case .inventory_cost:
            // As the reference: buys from the market price (the mid), sells from the higher of the
            // cost basis and the mid, so that nothing is sold below what it cost.
            if let base = state.costBase, base.isPositive {
                let cost = state.costQuote.divided(by: base, scale: 18)
                let sell = Swift.max(cost, mid)
                trace.add("price: mid \(mid) for buys; inventory cost \(cost.rounded(places: 8)), so \(sell.rounded(places: 8)) for sells")
                return Reference(buy: mid, sell: sell)
            }
            price = mid
            trace.add("price: no inventory cost yet, using the mid \(mid)")
        }
        trace.add("price: \(source.rawValue) \(price)")
        return Reference(buy: price, sell: price)
    }

    /// The moving band (reset every `band.refresh`).
    static func movingBand(_ state: inout StrategyState, price: Dec, now: Int64, config c: StrategyConfig,
                           trace: inout Trace) -> (Dec?, Dec?) {
        if state.band == nil || state.band!.resetAt <= now {
            state.band = (price * (1 + c.movingCeiling), price * (1 - c.movingFloor), now + c.bandRefresh)
            trace.add("band: moving band reset to \(state.band!.floor.rounded(places: 8))–\(state.band!.ceiling.rounded(places: 8))")
        }
        return (state.band!.ceiling, state.band!.floor)
    }

    static let throughBid: Dec = "0.99", throughAsk: Dec = "1.01"

    /// The stop loss's immediate-or-cancel order: back to the base held at start, 1% through the touch.
    static func liquidation(base: AssetBalance, quote: AssetBalance, startBase: Dec, bestBid: Dec, bestAsk: Dec,
                            rules: MarketRules, trace: inout Trace) -> ProposedOrder? {
        let excess = base.total - startBase
        if excess.isPositive {
            let price = rules.price(bestBid * throughBid)
            let amount = rules.amount(excess)
            guard amount.isPositive, price.isPositive else { return nil }
            trace.add("stop loss: sell \(amount) at \(price) to return to \(startBase) base")
            return ProposedOrder(side: .sell, level: 0, price: price, amount: amount)
        }
        if excess.isNegative {
            let price = rules.price(bestAsk * throughAsk)
            let affordable = rules.amount(quote.total.divided(by: price, scale: 18))
            let amount = Swift.min(rules.amount(-excess), affordable)
            guard amount.isPositive else { return nil }
            trace.add("stop loss: buy \(amount) at \(price) to return to \(startBase) base")
            return ProposedOrder(side: .buy, level: 0, price: price, amount: amount)
        }
        return nil
    }
}

/// Trading hours in a time zone.
public enum Hours {
    /// The zone's offset from UTC at `now`, in seconds, kept in the state until the zone's next
    /// transition (so Foundation's zone rules are read once per transition, not per decision).
    static func offset(_ state: inout StrategyState, now: Int64, timeZone: TimeZone) -> Int {
        if let cached = state.zoneOffset, now >= cached.from, now < cached.until, cached.zone == timeZone.identifier {
            return cached.seconds
        }
        let date = Date(timeIntervalSince1970: Double(now) / 1000)
        let seconds = timeZone.secondsFromGMT(for: date)
        let next = timeZone.nextDaylightSavingTimeTransition(after: date).map { Int64($0.timeIntervalSince1970 * 1000) }
        state.zoneOffset = (timeZone.identifier, seconds, now, min(next ?? now + 86_400_000, now + 86_400_000))
        return seconds
    }

    /// Whether `now` (ms) falls in a window on one of the days, in a zone `offset` seconds from UTC.
    /// A window that passes midnight belongs to the day it starts on.
    public static func inside(now: Int64, windows: [HoursWindow], days: WeekdaySet, offset: Int) -> Bool {
        let local = (now >= 0 ? now / 1000 : (now - 999) / 1000) + Int64(offset)
        let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let minute = Int((local - day * 86_400) / 60)
        let today = Int((day + 3) % 7 + 7) % 7           // 1970-01-01 was a Thursday; 0 is Monday
        let yesterday = (today + 6) % 7
        for w in windows {
            if !w.passesMidnight {
                if days.days.contains(today) && w.contains(minuteOfDay: minute) { return true }
            } else {
                if minute >= w.start && days.days.contains(today) { return true }
                if minute < w.end && days.days.contains(yesterday) { return true }
            }
        }
        return false
    }

    /// The same, for a time zone.
    public static func inside(now: Int64, windows: [HoursWindow], days: WeekdaySet, timeZone: TimeZone) -> Bool {
        var state = StrategyState()
        return inside(now: now, windows: windows, days: days, offset: offset(&state, now: now, timeZone: timeZone))
    }
}

/// Volatility-adjusted spreads from the mid sampled once a second.
public enum Volatility {
    static func sample(_ state: inout StrategyState, now: Int64, mid: Dec, window: Int64) {
        let second = now / 1000
        guard state.mids.last.map({ $0.second < second }) ?? true else { return }
        let value = mid.doubleValue
        if let last = state.mids.last, last.mid > 0, value > 0 {
            let r = log(value / last.mid)
            state.returnSum += r
            state.returnSquares += r * r
        }
        state.mids.append((second, value))
        // Keep one sample at or before the window's start so that a full window can be told.
        let start = (now - window) / 1000
        var drop = 0
        while state.mids.count - drop > 2 && state.mids[drop + 1].second <= start {
            let (a, b) = (state.mids[drop].mid, state.mids[drop + 1].mid)
            if a > 0, b > 0 {
                let r = log(b / a)
                state.returnSum -= r
                state.returnSquares -= r * r
            }
            drop += 1
        }
        if drop > 0 { state.mids.removeFirst(drop) }
    }

    /// Sample standard deviation of the log returns between consecutive samples (per second).
    public static func sigma(_ mids: [(second: Int64, mid: Double)]) -> Double? {
        var state = StrategyState()
        for m in mids { sample(&state, now: m.second * 1000, mid: Dec(fraction: m.mid), window: Int64.max / 2) }
        return sigma(state)
    }

    static func sigma(_ state: StrategyState) -> Double? {
        let n = Double(state.mids.count - 1)
        guard n >= 2 else { return nil }
        let variance = (state.returnSquares - state.returnSum * state.returnSum / n) / (n - 1)
        return max(variance, 0).squareRoot()
    }

    static func spreads(_ state: StrategyState, config c: StrategyConfig, now: Int64, trace: inout Trace) -> (Dec, Dec) {
        guard let first = state.mids.first, first.second * 1000 <= now - c.volatilityWindow, let sigma = sigma(state) else {
            trace.add("volatility: window of \(TimeSpan(milliseconds: c.volatilityWindow)) not filled yet; configured spreads apply")
            return (c.bidSpread, c.askSpread)
        }
        let measured = Dec(fraction: c.volatilityMultiplier.doubleValue * sigma * (Double(c.refreshTime) / 1000).squareRoot())
        func adjust(_ s: Dec) -> Dec { Swift.min(Swift.max(s, measured), c.volatilityMaxSpread) }
        let (bid, ask) = (adjust(c.bidSpread), adjust(c.askSpread))
        trace.add("volatility: σ \(String(format: "%.6f", sigma))/s → spreads bid \(Steps.pct(bid)), ask \(Steps.pct(ask)) (cap \(Steps.pct(c.volatilityMaxSpread)))")
        return (bid, ask)
    }
}

extension Dec {
    /// A statistic (0 to 1) as a decimal with 12 places, rounded down. Not for money.
    init(fraction x: Double) {
        let clamped = x.isFinite ? Swift.min(Swift.max(x, 0), 1) : 0
        self.init(mantissa: Int128((clamped * 1e12).rounded(.down)), scale: 12)
    }
}

/// Which of the live orders are hanging: a bit per order, so the set of client ids is hashed
/// once per order and decision rather than at every step.
struct HangingMarks {
    private var bits: [UInt64] = []
    let count: Int

    init(_ orders: [LiveOrder], hanging: Set<String>) {
        guard !hanging.isEmpty else { count = 0; return }
        bits = [UInt64](repeating: 0, count: (orders.count + 63) / 64)
        var n = 0
        for (i, o) in orders.enumerated() where hanging.contains(o.clientId) {
            bits[i / 64] |= 1 << UInt64(i % 64)
            n += 1
        }
        count = n
    }

    subscript(i: Int) -> Bool { bits.isEmpty ? false : bits[i / 64] & (1 << UInt64(i % 64)) != 0 }
}
