import Foundation
import MMCore
import MMEngine
import MMStorage
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

/// The ledger over a million stored fills, a chart of thirty days of stored market samples, and
/// what taking the samples costs a running instance. Each reads a real database file, as
/// `pnl` and `chart` do.
func ledgerBenchmarks() -> [Benchmark] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-bench-\(getpid())")
    try? FileManager.default.removeItem(at: directory)
    defer { try? FileManager.default.removeItem(at: directory) }
    guard let data = try? DataDirectory(url: directory), let store = try? Store.open(directory: data),
          let instance = try? store.createInstance(name: "bench", limit: 10) else {
        FileHandle.standardError.write(Data("mmsh-bench: cannot make a database in \(directory.path); the ledger benchmarks are skipped\n".utf8))
        return []
    }
    var generator = SeededGenerator(seed: 3)
    var mid = Dec("60000")
    let start: Int64 = 1_795_770_000_000
    var fills: [FillRecord] = []
    fills.reserveCapacity(1_000_000)
    for i in 0..<1_000_000 {
        mid += Dec(Int(generator.next() % 21) - 10) * Dec("0.01")
        let isBuy = generator.next() & 1 == 0
        let price = isBuy ? mid - Dec("0.5") : mid + Dec("0.5")
        fills.append(FillRecord(instanceId: instance.id, tradeId: "t\(i)", clientId: "mm1-bench-\(i)", side: isBuy ? "buy" : "sell",
                                price: price.description, quantity: "0.001", fee: "0", time: start + Int64(i) * 1000,
                                orderId: "o\(i)", feeAsset: "USDT", maker: true, mid: mid.description, runId: 1))
    }
    // Thirty days: the last raw (one a second), the 29 before it one a minute, as compaction leaves them.
    var samples: [MarketSample] = []
    let day: Int64 = 86_400_000, end = start + 30 * day
    var price = 60000.0
    func sample(_ t: Int64, span: Int64) -> MarketSample {
        price += (Double(generator.next() % 2001) - 1000) / 100
        let m = Dec(statistic: price, places: 2)
        return MarketSample(time: t, span: span, run: 1, mid: m, high: m + 5, low: m - 5, bid: m - Dec("0.01"), ask: m + Dec("0.01"),
                            ourBid: m - 6, ourAsk: m + 6, base: Dec("0.5"), quote: Dec("30000"), net: Dec("12.5"), volume: Dec("0.8"),
                            turnover: m * Dec("0.8"), quoted: span, count: span == 1000 ? 1 : 60, quotedCount: span == 1000 ? 1 : 60)
    }
    for t in stride(from: end - 30 * day, to: end - day, by: 60_000) { samples.append(sample(t, span: 60_000)) }
    for t in stride(from: end - day, to: end, by: 1000) { samples.append(sample(t, span: 1000)) }
    do {
        _ = try store.recordFills(fills)
        try store.recordSamples(instance: instance.id, samples)
    } catch {
        FileHandle.standardError.write(Data("mmsh-bench: \(error); the ledger benchmarks are skipped\n".utf8))
        return []
    }
    fills = []
    let sampleCount = samples.count
    samples = []
    // What sampling does a second: take one sample; every tenth second store ten.
    var sampler = Sampler(keep: 30 * day)
    let book = OrderBook(bids: (0..<20).map { BookLevel(Dec("59999.99") - Dec($0), Dec("0.5")) },
                         asks: (0..<20).map { BookLevel(Dec("60000.01") + Dec($0), Dec("0.5")) })
    let orders = (0..<10).map { i in
        LiveOrder(clientId: "mm1-bench-\(i)", side: i % 2 == 0 ? .buy : .sell, price: i % 2 == 0 ? Dec("59990") : Dec("60010"),
                  amount: Dec("0.001"), placedAt: 0)
    }
    let balances = Balances(base: AssetBalance(total: Dec("0.5"), available: Dec("0.5")), quote: AssetBalance(total: Dec("30000"), available: Dec("30000")))
    let tape = [TapeTrade(price: Dec("60000.01"), amount: Dec("0.01"), time: 0), TapeTrade(price: Dec("59999.99"), amount: Dec("0.02"), time: 0)]
    var clock = end + day
    var sink = Dec(0), drawn = 0
    return [
        // What 'pnl' does: the engine sums the fills as it reads them, holding none.
        Benchmark(name: "pnl: 1,000,000 stored fills, read and summarized", target: .latency(medianNs: 1e9, p99Ns: 2e9), samples: 5) {
            guard let tally = try? store.ledgerTally(instance: instance.id, baseAsset: "BTC") else { return }
            sink += tally.whole.summary(mark: mid).net
        },
        Benchmark(name: "chart: 30 days of stored samples (\(sampleCount / 1000)k), read and drawn 120 × 30",
                  target: .latency(medianNs: 100e6, p99Ns: 200e6), samples: 20) {
            guard let read = try? store.samples(instance: instance.id, from: start, to: end, every: (30 * day) / 480) else { return }
            let points = read.map { (x: Double($0.time) / 1000, y: $0.mid.doubleValue) }
            drawn &+= Chart.draw([Chart.Series("mid", points)], width: 120, height: 30, yLabel: { String(Int($0)) },
                                 xLabel: { String(Int($0)) }).count
        },
        Benchmark(name: "sampling: a running instance's second (1% of a core = 10 ms)", target: .latency(medianNs: 10e6, p99Ns: 20e6),
                  operationsPerCall: 10, samples: 200) {
            for _ in 0..<10 {
                clock += 1000
                sampler.observe(tape)
                sampler.take(now: clock, run: 1, book: book, orders: orders, balances: balances, startBase: Dec("0.5"),
                             startQuote: Dec("30000"), quotedMs: clock)
            }
            try? store.recordSamples(instance: instance.id, sampler.takePending())
        },
    ]
}
