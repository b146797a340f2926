import Foundation
import MMCore

/// One decision of an instance, whichever its strategy: the stop loss and trading hours first,
/// then the strategy's ladder (`QuoteModel`), then the steps every strategy shares.
/// Deterministic: the same view, state and config always give the same decision and next state.
public enum Strategy {
    /// Decides what to place and cancel now. `explain` fills the decision's trace.
    public static func decide(_ view: MarketView, state: inout StrategyState, config c: StrategyConfig,
                              explain: Bool = false) -> Decision {
        var trace = Trace(enabled: explain)
        // Filled in place: a returned Decision (ten arrays) was copied and destroyed once more
        // at every decision.
        var d = Decision()
        decide(view, state: &state, config: c, trace: &trace, into: &d)
        if explain { d.trace = trace.lines }
        return d
    }

    static func decide(_ view: MarketView, state: inout StrategyState, config c: StrategyConfig, trace: inout Trace,
                       into d: inout Decision) {
        let now = view.now
        state.prune(live: view.orders)

        guard !state.stopped else {
            cancelAll(view.orders, reason: "stopped by the stop loss", into: &d)
            trace.add("stopped: the stop loss fired earlier")
            return
        }
        guard let bestBid = view.book.bestBid, let bestAsk = view.book.bestAsk, let mid = view.book.mid else {
            trace.add("waiting: the book has no bid or no ask yet")
            return
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
                d.waitingFor = "outside trading hours"
                cancelAll(view.orders, reason: "outside trading hours", into: &d)
                trace.add("hours: outside \(hours.map(\.description).joined(separator: ",")) \(c.days) \(c.timeZone.identifier); waiting")
                return
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
                return
            }
        }

        // The loops over the live orders below read fields through the index (`ownLive[i].price`)
        // rather than binding each order: binding copies it (and retains its client id), and at a
        // decision per book change those copies were a seventh of the decision's time.
        let ownLive = view.orders
        // Which orders hang, looked up once (a set lookup hashes the client id).
        let marks = HangingMarks(ownLive, hanging: state.hanging)
        let ladderCount = ownLive.count - marks.count

        // What this instance holds: available plus what its own orders lock.
        var lockedQuote: Dec = 0, lockedBase: Dec = 0, hangingBuys: Dec = 0, hangingQuote: Dec = 0, hangingSells: Dec = 0
        for i in ownLive.indices {
            let amount = ownLive[i].amount
            switch (marks[i], ownLive[i].side) {
            case (false, .buy): lockedQuote += amount * ownLive[i].price
            case (false, .sell): lockedBase += amount
            case (true, .buy): hangingBuys += amount; hangingQuote += amount * ownLive[i].price
            case (true, .sell): hangingSells += amount
            }
        }
        let funds = Funds(base: base.available + lockedBase, quote: quote.available + lockedQuote, hangingSells: hangingSells,
                          hangingBuys: hangingBuys, hangingQuote: hangingQuote)

        // The strategy's own part: the reference price always, the ladder when it is time for one.
        let wantsLadder = state.createAt <= now
        let quoted = c.model.quote(QuoteInput(view: view, mid: mid, funds: funds, wantsLadder: wantsLadder),
                                   shared: &state, config: c, dropped: &d.dropped, trace: &trace)
        let ref = quoted.reference
        d.referencePrice = ref.buy
        if let why = quoted.waitingFor {
            d.waiting = true
            d.waitingFor = why
            cancelAll(view.orders, reason: why, into: &d)
            trace.add("waiting: \(why)")
            return
        }

        // The shared tail of the pipeline.
        var proposal: Proposal?
        if wantsLadder, var p = quoted.ladder {
            if c.optimize {
                var ownBids: Dec = 0, ownAsks: Dec = 0
                for i in ownLive.indices { if ownLive[i].side == .buy { ownBids += ownLive[i].amount } else { ownAsks += ownLive[i].amount } }
                p = Steps.optimize(consume p, book: view.book, bidDepth: c.bidDepth, askDepth: c.askDepth, ownBids: ownBids,
                                   ownAsks: ownAsks, levelSpread: quoted.levelSpacing, rules: view.rules, trace: &trace)
            }
            if c.costs { p = Steps.transactionCosts(consume p, fee: view.rules.makerFee, rules: view.rules, trace: &trace) }
            p = Steps.capSizes(consume p, max: c.orderMax, rules: view.rules, trace: &trace)
            p = Steps.positionLimit(consume p, max: c.positionMax, baseHeld: base.total, openBuys: hangingBuys, rules: view.rules,
                                    dropped: &d.dropped, trace: &trace)
            p = Steps.budget(consume p, base: funds.base, quote: funds.quote, fee: view.rules.makerFee, rules: view.rules,
                             dropped: &d.dropped, trace: &trace)
            p = Steps.minimums(consume p, orderMin: c.orderMin, rules: view.rules, dropped: &d.dropped, trace: &trace)
            p = Steps.noCrossing(consume p, book: view.book, dropped: &d.dropped, trace: &trace)
            proposal = p
            d.buys = p.buys
            d.sells = p.sells
        } else if !wantsLadder {
            trace.add("timer: next ladder in \(TimeSpan(milliseconds: state.createAt - now))")
        }

        // Hanging orders: cancel when the price ran away, renew when old; beyond their caps the
        // farthest go.
        let capped = hangingOverCaps(ownLive, marks: marks, ref: ref, base: base.total, quote: quote.total, config: c)
        if !capped.isEmpty {
            d.events.append(.hangingCapped(count: capped.count, reason: capped[0].reason))
            d.cancels += capped
        }
        let cappedIds = capped.isEmpty ? [] : Set(capped.map(\.clientId))
        for i in ownLive.indices where marks[i] && (cappedIds.isEmpty || !cappedIds.contains(ownLive[i].clientId)) {
            let o = ownLive[i]
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
        } else if state.cancelAt <= now, ownLive.indices.contains(where: { !marks[$0] && !ownLive[$0].cancelling }) {
            // Orders on their way out are not compared (Hummingbot's active orders leave out
            // in-flight cancels): with only those left there is nothing to keep or cancel.
            if let proposal, Steps.withinTolerance(proposal, live: ownLive, tolerance: c.refreshTolerance,
                                                   including: { !marks[$0] && !ownLive[$0].cancelling }) {
                state.setTimers(now: now, refresh: c.refreshTime)
                trace.add("refresh: live orders kept (within tolerance \(c.refreshTolerance.map(Steps.pct) ?? "off")); next refresh in \(TimeSpan(milliseconds: c.refreshTime))")
            } else {
                cancelLadder = proposal == nil ? "refresh (pausing after a fill)" : "refresh: prices moved"
            }
        }
        if let reason = cancelLadder {
            for i in ownLive.indices where !marks[i] && !ownLive[i].cancelling { d.cancels.append(CancelRequest(clientId: ownLive[i].clientId, reason: reason)) }
        } else if let minSpread = c.minSpread {
            for i in ownLive.indices where !marks[i] && !ownLive[i].cancelling {
                let buy = ownLive[i].side == .buy
                let side = buy ? ref.buy : ref.sell
                let signed = (ownLive[i].price - side).divided(by: side, scale: 18) * (buy ? -1 : 1)
                if signed < minSpread {
                    d.cancels.append(CancelRequest(clientId: ownLive[i].clientId, reason: "spread \(Steps.pct(signed)) below spread.min \(Steps.pct(minSpread))"))
                }
            }
        }

        // Place the ladder when nothing of the last one is left or on its way out.
        if let proposal, state.createAt <= now, ladderCount == 0, !ownLive.contains(where: \.cancelling), d.cancels.isEmpty,
           !(proposal.buys.isEmpty && proposal.sells.isEmpty) {
            d.place = true
            state.batch += 1
            state.setTimers(now: now, refresh: c.refreshTime)
            trace.add("place: \(proposal.buys.count) bid(s), \(proposal.sells.count) ask(s); next refresh in \(TimeSpan(milliseconds: c.refreshTime))")
        }
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
        for i in orders.indices where !orders[i].cancelling { d.cancels.append(CancelRequest(clientId: orders[i].clientId, reason: reason)) }
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

extension Dec {
    /// A statistic between 0 and 1 (held there) as a decimal with 12 places, rounded down. Not for money.
    init(fraction x: Double) {
        self.init(statistic: x.isFinite ? Swift.min(Swift.max(x, 0), 1) : 0)
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
        // A few hanging orders (the usual case) are compared directly: equal small strings
        // compare in a word or two, where a set lookup hashes every client id.
        let few = hanging.count <= 4
        var n = 0
        for i in orders.indices {
            let id = orders[i].clientId
            let isHanging = few ? hanging.contains { $0 == id } : hanging.contains(id)
            if isHanging {
                bits[i / 64] |= 1 << UInt64(i % 64)
                n += 1
            }
        }
        count = n
    }

    @inline(__always) subscript(i: Int) -> Bool { bits.isEmpty ? false : bits[i / 64] & (1 << UInt64(i % 64)) != 0 }
}
