import MMCore
import Testing
@testable import MMStrategy

/// A random but valid market, balance and settings, from a seed.
struct Scenario {
    var view: MarketView
    var config: StrategyConfig

    init(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(g.next() % UInt64(xs.count))] }
        func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(g.next() % UInt64(r.count)) }
        let tick: Dec = pick(["0.01", "0.1", "0.0001", "1"])
        let step: Dec = pick(["0.001", "0.01", "1", "0.000001"])
        let mid = Dec(int(1...2_000_000)) * tick * Dec(int(1...50))
        let spreadTicks = int(1...40)
        var bids: [BookLevel] = [], asks: [BookLevel] = []
        let bestBid = mid, bestAsk = mid + tick * Dec(spreadTicks)
        for i in 0..<int(1...60) {
            let p = bestBid - tick * Dec(i * int(1...3))
            if p.isPositive, p < (bids.last?.price ?? bestAsk) { bids.append(BookLevel(p, step * Dec(int(1...5000)))) }
            asks.append(BookLevel(bestAsk + tick * Dec(i * 2), step * Dec(int(1...5000))))
        }
        let rules = MarketRules(tick: tick, step: step, minQuantity: pick([0, step, step * 10]),
                                minNotional: pick([0, 1, 5]), makerFee: pick([0, "0.001", "0.002"]))
        let base = step * Dec(int(0...100_000)), quote = Dec(int(0...1_000_000))
        var settings = Settings()
        func set(_ k: String, _ v: String) { settings.set(k, try! Catalog.lookup(k).parse(v)) }
        set("order.amount", (step * Dec(int(1...5000))).description)
        set("levels.count", "\(int(1...8))")
        set("levels.spread", pick(["0", "0.05%", "0.5%", "2%"]))
        set("levels.amount", pick(["0", (step * 3).description, (-step).description]))
        set("spread.bid", pick(["0", "0.01%", "0.1%", "1%", "5%"]))
        set("spread.ask", pick(["0", "0.01%", "0.1%", "1%", "5%"]))
        set("optimize.enabled", pick(["on", "off"]))
        set("optimize.bid_depth", (step * Dec(int(0...100))).description)
        set("costs.enabled", pick(["on", "off"]))
        set("inventory.skew", pick(["on", "off"]))
        set("inventory.target", pick(["10%", "50%", "90%"]))
        set("order.max", pick(["off", (step * 2000).description]))
        set("position.max", pick(["off", (step * Dec(int(0...200_000))).description]))
        set("price.source", pick(["mid", "best_bid", "best_ask", "last"]))
        view = MarketView(now: 1_000_000, book: OrderBook(bids: bids, asks: asks), lastTrade: mid,
                          balances: Balances(base: AssetBalance(total: base, available: base),
                                             quote: AssetBalance(total: quote, available: quote)), rules: rules)
        config = StrategyConfig(settings)
    }
}

@Suite struct PropertyTests {
    static let seeds: [UInt64] = Array(1...400)

    @Test(arguments: seeds)
    func everyDecisionIsSafe(seed: UInt64) {
        let sc = Scenario(seed: seed)
        var s1 = StrategyState(), s2 = StrategyState()
        let d = Strategy.decide(sc.view, state: &s1, config: sc.config)
        let rules = sc.view.rules
        let bestBid = sc.view.book.bestBid!, bestAsk = sc.view.book.bestAsk!
        // Never crosses the book.
        #expect(d.buys.allSatisfy { $0.price < bestAsk }, "seed \(seed)")
        #expect(d.sells.allSatisfy { $0.price > bestBid }, "seed \(seed)")
        // Within the budget, fees included.
        let quoteNeeded = d.buys.reduce(Dec(0)) { $0 + $1.amount * $1.price * (1 + rules.makerFee) }
        let baseNeeded = d.sells.reduce(Dec(0)) { $0 + $1.amount }
        #expect(quoteNeeded <= sc.view.balances.quote.available, "seed \(seed)")
        #expect(baseNeeded <= sc.view.balances.base.available, "seed \(seed)")
        // On the grid, positive, and above every minimum.
        for o in d.buys + d.sells {
            #expect(o.price.isMultiple(of: rules.tick) && o.price.isPositive, "seed \(seed): price \(o.price)")
            #expect(o.amount.isMultiple(of: rules.step) && o.amount.isPositive, "seed \(seed): amount \(o.amount)")
            #expect(o.amount >= rules.minQuantity && o.amount * o.price >= rules.minNotional, "seed \(seed)")
            if let max = sc.config.orderMax { #expect(o.amount <= max, "seed \(seed)") }
        }
        if let max = sc.config.positionMax {
            let buys = d.buys.reduce(Dec(0)) { $0 + $1.amount }
            #expect(buys.isZero || sc.view.balances.base.total + buys <= max, "seed \(seed)")
        }
        // Deterministic: the same inputs give the same decision.
        let again = Strategy.decide(sc.view, state: &s2, config: sc.config)
        #expect(again.buys == d.buys && again.sells == d.sells && again.place == d.place && s1 == s2, "seed \(seed)")
    }

    @Test func theTraceDoesNotChangeTheDecision() {
        for seed in UInt64(1)...50 {
            let sc = Scenario(seed: seed)
            var a = StrategyState(), b = StrategyState()
            let quiet = Strategy.decide(sc.view, state: &a, config: sc.config, explain: false)
            let told = Strategy.decide(sc.view, state: &b, config: sc.config, explain: true)
            #expect(quiet.buys == told.buys && quiet.sells == told.sells && quiet.trace.isEmpty && !told.trace.isEmpty)
        }
    }
}
