import Foundation
import MMAPI
import MMCore
import MMEngine
import MMStorage
import MMProto
import MMRecording
import MMSimServer
import MMStrategy

/// An hour of BTCUSDT-like market data, shaped as the peer's synthetic day (hftbacktest's): a
/// 1,000-level snapshot, then a depth batch every 100 ms of 10 level changes near the touch, and
/// 12,500 trades (300,000 a day) at a touch that stays put (so no book-ticker frames). Written
/// as a recording of MEXC's frames. Returns the events in it, counted as the peer counts them (a level
/// change or a trade is one event).
func writeBTCLikeHour(to path: String, start: Int64) async throws -> Int {
    var options = SimServerOptions(credentials: SimServerOptions.randomCredentials())
    options.pairs = ["BTCUSDT"]
    let sim = try SimulatedMEXC(options: options, now: { start })
    let rules = await sim.handle(SimRequest(method: "GET", path: "/api/v3/exchangeInfo", rawQuery: "symbol=BTCUSDT"))
    let writer = try RecordingWriter(path: path, meta: RecordingMeta(pair: "BTCUSDT", source: "synthetic", depth: "100ms", started: start),
                                     replace: true, generated: true)
    try writer.append(.rules, time: start * 1000, payload: Array(rules.body.utf8))
    var generator = SeededGenerator(seed: 9)
    let tick = Dec("0.01")
    let bestBid = Dec("59999.99"), bestAsk = Dec("60000.01")
    func quantity() -> Dec { Dec(Int(generator.next() % 5000) + 1) * Dec("0.0001") }
    var bids = (0..<1000).map { "[\"\(bestBid - Dec($0) * tick)\",\"\(quantity())\"]" }
    var asks = (0..<1000).map { "[\"\(bestAsk + Dec($0) * tick)\",\"\(quantity())\"]" }
    let snapshot = "{\"lastUpdateId\":1,\"bids\":[\(bids.joined(separator: ","))],\"asks\":[\(asks.joined(separator: ","))]}"
    bids = []; asks = []
    try writer.append(.snapshot, time: start * 1000, payload: Array(snapshot.utf8))
    var events = 2000
    var version: Int64 = 1
    var trade = 0
    for step in 1...36_000 {
        let t = start + Int64(step) * 100
        var w = PushDataV3ApiWrapper()
        w.channel = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
        w.symbol = "BTCUSDT"
        w.sendTime = t
        var d = PublicAggreDepthsV3Api()
        func item(_ price: Dec) -> PublicAggreDepthV3ApiItem {
            var i = PublicAggreDepthV3ApiItem()
            i.price = price.description
            i.quantity = quantity().description
            return i
        }
        // Ten changes within 50 ticks of the touch; the touch itself keeps a quantity.
        d.bids = (0..<5).map { _ in item(bestBid - Dec(Int(generator.next() % 50)) * tick) }
        d.asks = (0..<5).map { _ in item(bestAsk + Dec(Int(generator.next() % 50)) * tick) }
        d.eventType = "spot@public.aggre.depth.v3.api.pb@100ms"
        version += 1
        d.fromVersion = "\(version)"
        d.toVersion = "\(version)"
        w.publicAggreDepths = d
        try writer.append(.stream, time: t * 1000, payload: try w.serializedBytes() as [UInt8])
        events += 10
        // 12,500 trades an hour: about one batch in three, at the touch.
        if generator.next() % 36_000 < 12_500 {
            trade += 1
            var deals = PushDataV3ApiWrapper()
            deals.channel = "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"
            deals.symbol = "BTCUSDT"
            deals.sendTime = t
            var a = PublicAggreDealsV3Api()
            var item = PublicAggreDealsV3ApiItem()
            let buy = generator.next() & 1 == 0
            item.price = (buy ? bestAsk : bestBid).description
            item.quantity = quantity().description
            item.tradeType = buy ? 1 : 2
            item.time = t
            item.tradeID = "\(trade)X1"
            a.deals = [item]
            a.eventType = "spot@public.aggre.deals.v3.api.pb@100ms"
            deals.publicAggreDeals = a
            try writer.append(.stream, time: t * 1000 + 1, payload: try deals.serializedBytes() as [UInt8])
            events += 1
        }
    }
    try writer.close()
    return events
}

/// The backtest benchmark's settings: pure market making, five levels a side, refreshed every second.
func benchSettings() throws -> Settings {
    var settings = Settings()
    for (k, v) in ["levels.count": "5", "refresh.time": "1s", "sim.base": "1", "sim.quote": "60000"] { settings.set(k, try Catalog.lookup(k).parse(v)) }
    return settings
}

/// The backtest of the benchmark's hour, `times` times, with the seconds each took. With
/// `MMSH_BENCH_DATA=FILE` the hour is kept in FILE (written when missing), so that a profile of
/// the backtests is not one of writing their data.
func profileBacktest(times: Int) async throws {
    let kept = ProcessInfo.processInfo.environment["MMSH_BENCH_DATA"]
    let path = kept ?? FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-bench-\(getpid()).mmrec").path
    defer {
        if kept == nil {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + ".replay")
        }
    }
    if kept == nil || !FileManager.default.fileExists(atPath: path) { _ = try await writeBTCLikeHour(to: path, start: 1_795_910_400_000) }
    try Backtest.prepareData(path)
    let settings = try benchSettings()
    for _ in 0..<times {
        let r = try await Backtest.run(BacktestPlan(instance: 1, name: "bench", settings: settings, data: path, from: nil, to: nil,
                                                    latency: 0, overrides: []), into: nil)
        print(String(format: "%.3f s, %d decisions, %d fills", r.wallSeconds, r.decisions, r.fills))
    }
}

/// Recording and backtesting an hour of BTCUSDT-like data: the file's size, the replay alone,
/// and a backtest with pure-market-making decisions on every book change.
func backtestBenchmarks() async throws -> [[String]] {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-bench-\(getpid()).mmrec").path
    defer {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".replay")
    }
    let start: Int64 = 1_795_910_400_000
    let began = ContinuousClock.now
    let events = try await writeBTCLikeHour(to: path, start: start)
    let wrote = ContinuousClock.now - began
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    var rows: [[String]] = [["recording: an hour of BTCUSDT-like data (\(events) events), written", String(format: "%.2f MB", Double(size) / 1e6),
                             String(format: "%.2f s", seconds(wrote)), "report", "-"]]

    // Decoding the raw recording into its replay form (what a first backtest of a file does).
    var built: (events: Int, seconds: Double)?
    for _ in 0..<2 {
        try? FileManager.default.removeItem(atPath: path + ".replay")
        let b = try Backtest.prepareData(path)!
        if built == nil || b.seconds < built!.seconds { built = b }
    }
    let decodeRate = Double(built!.events) / built!.seconds
    rows.append(["replay form: that hour decoded from the recording (a first backtest's cost)", String(format: "%.2fM events/s", decodeRate / 1e6),
                 String(format: "%.0f ms", built!.seconds * 1000), "report", "-"])

    // The replay alone: the book rebuilt from the replay form and trades through the queue model.
    var best = Double.infinity
    for _ in 0..<5 {
        let t0 = ContinuousClock.now
        let exchange = try ReplayExchange.open(path, to: nil, latency: 0, base: 1, quote: 60000)
        try await exchange.prepare(from: nil)
        try await exchange.advance(to: Int64.max - 1)
        best = min(best, seconds(ContinuousClock.now - t0))
    }
    let rate = Double(events) / best
    rows.append(["replay: that hour, book and trades through the queue model (from the replay form)", String(format: "%.2fM events/s", rate / 1e6),
                 String(format: "%.0f ms", best * 1000), "≥ 10M events/s", rate >= 10e6 ? "ok" : "MISSED"])

    // A backtest: pure market making, deciding on every book change.
    let settings = try benchSettings()
    best = .infinity
    for _ in 0..<3 {
        let t0 = ContinuousClock.now
        _ = try await Backtest.run(BacktestPlan(instance: 1, name: "bench", settings: settings, data: path, from: nil, to: nil,
                                                latency: 0, overrides: []), into: nil)
        best = min(best, seconds(ContinuousClock.now - t0))
    }
    rows.append(["backtest: that hour, pure market making on every book change (a day = 24 ×)", String(format: "%.2f s a day", best * 24),
                 String(format: "%.0f ms", best * 1000), "< 5 s a day", best * 24 < 5 ? "ok" : "MISSED"])
    rows.append(try sweepInChild(path: path))
    return rows
}

/// The sweep's row, measured in a child process on every core: this one is pinned to one (and
/// its cooperative pool was sized for one when it started).
func sweepInChild(path: String) throws -> [String] {
    let row = try childRow("sweep", environment: ["MMSH_BENCH_DATA": path], onEveryCore: true)
    return row.count == 5 ? row : ["sweep: 20 combinations over that hour", "-", "-", "scales with the cores", "MISSED (the child failed: \(row.joined().prefix(200)))"]
}

/// A sweep of 20 combinations over the hour at `path`, through the engine's API as `sweep` runs
/// it, one job and then one a core. A release build once crashed at the first sweep (a debug
/// build did not), and this is the release build's test of it.
func sweepRow(path: String) async throws -> [String] {
    let settings = try benchSettings()
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var plans: [BacktestPlan] = []
    for spread in ["0.05%", "0.1%", "0.15%", "0.2%", "0.25%"] {
        for levels in ["1", "2", "3", "4"] {
            var s = settings
            s.set("spread.bid", try Catalog.lookup("spread.bid").parse(spread))
            s.set("levels.count", try Catalog.lookup("levels.count").parse(levels))
            plans.append(BacktestPlan(instance: 1, name: "bench", settings: s, data: path, from: nil, to: nil, latency: 0,
                                      overrides: ["spread.bid=\(spread)", "levels.count=\(levels)"]))
        }
    }
    let engine = LocalEngine(store: try Store.inMemory())
    func run(_ jobs: Int) async -> (Double, Int) {
        let t0 = ContinuousClock.now
        let outcomes = await engine.sweep(plans, jobs: jobs, done: { _ in }, cancelled: { false })
        return (seconds(ContinuousClock.now - t0), outcomes.filter { $0.result != nil }.count)
    }
    let (one, ranOne) = await run(1)
    let (many, ranMany) = await run(cores)
    let speedup = one / many
    let fine = ranOne == plans.count && ranMany == plans.count && (cores < 2 || speedup >= 1.5)
    return ["sweep: 20 combinations over that hour, 1 job, then \(cores) (\(ranMany)/\(plans.count) ran)", String(format: "%.2f× faster", speedup),
            String(format: "%.2f s, %.2f s", one, many), "scales with the cores", fine ? "ok" : "MISSED"]
}
