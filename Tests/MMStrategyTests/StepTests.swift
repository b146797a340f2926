import Foundation
import MMCore
import Testing
@testable import MMStrategy

@Suite struct StepTests {
    func decide(_ v: MarketView, _ c: StrategyConfig, state: StrategyState = StrategyState()) -> (Decision, StrategyState) {
        var s = state
        let d = Strategy.decide(v, state: &s, config: c, explain: true)
        return (d, s)
    }

    @Test(arguments: [("mid", "100"), ("best_bid", "99.99"), ("best_ask", "100.01"), ("last", "100.5"), ("last_own_trade", "100")])
    func priceSources(source: String, expected: String) {
        let (d, _) = decide(view(lastTrade: "100.5"), config(["price.source": source]))
        #expect(d.referencePrice == Dec(expected)!)
    }

    @Test func lastOwnTradeAndInventoryCostFollowFills() {
        let c = config(["price.source": "last_own_trade"])
        var s = StrategyState()
        s.apply(OwnFill(clientId: "x", side: .buy, price: "99.5", amount: 1, time: 0, complete: false), orders: [], config: c)
        #expect(decide(view(), c, state: s).0.referencePrice == Dec("99.5"))

        // Cost basis: 100 base at 90 to start; buy 100 more at 110 → 100 average; sells keep the average.
        let ic = config(["price.source": "inventory_cost", "price.inventory_cost": "90", "spread.bid": "1%", "spread.ask": "1%"])
        var st = StrategyState()
        let (first, after) = decide(view(base: 100), ic, state: st)
        // Buys are priced from the market (the mid 100), as the reference; sells from max(cost 90, mid).
        #expect(first.referencePrice == 100)
        #expect(ladder(first.buys) == ["99×0.001"])
        #expect(ladder(first.sells) == ["101×0.001"])
        // A cost above the market: the bid stays at the market instead of crossing; sells keep the cost.
        let dear = config(["price.source": "inventory_cost", "price.inventory_cost": "110", "spread.bid": "1%", "spread.ask": "1%"])
        let (high, _) = decide(view(base: 100), dear)
        #expect(ladder(high.buys) == ["99×0.001"] && ladder(high.sells) == ["111.1×0.001"])
        st = after
        st.apply(OwnFill(clientId: "b", side: .buy, price: 110, amount: 100, time: 0, complete: true), orders: [], config: ic)
        st.apply(OwnFill(clientId: "s", side: .sell, price: 120, amount: 50, time: 0, complete: true), orders: [], config: ic)
        #expect(st.costBase == 150)
        #expect(st.costQuote.divided(by: 150, scale: 8) == 100)
    }

    @Test func staticBand() {
        let (above, _) = decide(view(), config(["band.ceiling": "100"]))
        #expect(above.buys.isEmpty && !above.sells.isEmpty)
        #expect(above.trace.contains("band: buys removed (price 100 at or above the band ceiling 100)"))
        #expect(above.dropped.map(\.reason) == ["price 100 at or above the band ceiling 100"])
        let (below, _) = decide(view(), config(["band.floor": "100.5"]))
        #expect(below.sells.isEmpty && !below.buys.isEmpty)
    }

    @Test func movingBandResetsEveryRefresh() {
        let c = config(["band.moving": "on", "band.moving_ceiling": "1%", "band.moving_floor": "1%", "band.refresh": "1h"])
        let (_, s) = decide(view(now: 0), c)
        #expect(s.band?.ceiling == 101 && s.band?.floor == 99)
        // The price rises 2%: above the ceiling, so no buys, until the band resets an hour on.
        let up = book(bid: "101.99", ask: "102.01")
        let (later, s2) = decide(view(now: 60_000, book: up), c, state: s)
        #expect(later.buys.isEmpty)
        let (reset, s3) = decide(view(now: 3_600_000, book: up), c, state: s2)
        #expect(!reset.buys.isEmpty)
        #expect(s3.band?.ceiling == Dec("103.02"))
    }

    @Test func pingPongDropsInnerLevelsOfTheFilledSide() {
        let c = config(["ping_pong": "on", "levels.count": "3", "spread.bid": "1%", "spread.ask": "1%", "levels.spread": "1%"])
        var s = StrategyState()
        s.apply(OwnFill(clientId: "b0", side: .buy, price: 99, amount: 1, time: 0, complete: true), orders: [], config: c)
        let (d, _) = decide(view(now: 1_000_000), c, state: s)
        #expect(ladder(d.buys).count == 2 && d.buys.first?.level == 1)
        #expect(d.sells.count == 3)
        // An opposite fill evens the sides: back to full ladders.
        s.apply(OwnFill(clientId: "s0", side: .sell, price: 101, amount: 1, time: 0, complete: true), orders: [], config: c)
        #expect(s.filledBuys == 0 && s.filledSells == 0)
    }

    @Test func optimizationTakesOwnVolumeOutOfTheDepth() {
        // Our own 2 at 99.50 sits at the top: with it removed, the top is the 99.40 level.
        let b = OrderBook(bids: [BookLevel("99.50", 2), BookLevel("99.40", 5)], asks: [BookLevel("100.50", 5)])
        let own = [LiveOrder(clientId: "b", side: .buy, price: "99.50", amount: 2, placedAt: 999_000, batch: 1)]
        var s = StrategyState()
        s.createAt = 0
        s.cancelAt = 2_000_000
        let c = config(["optimize.enabled": "on", "spread.bid": "0.1%", "spread.ask": "0.1%", "order.amount": "1"])
        let (d, _) = decide(view(book: b, orders: own), c, state: s)
        #expect(ladder(d.buys) == ["99.41×1"])
        // Dust allowance: ignore the first 6 of bid volume.
        let (dust, _) = decide(view(book: b), config(["optimize.enabled": "on", "spread.bid": "0.1%", "optimize.bid_depth": "6"]))
        #expect(dust.buys.first?.price == Dec("99.41"))
        // The depth is reached inclusively: 2 + 5 = 7 at 99.40 is enough for a depth of 7.
        let deep = OrderBook(bids: [BookLevel("99.50", 2), BookLevel("99.40", 5), BookLevel("99.30", 5)], asks: [BookLevel("100.50", 5)])
        let (exact, _) = decide(view(book: deep), config(["optimize.enabled": "on", "spread.bid": "0.1%", "optimize.bid_depth": "7"]))
        #expect(exact.buys.first?.price == Dec("99.41"))
    }

    @Test func sizeLimitsAndMinimums() {
        let r = MarketRules(tick: "0.01", step: "0.001", minQuantity: "0.5", minNotional: 60)
        let c = config(["levels.count": "3", "order.amount": "0.4", "levels.amount": "0.3", "order.max": "0.8"])
        let (d, _) = decide(view(rules: r), c)
        // Level 0 is below the market minimum (0.4 < 0.5); level 1 is 0.7 → worth ≥ 60; level 2 is capped at 0.8.
        #expect(d.buys.map(\.amount) == [Dec("0.7"), Dec("0.8")])
        #expect(d.dropped.count == 2)
        #expect(d.dropped[0].reason == "size 0.4 below the minimum 0.5 (market)")
        let c2 = config(["order.amount": "0.5", "order.min": "0.6", "order.max": "off"])
        let (d2, _) = decide(view(rules: r), c2)
        #expect(d2.buys.isEmpty && d2.dropped.first?.reason == "size 0.5 below the minimum 0.6 (order.min)")
        let tiny = MarketRules(tick: "0.01", step: "0.001", minNotional: 1000)
        let (d3, _) = decide(view(rules: tiny), config(["order.amount": "1"]))
        #expect(d3.dropped.first?.reason == "value 99.9 below the market's minimum 1000")
    }

    @Test func positionMaxTrimsBuys() {
        let c = config(["position.max": "101.5", "levels.count": "3", "order.amount": "1"])
        let (d, _) = decide(view(base: 100), c)
        #expect(d.buys.map(\.amount) == [Dec(1), Dec("0.5")])
        #expect(d.sells.count == 3)
    }

    @Test func budgetCountsWhatOwnOrdersLock() {
        // Quote 50 available + 99 locked in our own live buy: enough for one 1-unit bid at ~99.9.
        let own = [LiveOrder(clientId: "b", side: .buy, price: 99, amount: 1, placedAt: 0, batch: 1)]
        var v = view(base: 0, quote: 50, orders: own)
        v.balances.quote = AssetBalance(total: 149, available: 50)
        let (d, _) = decide(v, config(["order.amount": "1"]))
        #expect(d.buys.map(\.amount) == [Dec(1)])
        #expect(d.sells.isEmpty)
    }

    @Test func neverCrossesTheBook() {
        let narrow = book(bid: "99.99", ask: "100.00")
        let (d, _) = decide(view(book: narrow), config(["spread.bid": "0", "spread.ask": "0"]))
        #expect(d.buys.allSatisfy { $0.price < 100 })
        #expect(d.sells.allSatisfy { $0.price > Dec("99.99") })
    }

    @Test func volatilityWidensAfterTheWindowFills() {
        let c = config(["volatility.enabled": "on", "volatility.window": "10s", "volatility.multiplier": "1",
                        "refresh.time": "100s", "spread.bid": "0.1%", "spread.ask": "0.1%", "volatility.max_spread": "0.5%"])
        var s = StrategyState()
        var d = Decision()
        // Mid alternates 100 and 101 every second: σ of log returns ≈ 0.0104, × √100 = 10% → capped at 0.5%.
        for i in 0...11 {
            let m: Dec = i % 2 == 0 ? 100 : 101
            s.createAt = 0
            d = Strategy.decide(view(now: Int64(i) * 1000, book: book(bid: m - Dec("0.01"), ask: m + Dec("0.01"))), state: &s, config: c, explain: true)
            if i < 10 { #expect(d.trace.contains { $0.hasPrefix("volatility: window of 10s not filled yet") }) }
        }
        #expect(d.trace.contains { $0.hasPrefix("volatility: σ") && $0.contains("bid 0.5%") })
        #expect(Volatility.sigma([(0, 100), (1, 100), (2, 100)]) == 0)
    }

    @Test func hoursWindowsAcrossMidnightAndZones() throws {
        let w = try HoursWindow.parseList("22:00-02:00").get()
        let utc = TimeZone(identifier: "UTC")!
        // 2026-11-27 is a Friday.
        let fri2300 = Int64(Date(timeIntervalSince1970: 1_795_820_400).timeIntervalSince1970 * 1000)  // Fri 23:00 UTC
        let sat0100 = fri2300 + 2 * 3_600_000
        let sat0300 = fri2300 + 4 * 3_600_000
        let weekdays = WeekdaySet.parse("mon-fri")!
        #expect(Hours.inside(now: fri2300, windows: w, days: weekdays, timeZone: utc))
        // Saturday 01:00 belongs to Friday's window.
        #expect(Hours.inside(now: sat0100, windows: w, days: weekdays, timeZone: utc))
        #expect(!Hours.inside(now: sat0300, windows: w, days: weekdays, timeZone: utc))
        // Friday 23:00 UTC is Saturday 00:00 in Berlin: Saturday's own window is not a weekday's.
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        #expect(Hours.inside(now: fri2300, windows: w, days: weekdays, timeZone: berlin))
        #expect(!Hours.inside(now: fri2300 + 24 * 3_600_000, windows: w, days: weekdays, timeZone: berlin))
        let nineToFive = try HoursWindow.parseList("09:00-17:00").get()
        let ny = TimeZone(identifier: "America/New_York")!
        let fri1500utc = fri2300 - 8 * 3_600_000  // 10:00 in New York
        #expect(Hours.inside(now: fri1500utc, windows: nineToFive, days: .all, timeZone: ny))
        #expect(!Hours.inside(now: fri2300, windows: nineToFive, days: .all, timeZone: ny))
    }

    @Test func leavingAndEnteringTradingHoursAreDecisions() {
        let c = config(["hours.window": "09:00-17:00"])
        let nine: Int64 = 1_795_770_000_000  // 2026-11-27 09:00 UTC
        let live = [LiveOrder(clientId: "b", side: .buy, price: 99, amount: 1, placedAt: nine, batch: 1)]
        var s = StrategyState()
        let open = Strategy.decide(view(now: nine), state: &s, config: c)
        #expect(open.place && open.events.isEmpty && !open.waiting)
        let closed = Strategy.decide(view(now: nine + 8 * 3_600_000, orders: live), state: &s, config: c)
        #expect(closed.waiting && closed.events == [.leftTradingHours])
        #expect(closed.cancels.map(\.reason) == ["outside trading hours"])
        let next = Strategy.decide(view(now: nine + 24 * 3_600_000), state: &s, config: c)
        #expect(next.events == [.enteredTradingHours] && next.place)
    }
}

@Suite struct LevelAmountTests {
    /// A negative `levels.amount` shrinks outer levels; a level whose size reaches zero is not quoted.
    @Test func negativeLevelAmount() {
        let c = config(["levels.count": "4", "order.amount": "0.3", "levels.amount": "-0.1", "spread.bid": "1%",
                        "spread.ask": "1%", "levels.spread": "1%"])
        var s = StrategyState()
        let d = Strategy.decide(view(), state: &s, config: c)
        #expect(ladder(d.buys) == ["99×0.3", "98×0.2", "97×0.1"])
        #expect(ladder(d.sells) == ["101×0.3", "102×0.2", "103×0.1"])
    }
}
