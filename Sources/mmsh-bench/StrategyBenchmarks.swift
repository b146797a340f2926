import Foundation
import MMCore
import MMStrategy

/// One full decision, 5 levels a side, every modifier on, against a 1,000-level book.
func strategyBenchmarks() -> [Benchmark] {
    var s = Settings()
    let changes: [String: String] = [
        "levels.count": "5", "levels.spread": "0.05%", "levels.amount": "0.001", "order.amount": "0.01",
        "order.min": "0.001", "order.max": "0.05", "position.max": "5", "spread.bid": "0.1%", "spread.ask": "0.1%",
        "spread.min": "0.01%", "refresh.tolerance": "0.05%", "inventory.skew": "on", "band.moving": "on",
        "ping_pong": "on", "hanging.enabled": "on", "optimize.enabled": "on", "optimize.bid_depth": "0.5",
        "optimize.ask_depth": "0.5", "costs.enabled": "on", "volatility.enabled": "on", "volatility.window": "5m",
        "stop_loss.pct": "20%", "hours.window": "00:00-24:00", "hours.tz": "Europe/Berlin",
    ]
    for (k, v) in changes { s.set(k, try! Catalog.lookup(k).parse(v)) }
    let config = StrategyConfig(s)
    let rules = MarketRules(tick: "0.01", step: "0.000001", minQuantity: "0.000001", minNotional: 1, makerFee: "0.001")
    var bids: [BookLevel] = [], asks: [BookLevel] = []
    for i in 0..<1000 {
        bids.append(BookLevel(Dec("60000.00") - Dec(i) * Dec("0.5"), Dec("0.05") + Dec(i % 7) * Dec("0.01")))
        asks.append(BookLevel(Dec("60001.00") + Dec(i) * Dec("0.5"), Dec("0.05") + Dec(i % 5) * Dec("0.01")))
    }
    let book = OrderBook(bids: bids, asks: asks)
    let balances = Balances(base: AssetBalance(total: 1, available: "0.9"), quote: AssetBalance(total: 60000, available: 57000))
    // Warm state: a filled volatility window, a live ladder and one hanging order.
    var state = StrategyState()
    let start: Int64 = 1_795_770_000_000
    for i in 0..<400 {
        let mid = Dec("60000.5") + Dec(i % 9) * Dec("0.5") - Dec(2)
        let b = OrderBook(bids: [BookLevel(mid - Dec("0.5"), 1)], asks: [BookLevel(mid + Dec("0.5"), 1)])
        state.createAt = Int64.max
        _ = Strategy.decide(MarketView(now: start + Int64(i) * 1000, book: b, balances: balances, rules: rules), state: &state, config: config)
    }
    let now = start + 400_000
    state.createAt = 0
    let placed = Strategy.decide(MarketView(now: now, book: book, balances: balances, rules: rules), state: &state, config: config)
    var live: [LiveOrder] = []
    for o in placed.buys + placed.sells {
        live.append(LiveOrder(clientId: "mm1-\(o.side)-\(o.level)", side: o.side, price: o.price, amount: o.amount,
                              placedAt: now, batch: state.batch, level: o.level))
    }
    live.append(LiveOrder(clientId: "mm1-hanging", side: .sell, price: "60100", amount: "0.01", placedAt: now - 60_000, batch: 0))
    state.hanging = ["mm1-hanging"]
    state.createAt = 0
    state.cancelAt = 0
    let view = MarketView(now: now + 500, book: book, lastTrade: "60000.5", balances: balances, orders: live, rules: rules)
    let warm = state
    var sink = 0
    return [
        Benchmark(name: "strategy: one decision (5 levels, all modifiers, 1,000-level book)",
                  target: .latency(medianNs: 5_000, p99Ns: 20_000)) {
            var st = warm
            let d = Strategy.decide(view, state: &st, config: config)
            sink &+= d.buys.count &+ d.cancels.count
        },
    ]
}

/// Avellaneda–Stoikov: a decision a second with a public trade each, 5 levels a side, the
/// estimators full (200 mids, 200 trades) and updated at every decision, the intensity refitted
/// when its policy says (a tenth of the buffer new); and the fit alone, shared among the
/// decisions between two fits at that pace.
func avellanedaBenchmarks() -> [Benchmark] {
    var s = Settings()
    for (k, v) in ["strategy": "avellaneda", "levels.count": "5", "order.amount": "0.01", "as.amount_shape": "0.5",
                   "as.min_spread": "0.01%", "refresh.tolerance": "0.05%"] {
        s.set(k, try! Catalog.lookup(k).parse(v))
    }
    let config = StrategyConfig(s)
    let rules = MarketRules(tick: "0.01", step: "0.000001", minQuantity: "0.000001", minNotional: 1, makerFee: "0.001")
    let balances = Balances(base: AssetBalance(total: 1, available: 1), quote: AssetBalance(total: 60000, available: 60000))
    final class Run { var state = StrategyState(); var now: Int64 = 1_795_770_000_000; var i = 0; var sink = 0 }
    let run = Run()
    var generator = SeededGenerator(seed: 11)
    // Market moves and trades prepared once, so the benchmark times the strategy alone.
    let books: [OrderBook] = (0..<64).map { i in
        let mid = Dec("60000.5") + Dec(i % 9) * Dec("0.5") - Dec(2)
        return OrderBook(bids: [BookLevel(mid - Dec("0.5"), 1)], asks: [BookLevel(mid + Dec("0.5"), 1)])
    }
    let prints: [Dec] = (0..<64).map { _ in Dec("60000") + Dec(Int(generator.next() % 200)) * Dec("0.1") - Dec(10) }
    func step() -> Decision {
        let i = run.i
        run.i += 1
        run.now += 1000
        // No live orders: every decision proposes a ladder (the refresh timer is reset).
        run.state.createAt = 0
        let view = MarketView(now: run.now, book: books[i % 64], balances: balances, rules: rules,
                              trades: [TapeTrade(price: prints[i % 64], amount: "0.01", time: run.now - 500)])
        return Strategy.decide(view, state: &run.state, config: config)
    }
    for _ in 0..<400 { _ = step() }
    precondition(step().buys.count == 5, "the Avellaneda benchmark must quote")
    let distances = (0..<200).map { _ in -log(generator.uniform()) / 2000 }
    return [
        Benchmark(name: "avellaneda: one decision (5 levels a side, estimators updated)",
                  target: .latency(medianNs: 5_000, p99Ns: 40_000)) {
            let d = step()
            run.sink &+= d.buys.count
        },
        Benchmark(name: "avellaneda: intensity fit (200 trades), per decision at a trade a decision",
                  target: .latency(medianNs: 1_000, p99Ns: 4_000), operationsPerCall: 20) {
            if case .success(let f) = IntensityEstimator.fit(distances: distances, seconds: 200) { run.sink &+= Int(f.kappa) }
        },
    ]
}

/// The ledger over a million fills, and a chart of thirty days of one-a-minute samples.
func ledgerBenchmarks() -> [Benchmark] {
    var generator = SeededGenerator(seed: 3)
    var mid = Dec("60000")
    let fills: [LedgerFill] = (0..<1_000_000).map { i in
        mid += Dec(Int(generator.next() % 21) - 10) * Dec("0.01")
        let isBuy = generator.next() & 1 == 0
        let price = isBuy ? mid - Dec("0.5") : mid + Dec("0.5")
        return LedgerFill(time: Int64(i) * 1000, isBuy: isBuy, price: price, amount: Dec("0.001"), fee: Dec("0.06"), maker: true, mid: mid)
    }
    var points: [(x: Double, y: Double)] = []
    for i in 0..<(30 * 1440) {
        let t = Double(i)
        points.append((x: t * 60, y: 60000.0 + 500.0 * sin(t / 700.0)))
    }
    var sink = Dec(0), drawn = 0
    return [
        Benchmark(name: "ledger: summarize 1,000,000 fills", target: .latency(medianNs: 1e9, p99Ns: 2e9), samples: 5) {
            sink += Ledger.summarize(fills, mark: mid).net
        },
        Benchmark(name: "chart: 30 days of one-a-minute samples, 120 × 30 cells", target: .latency(medianNs: 100e6, p99Ns: 200e6), samples: 20) {
            drawn &+= Chart.draw([Chart.Series("mid", points)], width: 120, height: 30, yLabel: { String(Int($0)) },
                                 xLabel: { String(Int($0)) }).count
        },
    ]
}
