import MMCore
import Testing
@testable import MMStrategy

/// Timers driven by an injected clock: `now` is just a number the test moves forward.
@Suite struct TimerTests {
    let t0: Int64 = 10_000_000

    @Test func refreshReplacesOnlyWhenPricesMove() {
        let c = config(["refresh.time": "30s", "refresh.tolerance": "0.2%", "spread.bid": "1%", "spread.ask": "1%", "order.amount": "1"])
        var s = StrategyState()
        let first = Strategy.decide(view(now: t0), state: &s, config: c)
        #expect(first.place)
        let live = placed(first, now: t0, batch: s.batch)
        #expect(s.createAt == t0 + 30_000 && s.cancelAt == t0 + 30_000)

        // Before the refresh time: nothing, even though the price moved a lot.
        let early = Strategy.decide(view(now: t0 + 29_999, book: book(bid: "104.99", ask: "105.01"), orders: live), state: &s, config: c)
        #expect(early.cancels.isEmpty && !early.place)

        // At the refresh time, a move of 0.1% is within tolerance: kept.
        let calm = Strategy.decide(view(now: t0 + 30_000, book: book(bid: "100.09", ask: "100.11"), orders: live), state: &s, config: c, explain: true)
        #expect(calm.cancels.isEmpty && !calm.place)
        #expect(calm.trace.contains("refresh: live orders kept (within tolerance 0.2%); next refresh in 30s"))
        // Kept, the timers run again (Hummingbot's set_timers): the ladder is compared a refresh later.
        #expect(s.createAt == t0 + 60_000 && s.cancelAt == t0 + 60_000)

        // A move of 0.3% before then changes nothing.
        let soon = Strategy.decide(view(now: t0 + 31_000, book: book(bid: "100.29", ask: "100.31"), orders: live), state: &s, config: c)
        #expect(soon.cancels.isEmpty && !soon.place && soon.buys.isEmpty)

        // At the next refresh it is out of tolerance: every ladder order is cancelled; the new
        // ladder follows once they are gone.
        let moved = Strategy.decide(view(now: t0 + 60_000, book: book(bid: "100.29", ask: "100.31"), orders: live), state: &s, config: c)
        #expect(Set(moved.cancels.map(\.clientId)) == Set(live.map(\.clientId)))
        #expect(moved.cancels.allSatisfy { $0.reason == "refresh: prices moved" } && !moved.place)
        let cancelling = live.map { var o = $0; o.cancelling = true; return o }
        #expect(!Strategy.decide(view(now: t0 + 60_100, orders: cancelling), state: &s, config: c).place)
        let again = Strategy.decide(view(now: t0 + 60_200, book: book(bid: "100.29", ask: "100.31")), state: &s, config: c)
        #expect(again.place && again.buys.first?.price == Dec("99.29"))
    }

    @Test func toleranceOffAlwaysReplaces() {
        let c = config(["refresh.tolerance": "off", "refresh.time": "10s"])
        var s = StrategyState()
        let first = Strategy.decide(view(now: t0), state: &s, config: c)
        let same = Strategy.decide(view(now: t0 + 10_000, orders: placed(first, now: t0, batch: 1)), state: &s, config: c)
        #expect(same.cancels.count == 2)
    }

    @Test func maxAgeReplacesEvenWithinTolerance() {
        let c = config(["refresh.time": "10s", "refresh.max_age": "60s", "refresh.tolerance": "1%"])
        var s = StrategyState()
        let first = Strategy.decide(view(now: t0), state: &s, config: c)
        let live = placed(first, now: t0, batch: 1)
        #expect(Strategy.decide(view(now: t0 + 60_000, orders: live), state: &s, config: c).cancels.isEmpty)
        let old = Strategy.decide(view(now: t0 + 60_001, orders: live), state: &s, config: c)
        #expect(old.cancels.count == 2 && old.cancels[0].reason == "older than refresh.max_age 1m")
    }

    @Test func fillDelayPausesNewOrders() {
        let c = config(["refresh.time": "10s", "refresh.fill_delay": "60s", "levels.count": "2"])
        var s = StrategyState()
        let first = Strategy.decide(view(now: t0), state: &s, config: c)
        let live = placed(first, now: t0, batch: 1)
        let filled = live.first { $0.side == .buy && $0.level == 0 }!
        s.apply(OwnFill(clientId: filled.clientId, side: .buy, price: filled.price, amount: filled.amount, time: t0 + 5_000, complete: true),
                orders: live, config: c)
        #expect(s.createAt == t0 + 65_000 && s.cancelAt == t0 + 10_000)
        let rest = live.filter { $0.clientId != filled.clientId }
        // At the next cancel time the remaining orders go, and nothing is placed during the delay.
        let d = Strategy.decide(view(now: t0 + 10_000, orders: rest), state: &s, config: c, explain: true)
        #expect(d.cancels.count == 3 && d.cancels[0].reason == "refresh (pausing after a fill)" && !d.place)
        #expect(d.trace.contains("timer: next ladder in 55s"))
        #expect(!Strategy.decide(view(now: t0 + 64_999), state: &s, config: c).place)
        #expect(Strategy.decide(view(now: t0 + 65_000), state: &s, config: c).place)
    }

    @Test func spreadMinCancelsOrdersTooCloseToThePrice() {
        let c = config(["spread.min": "0.5%", "spread.bid": "1%", "spread.ask": "1%", "refresh.time": "1h"])
        var s = StrategyState()
        let live = placed(Strategy.decide(view(now: t0), state: &s, config: c), now: t0, batch: 1)
        // The price falls to 99.40: our bid at 99 is now only 0.4% below it.
        let d = Strategy.decide(view(now: t0 + 1000, book: book(bid: "99.39", ask: "99.41"), orders: live), state: &s, config: c)
        #expect(d.cancels.count == 1 && d.cancels[0].clientId.hasPrefix("buy"))
        #expect(d.cancels[0].reason.hasPrefix("spread 0.4"))
    }

    @Test func hangingOrdersSurviveRefreshAndAreCancelledOrRenewed() {
        let c = config(["hanging.enabled": "on", "hanging.cancel": "2%", "refresh.time": "10s", "refresh.max_age": "5m",
                        "refresh.fill_delay": "0s", "refresh.tolerance": "off", "spread.bid": "1%", "spread.ask": "1%"])
        var s = StrategyState()
        let live = placed(Strategy.decide(view(now: t0), state: &s, config: c), now: t0, batch: 1)
        let buy = live.first { $0.side == .buy }!, sell = live.first { $0.side == .sell }!
        s.apply(OwnFill(clientId: buy.clientId, side: .buy, price: buy.price, amount: buy.amount, time: t0 + 1000, complete: true),
                orders: live, config: c)
        #expect(s.hanging == [sell.clientId])
        // The hanging sell is not part of the ladder: a new ladder is placed beside it.
        let d = Strategy.decide(view(now: t0 + 2000, orders: [sell]), state: &s, config: c)
        #expect(d.cancels.isEmpty && d.place)
        // The price moves 3% away from it: cancelled.
        let far = Strategy.decide(view(now: t0 + 3000, book: book(bid: "96.99", ask: "97.01"), orders: [sell]), state: &s, config: c)
        #expect(far.cancels.map(\.clientId) == [sell.clientId])
        // Older than max age: renewed, and the hanging mark follows it to its new id.
        let old = Strategy.decide(view(now: t0 + 300_001, orders: [sell]), state: &s, config: c)
        #expect(old.renewals.map(\.clientId) == [sell.clientId])
        s.renewed(sell.clientId, as: "renewed-1")
        #expect(s.hanging == ["renewed-1"])
    }

    @Test(arguments: [("59.99", true), ("60", true), ("60.01", false)])
    func stopLossAtTheThreshold(midText: String, fires: Bool) {
        // Start: 10 base at 100 + 1000 quote = 2000. A 10% stop fires at a value of 1800 or below.
        let c = config(["stop_loss.pct": "10%", "stop_loss.action": "liquidate"])
        var s = StrategyState()
        _ = Strategy.decide(view(now: t0, book: book(bid: "99.99", ask: "100.01"), base: 10, quote: 1000), state: &s, config: c)
        #expect(s.startValue == 2000)
        // Sold 5 base at 100: balances 5 / 1500, so value = 5 × mid + 1500; the threshold is a mid of 60.
        let mid = Dec(midText)!
        let d = Strategy.decide(view(now: t0 + 1000, book: book(bid: mid - Dec("0.01"), ask: mid + Dec("0.01")), base: 5, quote: 1500),
                                state: &s, config: c, explain: true)
        #expect(d.stop == fires)
        if fires {
            #expect(d.events.count == 1)
            // Back to 10 base: buy 5 at 1% above the best ask.
            let liq = d.liquidation!
            #expect(liq.side == .buy && liq.amount == 5 && liq.price == ((mid + Dec("0.01")) * Dec("1.01")).floored(toMultipleOf: "0.01"))
            #expect(Strategy.decide(view(now: t0 + 2000), state: &s, config: c).place == false)
        } else {
            #expect(d.liquidation == nil && d.events.isEmpty)
            #expect(!s.stopped)
        }
    }

    @Test func stopLossWithoutLiquidationOnlyCancels() {
        let c = config(["stop_loss.pct": "5%"])
        var s = StrategyState()
        let live = placed(Strategy.decide(view(now: t0, base: 10, quote: 1000), state: &s, config: c), now: t0, batch: 1)
        let d = Strategy.decide(view(now: t0 + 1, book: book(bid: "89.99", ask: "90.01"), base: 10, quote: 1000, orders: live), state: &s, config: c)
        #expect(d.stop && d.liquidation == nil && d.cancels.count == live.count)
        #expect(d.cancels.allSatisfy { $0.reason == "stop loss" })
    }
}
