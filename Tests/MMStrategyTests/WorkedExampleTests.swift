import MMCore
import Testing
@testable import MMStrategy

/// The worked examples of the pure-market-making reference, exactly.
@Suite struct WorkedExampleTests {
    @Test func example1Levels() {
        let c = config(["spread.bid": "1%", "spread.ask": "1%", "order.amount": "1", "levels.count": "3",
                        "levels.spread": "1%", "levels.amount": "1"])
        var state = StrategyState()
        let d = Strategy.decide(view(), state: &state, config: c)
        #expect(d.referencePrice == 100)
        #expect(ladder(d.buys) == ["99×1", "98×2", "97×3"])
        #expect(ladder(d.sells) == ["101×1", "102×2", "103×3"])
        #expect(d.place)
    }

    @Test func example2Skew() {
        #expect(Steps.skewRatios(base: 11, quote: 900, price: 100, target: "0.5", range: 2) == (Dec("0.5"), Dec("1.5")))
        #expect(Steps.skewRatios(base: 10, quote: 1000, price: 100, target: "0.5", range: 2) == (Dec(1), Dec(1)))
        #expect(Steps.skewRatios(base: 12, quote: 800, price: 100, target: "0.5", range: 2) == (Dec(0), Dec(2)))

        let c = config(["order.amount": "1", "inventory.skew": "on", "spread.bid": "1%", "spread.ask": "1%"])
        var state = StrategyState()
        let d = Strategy.decide(view(base: 11, quote: 900), state: &state, config: c)
        #expect(ladder(d.buys) == ["99×0.5"])
        #expect(ladder(d.sells) == ["101×1.5"])
        var state2 = StrategyState()
        let d2 = Strategy.decide(view(base: 12, quote: 800), state: &state2, config: c)
        #expect(d2.buys.isEmpty)
        #expect(ladder(d2.sells) == ["101×2"])
    }

    @Test func example3OrderOptimization() {
        let wide = book(bid: "99.50", ask: "100.50")
        let c = config(["spread.bid": "0.1%", "spread.ask": "0.1%", "order.amount": "1", "optimize.enabled": "on"])
        var state = StrategyState()
        let d = Strategy.decide(view(book: wide), state: &state, config: c, explain: true)
        #expect(d.referencePrice == 100)
        #expect(ladder(d.buys) == ["99.51×1"])
        #expect(ladder(d.sells) == ["100.49×1"])
        #expect(d.trace.contains("optimize: bid 99.9 → 99.51 (one tick above 99.5); deeper bids spaced from it"))

        let c1 = config(["spread.bid": "1%", "spread.ask": "1%", "order.amount": "1", "optimize.enabled": "on"])
        var state1 = StrategyState()
        let d1 = Strategy.decide(view(book: wide), state: &state1, config: c1)
        #expect(ladder(d1.buys) == ["99×1"])
        #expect(ladder(d1.sells) == ["101×1"])
    }

    @Test func example4TransactionCosts() {
        let p = Proposal(buys: [ProposedOrder(side: .buy, level: 0, price: 99, amount: 1)],
                         sells: [ProposedOrder(side: .sell, level: 0, price: 101, amount: 1)])
        var trace = Trace(enabled: false)
        let out = Steps.transactionCosts(p, fee: "0.001", rules: rules, trace: &trace)
        #expect(out.buys[0].price == Dec("98.90"))
        #expect(out.sells[0].price == Dec("101.10"))
    }

    @Test func example5Tolerance() {
        let live = [LiveOrder(clientId: "b", side: .buy, price: 99, amount: 1, placedAt: 0)]
        func proposal(_ bid: Dec) -> Proposal {
            Proposal(buys: [ProposedOrder(side: .buy, level: 0, price: bid, amount: 1)], sells: [])
        }
        #expect(Steps.withinTolerance(proposal("99.15"), live: live, tolerance: "0.002"))
        #expect(!Steps.withinTolerance(proposal("99.25"), live: live, tolerance: "0.002"))
        #expect(!Steps.withinTolerance(proposal("99.15"), live: live, tolerance: nil))
        #expect(Steps.withinTolerance(proposal(99), live: live, tolerance: 0))
    }

    /// The budget line quoted in the issue: with a 0.1% fee, bid 3 at 97.00 gets what is left.
    @Test func budgetFundsInnermostFirst() {
        let p = Proposal(buys: [ProposedOrder(side: .buy, level: 0, price: 99, amount: 1),
                                ProposedOrder(side: .buy, level: 1, price: 98, amount: 2),
                                ProposedOrder(side: .buy, level: 2, price: 97, amount: 3)], sells: [])
        var trace = Trace(enabled: true)
        var dropped: [DroppedOrder] = []
        let out = Steps.budget(p, base: 0, quote: 400, fee: "0.001", rules: rules, dropped: &dropped, trace: &trace)
        #expect(ladder(out.buys) == ["99×1", "98×2", "97×1.078"])
        #expect(trace.lines == ["budget: bid 2 3 at 97 → 1.078 (quote left 104.705)"])
        let none = Steps.budget(p, base: 0, quote: 50, fee: "0.001", rules: rules, dropped: &dropped, trace: &trace)
        #expect(ladder(none.buys) == ["99×0.504"])
        #expect(dropped.map(\.order.level) == [1, 2] && dropped.allSatisfy { $0.reason == "budget: no quote left for it (a shallower bid took the rest)" })
    }
}
