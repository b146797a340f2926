import Foundation
import MMCore
import MMRecording
import MMSim
import MMStorage
import MMStrategy

/// What a backtest replays, and with what.
public struct BacktestPlan: Sendable, Codable {
    public var instance: Int
    public var name: String
    /// The instance's settings with the overrides applied.
    public var settings: Settings
    public var data: String
    public var from: Int64?
    public var to: Int64?
    /// Milliseconds each request takes to reach the venue and come back.
    public var latency: Int64
    /// KEY=VALUE as given, for the record.
    public var overrides: [String]

    public init(instance: Int, name: String, settings: Settings, data: String, from: Int64?, to: Int64?, latency: Int64, overrides: [String]) {
        self.instance = instance; self.name = name; self.settings = settings; self.data = data
        self.from = from; self.to = to; self.latency = latency; self.overrides = overrides
    }
}

/// What a backtest made: the ledger's figures of its run, valued at the replay's last mid.
public struct BacktestFigures: Sendable, Equatable, Codable {
    public var summary: LedgerSummary
    public var maxDrawdown: Dec
    /// Hourly, from the run's P&L snapshots (nil for less than two hours).
    public var sharpe: Double?
}

/// Where a replay lost the book: from when, until when it was whole again (nil: to the end), and why.
public struct ReplayGap: Sendable, Equatable, Codable {
    public var from: Int64
    public var to: Int64?
    public var reason: String
}

/// What a backtest did: the run it stored and the replay's own figures.
public struct BacktestResult: Sendable, Codable {
    /// The run in the instance's store (nil when it was not stored: a sweep's).
    public var run: Int64?
    public var figures: BacktestFigures
    public var partial: Bool
    /// Replay time covered, ms.
    public var from: Int64
    public var to: Int64
    public var decisions: Int
    public var events: Int
    public var fills: Int
    public var quoteUptime: Double?
    public var gaps: [ReplayGap]
    public var wallSeconds: Double
}

/// Runs an instance's settings over a recording with the code that runs it live: the same
/// `InstanceRunner` and strategy, behind `ReplayExchange`, on the replay's clock. Decisions come
/// as a live instance takes them: at once when the book changes, and at least every `interval`.
/// The run is made in a scratch store and copied into `store` as a run of the instance marked
/// as a backtest, so that `pnl`, `fills`, `chart` and `export` show it with `--run N`.
public enum Backtest {
    /// Opens the plan's recording, checks its pair, and replays it up to the window's start.
    /// Written out here, untyped: the same steps as a static method of the actor itself
    /// (`async throws(RecordingError)`) crashed the process later, when a job ran into freed
    /// memory (Swift 6.3.1, debug builds); a test runs these steps three times over.
    static func replay(_ plan: BacktestPlan, base: Dec, quote: Dec) async throws -> ReplayExchange {
        let reader = try RecordingReader.open(plan.data)
        guard reader.meta.pair == plan.settings.pair else {
            throw RecordingError("\(plan.data) records \(reader.meta.pair), not \(plan.settings.pair); set the instance's pair to \(reader.meta.pair) or record \(plan.settings.pair)")
        }
        let (form, _) = try ReplayForm.open(plan.data)
        let exchange = ReplayExchange(path: plan.data, meta: reader.meta, form: form, to: plan.to, latency: plan.latency, base: base, quote: quote)
        try await exchange.prepare(from: plan.from)
        return exchange
    }

    /// Builds the replay form of the recording at `path` if it has none up to date (a sweep does
    /// this once, before its jobs start, so that they do not all build it). Returns the events
    /// decoded and the seconds it took, nil when the form was already there.
    @discardableResult
    public static func prepareData(_ path: String) throws(RecordingError) -> (events: Int, seconds: Double)? {
        let (form, built) = try ReplayForm.open(path)
        form.close()
        return built.map { ($0.events, $0.seconds) }
    }

    /// Runs the plan; with a `store`, the run is copied into it as a run marked backtest.
    public static func run(_ plan: BacktestPlan, into store: Store?, interval: Int64 = 500,
                           progress: @Sendable (Double) -> Void = { _ in },
                           cancelled: @Sendable () -> Bool = { false }) async throws -> BacktestResult {
        let began = ContinuousClock.now
        let sim = SimMarketConfig(plan.settings)
        let exchange: ReplayExchange
        do {
            exchange = try await replay(plan, base: sim.base, quote: sim.quote)
        } catch {
            throw EngineError(RecordingError.from(error).message)
        }
        await exchange.readBook(depth: StrategyConfig(plan.settings).bookDepth)
        let clock = exchange.clock
        let start = clock.now()
        let scratch: Store
        do {
            scratch = try Store.inMemory()
            try scratch.createInstance(id: plan.instance, name: plan.name)
        } catch {
            throw EngineError("cannot make the backtest's scratch store: \(error.message)")
        }
        let runner = InstanceRunner(id: plan.instance, name: plan.name, settings: plan.settings, store: scratch, exchange: exchange,
                                    clock: clock, token: "bt" + String(UInt32.random(in: 0...UInt32.max), radix: 36), backtest: true,
                                    host: exchange.host)
        try await runner.start(seedNote: nil)
        let (decisions, partial) = await decide(on: exchange.host, exchange: exchange, runner: runner, start: start, to: plan.to,
                                                interval: interval, progress: progress, cancelled: cancelled)
        let report = await runner.report()
        await runner.stop(reason: partial ? "interrupted" : "the end of the data")
        if let damage = await exchange.damage {
            throw EngineError("\(damage); the backtest stopped at \(TimeText.iso(clock.now())) and stored nothing")
        }
        let end = clock.now()
        var record: [String: Any] = ["data": plan.data, "pair": exchange.meta.pair, "from": TimeText.iso(start), "to": TimeText.iso(end),
                                     "latency_ms": plan.latency, "overrides": plan.overrides, "partial": partial]
        if let seed = exchange.meta.seed { record["seed"] = seed }
        let json = (try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let figures: BacktestFigures
        do { figures = try Backtest.figures(of: scratch, instance: plan.instance, pair: plan.settings.pair) } catch {
            throw EngineError("the backtest ran but its fills could not be read: \(error.message)")
        }
        var run: Int64?
        if let store {
            do {
                run = try store.importBacktestRun(from: scratch, instance: plan.instance, backtest: json,
                                                  state: partial ? "backtest_partial" : "backtest")
            } catch {
                throw EngineError("the backtest ran but could not be stored: \(error.message)")
            }
        }
        let took = ContinuousClock.now - began
        return BacktestResult(run: run, figures: figures, partial: partial, from: start, to: end, decisions: decisions, events: await exchange.events,
                              fills: await runner.fillCount, quoteUptime: report.quoteUptime, gaps: await exchange.gaps,
                              wallSeconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
    }

    /// The replay's loop, run on the executor the venue and the runner share: replays to the next
    /// event or timer, and decides as the live loop does. Returns the decisions taken and whether
    /// it was cancelled before the end.
    static func decide(on host: isolated ExecutorHost, exchange: ReplayExchange, runner: InstanceRunner, start: Int64, to: Int64?,
                       interval: Int64, progress: @Sendable (Double) -> Void, cancelled: @Sendable () -> Bool) async -> (Int, Bool) {
        let clock = exchange.clock
        var decisions = 0
        var lastTick = clock.now()
        await runner.tick()
        decisions += 1
        var steps = 0
        var state = await runner.runState
        while state == .running || state == .waiting {
            let due = lastTick + interval
            // A damaged block is noted by the exchange (also when a request's round trip met it).
            guard let changed = await exchange.step(due: due) else { break }
            if changed || clock.now() >= due {
                // As the live loop: a decision that cancelled to make its ladder anew is followed by one at once.
                var outcome = await runner.decide()
                decisions += 1
                if outcome.followUp {
                    outcome = await runner.decide()
                    decisions += 1
                }
                state = outcome.state
                lastTick = clock.now()
            }
            steps += 1
            if steps % 4096 == 0 {
                if cancelled() { return (decisions, true) }
                if let to, to > start {
                    progress(min(1, Double(clock.now() - start) / Double(to - start)))
                } else {
                    progress(await exchange.progress())
                }
            }
        }
        return (decisions, false)
    }

    /// The ledger of the scratch store's one run, valued at its last sampled mid.
    static func figures(of scratch: Store, instance: Int, pair: String) throws(StoreError) -> BacktestFigures {
        let base = Units.assets(of: pair)?.base ?? ""
        let fills = try scratch.ledgerTally(instance: instance, baseAsset: base).whole
        let last = try scratch.samples(instance: instance, from: Int64.min, to: Int64.max, limit: 1).last
        let mark = last?.mid ?? fills.last.map { $0.mid ?? $0.price } ?? 0
        let series: [(time: Int64, net: Dec, hold: Dec)] = try scratch.pnlRows(instance: instance, from: Int64.min, to: Int64.max).compactMap { row in
            guard let v = Dec(row.value), let h = Dec(row.hold) else { return nil }
            return (row.time, v - h, h)
        }
        let risk = Ledger.risk(series, period: .hour)
        return BacktestFigures(summary: fills.summary(mark: mark), maxDrawdown: risk.maxDrawdown, sharpe: risk.sharpe)
    }
}
