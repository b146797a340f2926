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
            let inside = Hours.inside(now: now, windows: hours, days: c.days, timeZone: c.timeZone)
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
        }
        if let pct = c.stopLoss, let start = state.startValue {
            let threshold = start * (1 - pct)
            if value <= threshold {
                state.stopped = true
                d.stop = true
                d.events.append(.stopLoss(start: start, now: value, threshold: threshold))
                cancelAll(view.orders, reason: "stop loss", into: &d)
                trace.add("stop loss: value \(value.rounded(places: 8)) ≤ \(threshold.rounded(places: 8)) (\(Steps.pct(pct)) below \(start.rounded(places: 8)) at start)")
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
        let ladder = ownLive.filter { !state.hanging.contains($0.clientId) }
        let hangingOrders = ownLive.filter { state.hanging.contains($0.clientId) }

        // The proposal, when it is time for one.
        var proposal: Proposal?
        if state.createAt <= now {
            var bidSpread = c.bidSpread, askSpread = c.askSpread
            if c.volatility {
                (bidSpread, askSpread) = Volatility.spreads(state, config: c, now: now, trace: &trace)
            }
            var p = Steps.baseLadder(ref, bidSpread: bidSpread, askSpread: askSpread, config: c, rules: view.rules, trace: &trace)
            let (ceiling, floor) = band(&state, price: mid, now: now, config: c, trace: &trace)
            p = Steps.priceBand(p, price: mid, ceiling: ceiling, floor: floor, trace: &trace)
            if c.pingPong { p = Steps.pingPong(p, filledBuys: state.filledBuys, filledSells: state.filledSells, trace: &trace) }
            if c.optimize {
                var ownBids: Dec = 0, ownAsks: Dec = 0
                for o in ownLive { if o.side == .buy { ownBids += o.amount } else { ownAsks += o.amount } }
                p = Steps.optimize(p, book: view.book, bidDepth: c.bidDepth, askDepth: c.askDepth, ownBids: ownBids,
                                   ownAsks: ownAsks, levelSpread: c.levelSpread, rules: view.rules, trace: &trace)
            }
            if c.costs { p = Steps.transactionCosts(p, fee: view.rules.makerFee, rules: view.rules, trace: &trace) }

            // What this instance holds: available plus what its own orders lock.
            var lockedQuote: Dec = 0, lockedBase: Dec = 0, hangingBuys: Dec = 0
            for o in ladder { if o.side == .buy { lockedQuote += o.amount * o.price } else { lockedBase += o.amount } }
            for o in hangingOrders where o.side == .buy { hangingBuys += o.amount }
            let baseFunds = base.available + lockedBase, quoteFunds = quote.available + lockedQuote
            if c.skew {
                var skewBase = baseFunds, skewQuote = quoteFunds
                for o in hangingOrders { if o.side == .buy { skewQuote += o.amount * o.price } else { skewBase += o.amount } }
                p = Steps.inventorySkew(p, base: skewBase, quote: skewQuote, price: mid, config: c, rules: view.rules, trace: &trace)
            }
            p = Steps.capSizes(p, max: c.orderMax, rules: view.rules, trace: &trace)
            p = Steps.positionLimit(p, max: c.positionMax, baseHeld: base.total, openBuys: hangingBuys, rules: view.rules, trace: &trace)
            p = Steps.budget(p, base: baseFunds, quote: quoteFunds, fee: view.rules.makerFee, rules: view.rules, trace: &trace)
            p = Steps.minimums(p, orderMin: c.orderMin, rules: view.rules, dropped: &d.dropped, trace: &trace)
            p = Steps.noCrossing(p, book: view.book, trace: &trace)
            proposal = p
            d.buys = p.buys
            d.sells = p.sells
        } else {
            trace.add("timer: next ladder in \(TimeSpan(milliseconds: state.createAt - now))")
        }

        // Hanging orders: cancel when the price ran away, renew when old.
        for o in hangingOrders {
            let distance = (o.price - ref.buy).magnitude.divided(by: ref.buy, scale: 18)
            if distance > c.hangingCancel {
                d.cancels.append(CancelRequest(clientId: o.clientId, reason: "hanging order \(Steps.pct(distance)) from the price (over \(Steps.pct(c.hangingCancel)))"))
            } else if now - o.placedAt > c.maxAge, !o.cancelling {
                d.renewals.append(o)
            }
        }

        // Ladder orders: max age, then refresh, then minimum spread.
        var cancelLadder: String?
        if ladder.contains(where: { now - $0.placedAt > c.maxAge }) {
            cancelLadder = "older than refresh.max_age \(TimeSpan(milliseconds: c.maxAge))"
        } else if state.cancelAt <= now, !ladder.isEmpty {
            if let proposal, Steps.withinTolerance(proposal, live: ladder, tolerance: c.refreshTolerance) {
                trace.add("refresh: live orders kept (within tolerance \(c.refreshTolerance.map(Steps.pct) ?? "off"))")
            } else {
                cancelLadder = proposal == nil ? "refresh (pausing after a fill)" : "refresh: prices moved"
            }
        }
        if let reason = cancelLadder {
            for o in ladder where !o.cancelling { d.cancels.append(CancelRequest(clientId: o.clientId, reason: reason)) }
        } else if let minSpread = c.minSpread {
            for o in ladder where !o.cancelling {
                let signed = (o.price - ref.buy).divided(by: ref.buy, scale: 18) * (o.side == .buy ? -1 : 1)
                if signed < minSpread {
                    d.cancels.append(CancelRequest(clientId: o.clientId, reason: "spread \(Steps.pct(signed)) below spread.min \(Steps.pct(minSpread))"))
                }
            }
        }

        // Place the ladder when nothing of the last one is left or on its way out.
        if let proposal, state.createAt <= now, ladder.isEmpty, !ownLive.contains(where: \.cancelling), d.cancels.isEmpty,
           !(proposal.buys.isEmpty && proposal.sells.isEmpty) {
            d.place = true
            state.batch += 1
            state.createAt = now + c.refreshTime
            state.cancelAt = state.createAt
            trace.add("place: \(proposal.buys.count) bid(s), \(proposal.sells.count) ask(s); next refresh in \(TimeSpan(milliseconds: c.refreshTime))")
        }
        return d
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
            if let base = state.costBase, base.isPositive {
                let cost = state.costQuote.divided(by: base, scale: 18)
                let sell = Swift.max(cost, mid)
                trace.add("price: inventory cost \(cost.rounded(places: 8)) for buys, \(sell.rounded(places: 8)) for sells")
                return Reference(buy: cost, sell: sell)
            }
            price = mid
            trace.add("price: no inventory cost yet, using the mid \(mid)")
        }
        trace.add("price: \(source.rawValue) \(price)")
        return Reference(buy: price, sell: price)
    }

    /// The static band, or the moving band (reset every `band.refresh`).
    static func band(_ state: inout StrategyState, price: Dec, now: Int64, config c: StrategyConfig,
                     trace: inout Trace) -> (Dec?, Dec?) {
        guard c.movingBand else { return (c.bandCeiling, c.bandFloor) }
        if state.band == nil || state.band!.resetAt <= now {
            state.band = (price * (1 + c.movingCeiling), price * (1 - c.movingFloor), now + c.bandRefresh)
            trace.add("band: moving band reset to \(state.band!.floor.rounded(places: 8))–\(state.band!.ceiling.rounded(places: 8))")
        }
        return (state.band!.ceiling, state.band!.floor)
    }

    /// The stop loss's immediate-or-cancel order: back to the base held at start, 1% through the touch.
    static func liquidation(base: AssetBalance, quote: AssetBalance, startBase: Dec, bestBid: Dec, bestAsk: Dec,
                            rules: MarketRules, trace: inout Trace) -> ProposedOrder? {
        let excess = base.total - startBase
        if excess.isPositive {
            let price = rules.price(bestBid * Dec("0.99"))
            let amount = rules.amount(excess)
            guard amount.isPositive, price.isPositive else { return nil }
            trace.add("stop loss: sell \(amount) at \(price) to return to \(startBase) base")
            return ProposedOrder(side: .sell, level: 0, price: price, amount: amount)
        }
        if excess.isNegative {
            let price = rules.price(bestAsk * Dec("1.01"))
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
    /// Whether `now` (ms) falls in a window on one of the days. A window that passes midnight
    /// belongs to the day it starts on.
    public static func inside(now: Int64, windows: [HoursWindow], days: WeekdaySet, timeZone: TimeZone) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let date = Date(timeIntervalSince1970: Double(now) / 1000)
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        let minute = parts.hour! * 60 + parts.minute!
        let today = (parts.weekday! + 5) % 7          // Calendar: 1 = Sunday; ours: 0 = Monday
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
}

/// Volatility-adjusted spreads from the mid sampled once a second.
public enum Volatility {
    static func sample(_ state: inout StrategyState, now: Int64, mid: Dec, window: Int64) {
        let second = now / 1000
        if state.mids.last.map({ $0.second < second }) ?? true {
            state.mids.append((second, mid.doubleValue))
        }
        // Keep one sample at or before the window's start so that a full window can be told.
        let start = (now - window) / 1000
        while state.mids.count > 2 && state.mids[1].second <= start { state.mids.removeFirst() }
    }

    /// Standard deviation of the log returns of the samples, per second.
    public static func sigma(_ mids: [(second: Int64, mid: Double)]) -> Double? {
        guard mids.count >= 3 else { return nil }
        var returns: [Double] = []
        returns.reserveCapacity(mids.count)
        for i in 1..<mids.count where mids[i - 1].mid > 0 && mids[i].mid > 0 {
            returns.append(log(mids[i].mid / mids[i - 1].mid))
        }
        guard returns.count >= 2 else { return nil }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count - 1)
        return variance.squareRoot()
    }

    static func spreads(_ state: StrategyState, config c: StrategyConfig, now: Int64, trace: inout Trace) -> (Dec, Dec) {
        guard let first = state.mids.first, first.second * 1000 <= now - c.volatilityWindow,
              let sigma = sigma(state.mids) else {
            trace.add("volatility: window of \(TimeSpan(milliseconds: c.volatilityWindow)) not filled yet; configured spreads apply")
            return (c.bidSpread, c.askSpread)
        }
        let scaled = c.volatilityMultiplier.doubleValue * sigma * (Double(c.refreshTime) / 1000).squareRoot()
        let measured = Dec(Decimal64Text.format(scaled)) ?? 0
        func adjust(_ s: Dec) -> Dec { Swift.min(Swift.max(s, measured), c.volatilityMaxSpread) }
        let (bid, ask) = (adjust(c.bidSpread), adjust(c.askSpread))
        trace.add("volatility: σ \(String(format: "%.6f", sigma))/s → spreads bid \(Steps.pct(bid)), ask \(Steps.pct(ask)) (cap \(Steps.pct(c.volatilityMaxSpread)))")
        return (bid, ask)
    }
}

/// A statistic as a plain decimal string (12 places), for turning a Double back into a `Dec`.
enum Decimal64Text {
    static func format(_ x: Double) -> String {
        guard x.isFinite, x >= 0 else { return "0" }
        return String(format: "%.12f", min(x, 1))
    }
}
