import MMCore
import Testing
@testable import MMStrategy

/// Where pure market making once differed from the reference (Hummingbot's
/// pure_market_making.pyx) without meaning to; each case computed by hand.
@Suite struct ReferenceExactnessTests {
    func decide(_ v: MarketView, _ c: StrategyConfig, state: StrategyState = StrategyState()) -> Decision {
        var s = state
        return Strategy.decide(v, state: &s, config: c, explain: true)
    }

    @Test func theStaticBandStillAppliesWithTheMovingBandOn() {
        // Moving band 99–101 around the mid 100 lets everything through; the static ceiling 100 does not.
        let d = decide(view(), config(["band.moving": "on", "band.moving_ceiling": "1%", "band.moving_floor": "1%", "band.ceiling": "100"]))
        #expect(d.buys.isEmpty && !d.sells.isEmpty)
        #expect(d.dropped.map(\.reason) == ["price 100 at or above the band ceiling 100"])
        // And the moving band on its own still acts: the price rose 2% within its refresh.
        let c = config(["band.moving": "on", "band.moving_ceiling": "1%", "band.moving_floor": "1%", "band.refresh": "1h", "band.floor": "50"])
        var s = StrategyState()
        _ = Strategy.decide(view(now: 0), state: &s, config: c)
        let later = Strategy.decide(view(now: 60_000, book: book(bid: "101.99", ask: "102.01")), state: &s, config: c, explain: true)
        #expect(later.buys.isEmpty)
        #expect(later.dropped.first?.reason == "price 102 at or above the moving band ceiling 101")
    }

    @Test func bandsAndSkewAreEvaluatedAtThePriceSource() {
        // Best ask 100.01 reaches the ceiling 100.005; the mid (100) would not.
        let d = decide(view(), config(["price.source": "best_ask", "band.ceiling": "100.005"]))
        #expect(d.buys.isEmpty && !d.sells.isEmpty)
        // Skew at the best bid 80: 10 base are worth 800 of 1,600, the 50% target, so sizes stay
        // 1 and 1; at the mid 100 they would be 55.6% and the bid halved.
        let wide = book(bid: 80, ask: 120)
        let s = decide(view(book: wide, base: 10, quote: 800),
                       config(["price.source": "best_bid", "inventory.skew": "on", "order.amount": "1"]))
        #expect(ladder(s.buys) == ["79.92×1"] && ladder(s.sells) == ["80.08×1"])
    }

    @Test func optimizationSpacesEveryDeeperLevelFromLevelZeroEvenWhenItStays() {
        // Level 0 at 99 and 101 is already outside one tick of the touch (99.51 / 100.49): it stays;
        // the deeper levels are spaced from it: 99 × (1 − 1%·i) and 101 × (1 + 1%·i).
        let c = config(["optimize.enabled": "on", "levels.count": "3", "spread.bid": "1%", "spread.ask": "1%", "levels.spread": "1%"])
        let d = decide(view(book: book(bid: "99.50", ask: "100.50")), c)
        #expect(d.buys.map(\.price) == [99, Dec("98.01"), Dec("97.02")])
        #expect(d.sells.map(\.price) == [101, Dec("102.01"), Dec("103.02")])
    }

    @Test func aBudgetCutLeavesNothingForDeeperOrders() {
        // Step 1, fee 0.1%: bid 0 (99.099) is funded; bid 1 (3 at 98) is cut to 2 with 293.696 left;
        // bid 2 (1 at 97, 97.097) would fit in the 97.5 left over, but a cut ends the side.
        let r = MarketRules(tick: "0.01", step: "1")
        let p = Proposal(buys: [ProposedOrder(side: .buy, level: 0, price: 99, amount: 1),
                                ProposedOrder(side: .buy, level: 1, price: 98, amount: 3),
                                ProposedOrder(side: .buy, level: 2, price: 97, amount: 1)],
                         sells: [ProposedOrder(side: .sell, level: 0, price: 101, amount: 2),
                                 ProposedOrder(side: .sell, level: 1, price: 102, amount: 2),
                                 ProposedOrder(side: .sell, level: 2, price: 103, amount: 1)])
        var trace = Trace(enabled: false)
        var dropped: [DroppedOrder] = []
        let out = Steps.budget(p, base: 3, quote: "392.795", fee: "0.001", rules: r, dropped: &dropped, trace: &trace)
        #expect(ladder(out.buys) == ["99×1", "98×2"])
        // Base 3: ask 0 takes 2, ask 1 is cut to 1, ask 2 gets nothing although 1 would be "left" before the cut.
        #expect(ladder(out.sells) == ["101×2", "102×1"])
        #expect(dropped.map { "\($0.order.side.rawValue) \($0.order.level): \($0.reason)" } == [
            "buy 2: budget: no quote left for it (a shallower bid took the rest)",
            "sell 2: budget: no base left for it (a shallower ask took the rest)",
        ])
    }

    @Test func hangingOrdersAreCappedInCountAndShareWithAWarning() {
        let hanging = [live("h1", .sell, 101, 1), live("h2", .sell, 102, 1), live("h3", .sell, 103, 1)]
        var s = StrategyState()
        s.hanging = ["h1", "h2", "h3"]
        s.createAt = 10_000_000
        s.cancelAt = 10_000_000
        let byCount = decide(view(base: 10, orders: hanging), config(["hanging.enabled": "on", "hanging.max_count": "2", "hanging.max_share": "off"]), state: s)
        #expect(byCount.cancels.map(\.clientId) == ["h3"], "the farthest goes")
        #expect(byCount.cancels.first?.reason == "hanging.max_count 2 reached: the farthest hanging order goes")
        #expect(byCount.events == [.hangingCapped(count: 1, reason: "hanging.max_count 2 reached: the farthest hanging order goes")])
        // 15% of 10 base is 1.5: one hanging sell of 1 fits, a second would not.
        let byShare = decide(view(base: 10, orders: hanging), config(["hanging.enabled": "on", "hanging.max_count": "off", "hanging.max_share": "15%"]), state: s)
        #expect(byShare.cancels.map(\.clientId) == ["h2", "h3"])
        // Within both caps nothing is cancelled.
        let within = decide(view(base: 10, orders: hanging), config(["hanging.enabled": "on"]), state: s)
        #expect(within.cancels.isEmpty && within.events.isEmpty)
    }

    @Test func everyDroppedLevelHasItsReason() {
        // A level whose size is zero, and one whose size rounds to zero at the step 0.001.
        let zero = decide(view(), config(["levels.count": "2", "order.amount": "0.001", "levels.amount": "-0.001"]))
        #expect(zero.buys.count == 1 && zero.sells.count == 1)
        #expect(zero.dropped.map(\.reason) == Array(repeating: "size 0 is not positive (order.amount + level × levels.amount)", count: 2))
        let tiny = decide(view(), config(["order.amount": "0.0004"]))
        #expect(tiny.buys.isEmpty && tiny.sells.isEmpty)
        #expect(tiny.dropped.map(\.reason) == Array(repeating: "size 0.0004 rounds to 0 at the market's step 0.001", count: 2))
        // The inventory skew taking a side to zero says so too.
        let skewed = decide(view(base: 12, quote: 800), config(["inventory.skew": "on", "order.amount": "1"]))
        #expect(skewed.buys.isEmpty)
        #expect(skewed.dropped.map(\.reason) == ["inventory skew: size ×0 rounds to 0 at the step 0.001"])
    }

    func live(_ id: String, _ side: Side, _ price: Dec, _ amount: Dec) -> LiveOrder {
        LiveOrder(clientId: id, side: side, price: price, amount: amount, placedAt: 999_000, batch: 1)
    }
}
