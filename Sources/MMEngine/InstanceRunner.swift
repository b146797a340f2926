import Foundation
import Metrics
import MMCore
import MMSim
import MMStorage
import MMStrategy

public enum EventLevel: String, Sendable, CaseIterable, Comparable, Codable {
    case success, info, warning, error
    public static func < (a: EventLevel, b: EventLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What a running (or stopped) instance is doing.
public enum RunState: String, Sendable, Codable {
    case stopped, running, waiting, stopped_by_stop_loss, failed
}

/// One of the instance's orders as the engine tracks it.
public struct TrackedOrder: Sendable, Equatable, Codable {
    public var clientId: String
    public var side: Side
    public var price: Dec
    public var amount: Dec
    public var executed: Dec
    public var placedAt: Int64
    public var batch: Int
    public var level: Int
    public var cancelling: Bool
    public var remaining: Dec { amount - executed }

    /// As the strategy sees it: what is left to fill.
    public var live: LiveOrder {
        LiveOrder(clientId: clientId, side: side, price: price, amount: remaining, placedAt: placedAt, batch: batch, level: level,
                  cancelling: cancelling)
    }
}

extension TrackedOrder {
    /// An order the venue reports (adopted, or found after a lost reply).
    init(_ o: ExchangeOrder, batch: Int, level: Int) {
        self.init(clientId: o.clientId, side: o.side, price: o.price, amount: o.quantity, executed: o.executed, placedAt: o.time,
                  batch: batch, level: level, cancelling: false)
    }
}

/// A running instance: runs the strategy on its timer, places and cancels through its
/// exchange, tracks every order by our client id, applies each fill once and records it all.
public actor InstanceRunner {
    /// Whose executor the runner runs on: a backtest's venue's (one executor for both, so that
    /// the many calls a decision makes between them do not switch), else its own.
    public nonisolated let host: ExecutorHost
    public nonisolated var unownedExecutor: UnownedSerialExecutor { host.unownedExecutor }
    public let id: Int
    public let name: String
    let store: Store
    let exchange: any Exchange
    let clock: any EngineClock
    let notify: @Sendable (Int, EventLevel, String) -> Void
    let alert: @Sendable (Alert) -> Void
    let events: EventBus?
    var settings: Settings
    var config: StrategyConfig
    var state = StrategyState()
    var riskConfig: RiskConfig
    /// The risk supervisor's state: active, reducing or halted, and why.
    public private(set) var risk = RiskState()
    /// When the venue last answered a cycle's reads (for the dead-man's switch).
    var answeredAt: Int64 = 0
    /// The last figures the supervisor saw, for decisions made while the venue is silent.
    var lastFigures: RiskFigures?
    public private(set) var orders: [String: TrackedOrder] = [:] { didSet { liveOrders = nil } }
    /// The orders as the strategy sees them, in client id order; made again after `orders` changed
    /// (most decisions, at one a book change, find them as they were).
    var liveOrders: [LiveOrder]?
    public private(set) var runState: RunState = .stopped
    public private(set) var fillCount = 0
    public private(set) var startedAt: Int64 = 0
    public private(set) var lastSnapshot: MarketSnapshot?
    /// Public trades that came with a snapshot taken for a report, kept for the next decision.
    var tapeBacklog: [TapeTrade] = []
    /// The market's newest public trades, for `trades`.
    var tape: [TapeTrade] = []
    static let tapeKept = 500
    /// Why the strategy quotes nothing for now, as its last decision said.
    var waitingFor: String?
    var rules: MarketRules?
    var runId: Int64?
    var startBase: Dec = 0, startQuote: Dec = 0
    var feesPaid: Dec = 0
    /// The run's fills summed as they are applied (status reads these, not the stored fills).
    public private(set) var tally = FillTally()
    /// Time run, and time with both a bid and an ask resting (quote uptime), in ms.
    var runMs: Int64 = 0, quotedMs: Int64 = 0
    var lastCycleAt: Int64?
    // Recorded where they happen (swift-metrics), read by /metrics.
    let decisionTimer: Metrics.Timer
    let tradedBase: FloatingPointCounter, tradedQuote: FloatingPointCounter, feesCounter: FloatingPointCounter
    var lastPnLAt: Int64 = 0
    static let pnlEvery: Int64 = 60_000
    /// The market samples of the run, once a second (what `chart` and `market` read).
    var sampler = Sampler(keep: 30 * 86_400_000)
    /// Client ids: `mm<id>-<run token>-<n>`, at most 32 characters of [A-Za-z0-9-].
    let prefix: String
    var counter = 0
    /// Orders whose placement got no answer: looked up by client id at the next cycle.
    var unresolved: Set<String> = []
    /// Ladder levels of orders placed without an answer, for when they are found.
    var levels: [String: Int] = [:]
    /// The records of those orders, to mark them when the venue says they were never placed.
    var placing: [String: OrderRecord] = [:]
    /// Why the venue stopped answering, while it does not; cleared (after a reconciliation) when it answers again.
    var contactLost: String? {
        didSet { if contactLost == nil { contactLostAt = nil } else if contactLostAt == nil { contactLostAt = clock.now() } }
    }
    /// Since when the venue does not answer.
    var contactLostAt: Int64?
    /// Orders the last stop could not confirm gone (the venue did not answer).
    public private(set) var unconfirmedAtStop = 0
    public private(set) var throttled = false
    /// When the venue last gave a fresh book; quotes are cancelled when that is too long ago.
    var freshAt: Int64 = 0
    public private(set) var stale = false
    let backtest: Bool
    /// Decision cycles run so far.
    public private(set) var cycles = 0
    /// Set by a decision that cancelled orders and placed none: the next places the new ladder.
    var followUp = false

    // Storage that refuses writes (locked past its timeout, a full disk, a read-only file) must
    // not lose anything: what could not be written is kept here, in order, and written first at
    // every cycle; while anything is left the instance cancels its quotes and places nothing.
    /// Fills the venue reported that are not stored yet, oldest first. A fill reaches the
    /// strategy and the counts only once it is stored, so it is applied exactly once.
    var unsavedFills: [ExchangeTrade] = []
    /// The newest state of each order whose record could not be written.
    var unsavedOrders: [String: OrderRecord] = [:]
    /// Log entries not written yet (the newest `unsavedEventLimit`; older ones are counted).
    var unsavedEvents: [EventRecord] = []
    var droppedEvents = 0
    static let unsavedEventLimit = 1000
    /// The end of the run, when it could not be written.
    var unsavedFinish: (at: Int64, state: String)?
    /// Why the store refuses writes, while it does.
    public private(set) var storageFailure: String?
    /// Orders of earlier runs whose cancel failed: tried again every cycle until the venue says
    /// they are gone, counted in `status`, and confirmed gone at stop.
    public private(set) var orphans: [String: ExchangeOrder] = [:]
    /// Set while writes refused before are tried again (a refusal then is not news).
    var retryingStorage = false

    /// `backtest`: the instance replays a recording, its run a scratch one: no log (nothing keeps
    /// it, and writing it cost more than the decisions), no decision traces, no order records,
    /// and none of the process's metrics (a backtest's fills are not the instance's traded volume).
    public init(id: Int, name: String, settings: Settings, store: Store, exchange: any Exchange, clock: any EngineClock,
                token: String, notify: @escaping @Sendable (Int, EventLevel, String) -> Void = { _, _, _ in },
                alert: @escaping @Sendable (Alert) -> Void = { _ in }, events: EventBus? = nil, backtest: Bool = false,
                host: ExecutorHost? = nil) {
        self.host = host ?? ExecutorHost()
        self.backtest = backtest
        self.events = events
        self.id = id
        self.name = name
        self.settings = settings
        self.config = StrategyConfig(settings)
        self.riskConfig = RiskConfig(settings)
        self.alert = alert
        self.store = store
        self.exchange = exchange
        self.clock = clock
        self.notify = notify
        self.prefix = "mm\(id)-\(token)-"
        let labels = [("instance", "\(id)"), ("name", name), ("pair", settings.pair), ("venue", settings.venue)]
        let metrics: any MetricsFactory = backtest ? NOOPMetricsHandler.instance : MetricsSystem.factory
        decisionTimer = Metrics.Timer(label: "mmsh_decision_duration_seconds", dimensions: labels, factory: metrics)
        tradedBase = FloatingPointCounter(label: "mmsh_instance_traded_base_total", dimensions: labels, factory: metrics)
        tradedQuote = FloatingPointCounter(label: "mmsh_instance_traded_quote_total", dimensions: labels, factory: metrics)
        feesCounter = FloatingPointCounter(label: "mmsh_instance_fees_total", dimensions: labels, factory: metrics)
    }

    /// The client-id prefix of every order of this instance (all runs).
    public static func instancePrefix(_ id: Int) -> String { "mm\(id)-" }

    func log(_ level: EventLevel, _ kind: String, _ text: @autoclosure () -> String) {
        guard !backtest else { return }
        let message = text()
        var event = EventRecord(instanceId: id, time: clock.now(), level: level.rawValue, kind: kind, message: message)
        if storageFailure == nil {
            do { event.id = try store.appendEvent(event, keep: settings["log.keep"].integer ?? 10_000) } catch {
                storageFailed(error)
                keepUnsaved(event)
            }
        } else {
            keepUnsaved(event)
        }
        events?.publish(event)
        if level >= .warning { notify(id, level, message) }
        // Errors reach the webhook too; those with an alert of their own are sent as that.
        if level == .error, !["stop_loss", "risk"].contains(kind) { send("error", .error, message) }
    }

    /// An alert about an order an earlier run left, with the order's figures.
    func sendOrphan(_ o: ExchangeOrder, _ message: String) {
        send("orphans", .warning, message, ["client_id": o.clientId, "side": o.side.rawValue, "price": o.price.description,
                                             "amount": o.remaining.description])
    }

    /// An alert about this instance, with its figures.
    func send(_ event: String, _ level: EventLevel, _ message: String, _ figures: [String: String] = [:]) {
        alert(Alert(event: event, level: level, instance: id, name: name, pair: settings.pair, time: clock.now(), message: message,
                    figures: figures))
    }

    func keepUnsaved(_ event: EventRecord) {
        unsavedEvents.append(event)
        if unsavedEvents.count > Self.unsavedEventLimit {
            unsavedEvents.removeFirst()
            droppedEvents += 1
        }
    }

    // MARK: Storage

    /// The store refused a write: say so loudly, once, and stop quoting until it works again.
    func storageFailed(_ error: StoreError) {
        let first = storageFailure == nil && !retryingStorage
        storageFailure = error.message
        guard first else { return }
        notify(id, .error, "cannot write to the database: \(error.message); quotes are cancelled and nothing is placed until it works again (fills are kept in memory meanwhile)")
    }

    /// Writes an order's record; when the store refuses, keeps it to write later. True when written.
    @discardableResult
    func save(_ r: OrderRecord) -> Bool {
        // A backtest's orders live and die in its replay: its stored run keeps the fills, the
        // P&L and the samples, and a day of order records held in its scratch store would grow
        // with the data.
        if backtest { return true }
        if storageFailure == nil {
            do {
                try store.recordOrder(r)
                unsavedOrders[r.clientId] = nil
                return true
            } catch {
                storageFailed(error)
            }
        }
        unsavedOrders[r.clientId] = r
        return false
    }

    /// Writes what the store refused before, in order: fills first (applying each as it is
    /// stored), then orders, the log and the end of the run. True when nothing is left.
    func flushStorage() -> Bool {
        let wasFailing = storageFailure
        if wasFailing == nil && unsavedFills.isEmpty && unsavedOrders.isEmpty && unsavedEvents.isEmpty && unsavedFinish == nil { return true }
        retryingStorage = wasFailing != nil
        defer { retryingStorage = false }
        storageFailure = nil
        storeFills()
        guard storageFailure == nil else { return false }
        for (clientId, r) in unsavedOrders.sorted(by: { $0.key < $1.key }) {
            do { try store.recordOrder(r); unsavedOrders[clientId] = nil } catch { storageFailed(error); return false }
        }
        let keep = settings["log.keep"].integer ?? 10_000
        while let event = unsavedEvents.first {
            do { _ = try store.appendEvent(event, keep: keep); unsavedEvents.removeFirst() } catch { storageFailed(error); return false }
        }
        if let finish = unsavedFinish, let runId {
            do { try store.finishRun(runId, at: finish.at, state: finish.state); unsavedFinish = nil } catch { storageFailed(error); return false }
        }
        if let wasFailing {
            let lost = droppedEvents > 0 ? "; \(droppedEvents) older log entries of the outage could not be kept" : ""
            droppedEvents = 0
            log(.warning, "storage", "the database accepts writes again (it failed with: \(wasFailing)); everything held in memory is written\(lost)")
        }
        return true
    }

    /// Stores the fills the venue reported, oldest first, applying each one once it is stored.
    /// Stops at the first refusal: that fill and the later ones stay for the next attempt.
    func storeFills() {
        while let t = unsavedFills.first, storageFailure == nil {
            let fresh: Bool
            do {
                fresh = try store.recordFill(FillRecord(instanceId: id, tradeId: Self.fillKey(t), clientId: t.clientId,
                                                       side: t.side.rawValue, price: t.price.description,
                                                       quantity: t.quantity.description, fee: t.fee.description, time: t.time,
                                                       orderId: t.orderId, feeAsset: Units.assets(of: settings.pair)?.quote, maker: t.isMaker,
                                                       mid: lastSnapshot?.book.mid?.description, runId: runId))
            } catch {
                storageFailed(error)
                return
            }
            unsavedFills.removeFirst()
            if fresh { apply(t) }
        }
    }

    static func fillKey(_ t: ExchangeTrade) -> String { "\(t.orderId)#\(t.tradeId)" }

    /// What is waiting to be written, for `status`.
    public var unsavedCounts: (fills: Int, orders: Int, events: Int) { (unsavedFills.count, unsavedOrders.count, unsavedEvents.count) }

    // MARK: Starting and stopping

    /// Starts the run. A run that cannot be recorded does not start: nothing it did could be found again.
    public func start(seedNote: String?) async throws(EngineError) {
        let trap = DecRangeTrap()
        let failure: EngineError? = await Dec.withTrap(trap) { () async -> EngineError? in
            do {
                try await startChecked(seedNote: seedNote)
                return nil
            } catch let e as ExchangeError {
                return EngineError("\(e.message) (MEXC \(e.code))")
            } catch let e as StoreError {
                return EngineError("the database cannot be written (\(e.message)); nothing was placed")
            } catch {
                return EngineError("\(error)")
            }
        }
        if let e = trap.error { throw EngineError("\(e); check the instance's amounts and prices ('preview' shows the numbers)") }
        if let failure { throw failure }
        log(.success, "connection", "started on \(settings.venue) \(settings.pair)\(seedNote.map { " (seed \($0))" } ?? ""); base \(startBase), quote \(startQuote)")
    }

    /// How long start-up reads are retried while the venue fails in passing (5xx, no answer,
    /// 429) before the start gives up.
    public static let startPatience: Duration = .seconds(60)

    /// A start-up read, retried with backoff while the venue's failure is a passing one; each
    /// retry is said in the log (and so above the prompt).
    func patiently<T>(_ what: String, _ body: () async throws(ExchangeError) -> T) async throws(ExchangeError) -> T {
        let deadline = ContinuousClock.now + Self.startPatience
        var delay = Duration.milliseconds(200)
        var attempt = 1
        while true {
            do { return try await body() } catch {
                let passing = error.isOutcomeUnknown || error.code == 429
                guard passing, ContinuousClock.now + delay < deadline else { throw error }
                log(.warning, "connection", "starting: \(what) failed (\(error.message)); trying again in \(delay.components.seconds > 0 ? "\(delay.components.seconds) s" : "\(delay.components.attoseconds / 1_000_000_000_000_000) ms") (attempt \(attempt + 1), for up to \(Self.startPatience.components.seconds) s)")
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
                attempt += 1
            }
        }
    }

    func startChecked(seedNote: String?) async throws {
        let rules = try await patiently("reading the market's rules") { () throws(ExchangeError) in try await exchange.rules() }
        self.rules = rules
        let snapshot = try await patiently("reading the book and balances") { () throws(ExchangeError) in try await exchange.snapshot() }
        lastSnapshot = snapshot
        startBase = snapshot.balances.base.total
        startQuote = snapshot.balances.quote.total
        startedAt = clock.now()
        freshAt = startedAt
        // Orders of earlier runs of this instance that outlived them (a crash, a lost reply) are
        // cancelled, or adopted when `orphans` says so; other orders of the account are never touched.
        try await settleEarlierRuns()
        runId = try store.startRun(instance: id, at: startedAt, base: startBase.description, quote: startQuote.description, seed: seedNote)
        sampler = Sampler(keep: samplesKept())
        answeredAt = startedAt
        carryToday()
        runState = .running
    }

    /// What earlier runs of the instance made or lost today counts against today's loss limit.
    func carryToday() {
        guard riskConfig.dailyLoss != nil, let runId else { return }
        let from = Risk.dayStart(startedAt, timeZone: riskConfig.timeZone)
        do {
            risk.carried = try store.netPnL(instance: id, from: from, excludingRun: runId)
            risk.carriedDay = Risk.day(startedAt, timeZone: riskConfig.timeZone)
            if !risk.carried.isZero { log(.info, "risk", "earlier runs today: net P&L \(risk.carried.rounded(places: 8)) counts against risk.daily_loss") }
        } catch {
            log(.warning, "risk", "cannot read today's earlier runs (\(error.message)); risk.daily_loss counts this run only")
        }
    }

    func settleEarlierRuns() async throws(ExchangeError) {
        let adopt = settings["orphans"].text == "adopt"
        let open = try await patiently("reading the open orders") { () throws(ExchangeError) in try await exchange.openOrders() }
        for o in open where o.clientId.hasPrefix(Self.instancePrefix(id)) && !o.clientId.hasPrefix(prefix) {
            if adopt {
                orders[o.clientId] = TrackedOrder(o, batch: state.batch, level: 0)
                record(o)
                orphans[o.clientId] = nil
                log(.warning, "order", "adopted an order left by an earlier run: \(o.side.rawValue) \(o.remaining) at \(o.price) (\(o.clientId))")
                sendOrphan(o, "adopted an order left by an earlier run: \(o.side.rawValue) \(o.remaining) at \(o.price)")
            } else {
                await cancelOrphan(o)
            }
        }
        // Records still open in our store that the venue no longer lists: learn how they ended.
        let openIds = Set(open.map(\.clientId))
        let recordedOpen: [OrderRecord]
        do { recordedOpen = try store.orders(instance: id, openOnly: true) } catch {
            // Unread, they stay open in the store and are settled at the next start; meanwhile the
            // instance holds its quotes as for any refused write.
            storageFailed(error)
            recordedOpen = []
        }
        for r in recordedOpen where !openIds.contains(r.clientId) {
            if let current = try? await exchange.order(clientId: r.clientId) {
                record(current)
            } else {
                var closed = r
                closed.status = "NOT_FOUND"
                closed.updatedAt = clock.now()
                save(closed)
            }
        }
    }

    /// Cancels every order, confirms each, and ends the run. Returns how many were cancelled.
    @discardableResult
    public func stop(reason: String, state end: RunState = .stopped) async -> Int {
        var cancelled = 0
        for o in orders.values.sorted(by: { $0.clientId < $1.clientId }) where await cancel(o, reason: reason) {
            cancelled += 1
        }
        // Confirmation: the venue's own list must show none of this run's orders. Anything still
        // there (a reply we never got, a cancel that failed) is cancelled and the list asked again.
        var confirmed = false
        for attempt in 0..<6 {
            guard let open = try? await exchange.openOrders() else {
                try? await Task.sleep(for: .milliseconds(100 << attempt))
                continue
            }
            // Every order of this instance, whatever its run: an orphan still resting counts too.
            let ours = open.filter { $0.clientId.hasPrefix(Self.instancePrefix(id)) }
            if ours.isEmpty { confirmed = true; orphans = [:]; break }
            for o in ours {
                if let result = try? await exchange.cancel(clientId: o.clientId) {
                    record(result)
                    orders[o.clientId] = nil
                    orphans[o.clientId] = nil
                    cancelled += 1
                }
            }
        }
        unconfirmedAtStop = confirmed ? 0 : max(orders.count, 1)
        if !confirmed {
            log(.error, "error", "could not confirm that every order is cancelled: the venue does not answer\(contactLost.map { " (\($0))" } ?? ""); check open orders on MEXC (they are reconciled at the next start)")
        }
        // Nothing can fill any more: the venue's own record of fills is read until it answers.
        for attempt in 0..<5 {
            do { try await applyFills(final: true); break } catch {
                if attempt == 4 { log(.error, "error", "could not read the last fills: \(error.message); they are read at the next start") }
                try? await Task.sleep(for: .milliseconds(100 << attempt))
            }
        }
        // Streams closed first: the final balances are then asked of the venue itself (REST), not
        // of a private stream that may not have caught up with the last cancels.
        await exchange.close()
        if let snapshot = try? await exchange.snapshot() { lastSnapshot = snapshot; recordPnL(snapshot) }
        storeSamples(now: clock.now(), force: true)
        for n in await exchange.takeNotes() { log(n.warning ? .warning : .info, "stream", n.text) }
        runState = end
        unsavedFinish = (clock.now(), end.rawValue)
        log(end == .stopped ? .info : .error, "stopped", "stopped (\(reason)); \(cancelled) order\(cancelled == 1 ? "" : "s") cancelled")
        // What the store refused is tried again for a few seconds before the run is let go.
        for attempt in 0..<5 {
            if flushStorage() { break }
            if attempt == 4 {
                let venueKeeps = settings.venue == "sim" ? "the simulated market ended with the run" : "they are read again from MEXC at the next start"
                notify(id, .error, "the database still refuses writes (\(storageFailure ?? "unknown")): \(unsavedFills.count) fill(s), \(unsavedOrders.count) order update(s) and \(unsavedEvents.count) log entries of this run could not be stored; \(venueKeeps)")
            } else {
                try? await Task.sleep(for: .milliseconds(200 << attempt))
            }
        }
        return cancelled
    }

    /// New settings apply at the next decision; those of the venue's connections, keys and
    /// simulated market (`Catalog.timing`) keep their start values until the next start.
    public func update(_ new: Settings, change: String) {
        var merged = new
        for spec in Catalog.specs where spec.applies != .nextDecision { merged.set(spec.key, settings[spec.key]) }
        settings = merged
        config = StrategyConfig(merged)
        let hadDailyLoss = riskConfig.dailyLoss != nil
        riskConfig = RiskConfig(merged)
        log(.info, "settings", change)
        // A daily loss limit set while running counts the day's earlier runs too.
        if !hadDailyLoss { carryToday() }
    }

    // MARK: One cycle

    /// One decision cycle: fills, the market, the strategy, then its orders. Arithmetic that
    /// leaves the exact range fails this instance (its orders cancelled), never the process.
    /// Returns whether the decision asks for another at once: it cancelled orders to make its
    /// ladder anew, which the next decision places. The loops run that one at once rather than
    /// at the next frame: quotes are off the book a round trip, not a frame, after a fill.
    @discardableResult
    public func tick() async -> Bool { await decide().followUp }

    /// A decision cycle, with whether it asks for another at once and the state it left the
    /// instance in (one call for both: a backtest asks at every decision).
    func decide() async -> (followUp: Bool, state: RunState) {
        let trap = DecRangeTrap()
        followUp = false
        await Dec.withTrap(trap) { await tickChecked(trap) }
        if let e = trap.error { await fail(e) }
        return (followUp && (runState == .running || runState == .waiting), runState)
    }

    func fail(_ e: DecRangeError) async {
        log(.error, "error", "\(e): the instance stops; check its amounts and prices ('preview' shows the numbers)")
        // Whatever the broken numbers did to a simulated market, cancelling must not stop the process.
        _ = await Dec.withTrap(DecRangeTrap()) { await stop(reason: "computation out of range", state: .failed) }
    }

    func tickChecked(_ trap: DecRangeTrap) async {
        guard runState == .running || runState == .waiting, let rules else { return }
        cycles += 1
        for n in await exchange.takeNotes() { log(n.warning ? .warning : .info, "stream", n.text) }
        guard flushStorage() else {
            await holdWhileStorageFails()
            return
        }
        if !orphans.isEmpty { await retryOrphans() }
        do {
            if contactLost != nil || !unresolved.isEmpty { try await reconcile() }
            let fillsBefore = fillCount
            try await applyFills()
            let previous = lastSnapshot?.balances
            let snapshot = try await exchange.snapshot()
            lastSnapshot = snapshot
            freshAt = snapshot.time
            answeredAt = clock.now()
            if stale {
                stale = false
                log(.info, "market", "market data is fresh again; quoting resumes")
                // The quotes were cancelled for staleness, not by the strategy: the ladder is made
                // anew at this decision, not when its refresh timer (up to refresh.time) runs out.
                state.createAt = min(state.createAt, snapshot.time)
                state.cancelAt = min(state.cancelAt, snapshot.time)
            }
            if snapshot.throttled != throttled {
                throttled = snapshot.throttled
                log(throttled ? .warning : .info, "throttled",
                    throttled ? "requests are held back by MEXC's rate limits; quotes follow the market more slowly" : "requests flow freely again")
                if throttled { send("throttled", .warning, "MEXC answers 429: requests are held back by its rate limits") }
            }
            if fillCount != fillsBefore, let previous { logBalanceChange(from: previous, to: snapshot.balances) }
            if snapshot.time - lastPnLAt >= Self.pnlEvery { recordPnL(snapshot) }
            let live: [LiveOrder]
            if let cached = liveOrders {
                live = cached
            } else {
                var fresh = orders.values.map(\.live)
                fresh.sort { $0.clientId < $1.clientId }
                liveOrders = fresh
                live = fresh
            }
            let view = MarketView(now: snapshot.time, book: snapshot.book, lastTrade: snapshot.lastTrade,
                                  balances: snapshot.balances, orders: live, rules: rules, trades: tapeBacklog + snapshot.trades)
            tapeBacklog = []
            if !view.trades.isEmpty {
                tape += view.trades
                // Trimmed when twice as long as kept, not at every trade: dropping the head moves the whole tape.
                if tape.count > 2 * Self.tapeKept { tape.removeFirst(tape.count - Self.tapeKept) }
            }
            accountQuoting(live, at: snapshot.time)
            sampler.observe(view.trades)
            sampler.take(now: snapshot.time, run: runId, book: snapshot.book, orders: live, balances: snapshot.balances,
                         startBase: startBase, startQuote: startQuote, quotedMs: quotedMs)
            storeSamples(now: snapshot.time)
            let started = ContinuousClock.now
            // The trace is only logged with a placement, and a placement needs the refresh timer
            // run out: at the other decisions (most of them, at one a book change) it is not
            // built, which took more than the decision itself.
            var d = Strategy.decide(view, state: &state, config: config, explain: !backtest && state.createAt <= snapshot.time)
            guard trap.error == nil else { return }
            let figures = riskFigures(snapshot)
            superviseRisk(&d, figures: figures, live: live)
            let took = ContinuousClock.now - started
            decisionTimer.recordNanoseconds(took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
            guard trap.error == nil else { return }
            try await act(on: d, rules: rules)
        } catch where error.isOutcomeUnknown {
            if contactLost == nil {
                log(.warning, "connection", "lost contact with the venue: \(error.message)")
                send("contact_lost", .warning, "lost contact with MEXC: \(error.message)")
            }
            contactLost = error.message
            await cancelIfStale()
            await superviseWhileSilent()
        } catch {
            log(.error, "error", "\(error)")
            await cancelIfStale()
            await superviseWhileSilent()
        }
    }

    /// Quote uptime: the time since the last cycle counts as quoted when a bid and an ask rest.
    func accountQuoting(_ live: [LiveOrder], at now: Int64) {
        defer { lastCycleAt = now }
        guard let last = lastCycleAt, now > last else { return }
        runMs += now - last
        if live.contains(where: { $0.side == .buy && !$0.cancelling }) && live.contains(where: { $0.side == .sell && !$0.cancelling }) {
            quotedMs += now - last
        }
    }

    // MARK: Risk

    func riskFigures(_ s: MarketSnapshot) -> RiskFigures? {
        guard let mid = s.book.mid else { return nil }
        let baseValue = s.balances.base.total * mid
        let value = baseValue + s.balances.quote.total
        let net = value - (startBase * mid + startQuote)
        let now = clock.now()
        let f = RiskFigures(now: now, netPnL: net, share: value.isPositive ? baseValue.divided(by: value, scale: 12) : nil,
                            target: config.inventoryTarget, marketAge: now - freshAt, venueAge: now - answeredAt)
        lastFigures = f
        return f
    }

    /// The supervisor's word on a decision: its state moved by the figures, then the decision
    /// cut to what the state allows, and the order rate checked before anything is placed.
    func superviseRisk(_ d: inout Decision, figures: RiskFigures?, live: [LiveOrder]) {
        if let figures, let change = Risk.assess(figures, config: riskConfig, state: &risk) { announce(change) }
        let share = figures?.share, target = config.inventoryTarget
        Risk.filter(&d, state: risk, config: riskConfig, live: live, share: share, target: target)
        let placing = (d.place ? d.buys.count + d.sells.count : 0) + d.renewals.count
        if let change = Risk.admit(placing, now: clock.now(), config: riskConfig, state: &risk) {
            announce(change)
            Risk.filter(&d, state: risk, config: riskConfig, live: live, share: share, target: target)
        }
    }

    /// With the venue silent the dead-man's switch still counts: past `risk.deadman` the
    /// instance halts and its orders are cancelled as far as the venue lets them be.
    func superviseWhileSilent() async {
        guard let last = lastFigures else { return }
        let now = clock.now()
        var f = last
        f.now = now
        f.marketAge = now - freshAt
        f.venueAge = now - answeredAt
        if let change = Risk.assess(f, config: riskConfig, state: &risk) { announce(change) }
        guard risk.mode == .halted else { return }
        for o in orders.values.sorted(by: { $0.clientId < $1.clientId }) where !o.cancelling {
            _ = await cancel(o, reason: "halted: \(risk.binding?.message ?? "")")
        }
    }

    /// A change of risk state: in the log (and so above every prompt) and to the webhook. When
    /// the state loosens, the ladder is made anew at the next decision: the strategy's timers
    /// ran on while nothing (or one side only) could be placed.
    func announce(_ change: RiskChange, byHand: Bool = false) {
        func strictness(_ m: RiskMode) -> Int { m == .active ? 0 : m == .reducing ? 1 : 2 }
        if strictness(change.to) < strictness(change.from) {
            let now = clock.now()
            state.createAt = min(state.createAt, now)
            state.cancelAt = min(state.cancelAt, now)
        }
        var figures: [String: String] = ["state": change.to.rawValue, "previous": change.from.rawValue,
                                         "net_pnl": (lastFigures?.netPnL ?? 0).description, "day_pnl": risk.dayPnL.description,
                                         "drawdown": risk.drawdown.description]
        if let share = lastFigures?.share { figures["inventory_share"] = share.description }
        if let b = change.binding { figures["limit"] = b.limit }
        switch change.to {
        case .halted:
            let b = change.binding
            let manual = b?.limit == "pause" || b?.limit == "halt"
            let why = manual ? (b?.message ?? "by hand") : "\(b?.limit ?? ""): \(b?.message ?? "")"
            let after: String
            if b?.limit == RiskBinding.deadman {
                after = " until market data and MEXC's answers are back"
            } else if !manual, riskConfig.resumeAfter != nil {
                after = "; it resumes after risk.resume_after if the limits allow, or with 'resume \(id)'"
            } else {
                after = "; 'resume \(id)' resumes it"
            }
            // A halt by hand is news for the other shells, not an error.
            log(manual ? .warning : .error, "risk", "halted (\(why)); every order is cancelled\(after)")
            send("halted", .error, "instance \(id) '\(name)' halted: \(why)", figures)
        case .reducing:
            log(.warning, "risk", "reducing (\(change.binding?.limit ?? ""): \(change.binding?.message ?? "")); only orders that bring the inventory back to its target")
            send("reducing", .warning, "instance \(id) '\(name)' reducing: \(change.binding?.message ?? "")", figures)
        case .active:
            let what = byHand ? "resumed by hand" : change.lifted.map { $0.limit == RiskBinding.deadman ? "market data and MEXC's answers are back" : "\($0.limit) no longer binds" } ?? "resumed"
            log(.info, "risk", "active again (\(what)); quoting resumes")
            if change.from == .halted { send("resumed", .info, "instance \(id) '\(name)' resumed: \(what)", figures) }
        }
    }

    /// Halts by hand (`pause`, `halt all`): everything is cancelled at once and nothing placed
    /// until `resume`. Returns how many orders were cancelled.
    public func pause(_ binding: RiskBinding) async -> Int {
        if let change = Risk.pause(&risk, binding: binding, at: clock.now()) { announce(change, byHand: true) }
        var n = 0
        for o in orders.values.sorted(by: { $0.clientId < $1.clientId }) where await cancel(o, reason: binding.message) { n += 1 }
        return n
    }

    /// Lifts a halt by hand; refused (nothing changes) while today's loss is at its limit.
    public func resume() throws(EngineError) {
        switch Risk.resume(&risk, figures: lastFigures, config: riskConfig, at: clock.now()) {
        case .success(let change): if let change { announce(change, byHand: true) }
        case .failure(let refusal): throw EngineError("instance \(id) stays halted: \(refusal.message)")
        }
    }

    /// Whether the venue lists none of this instance's orders (any run); nil when it does not answer.
    public func confirmNoOrders() async -> Bool? {
        guard let open = try? await exchange.openOrders() else { return nil }
        let ours = open.filter { $0.clientId.hasPrefix(Self.instancePrefix(id)) }
        for o in ours {
            if let result = try? await exchange.cancel(clientId: o.clientId) {
                record(result)
                orders[o.clientId] = nil
            }
        }
        guard !ours.isEmpty else { return true }
        return (try? await exchange.openOrders()).map { !$0.contains { $0.clientId.hasPrefix(Self.instancePrefix(id)) } }
    }

    /// While the store refuses writes nothing may be placed (it could not be found again after a
    /// crash): the quotes are cancelled, and fills are still collected from the venue so that
    /// they are held in memory, in order, until they can be stored.
    func holdWhileStorageFails() async {
        for o in orders.values.sorted(by: { $0.clientId < $1.clientId }) where !o.cancelling {
            _ = await cancel(o, reason: "the database refuses writes")
        }
        try? await collectFills(final: false)
    }

    /// No fresh book for `market.stale_after`: the quotes are priced on a market that may have
    /// moved, so they are cancelled (as far as the venue answers) until data is fresh again.
    func cancelIfStale() async {
        let limit = Int64(settings["market.stale_after"].duration?.milliseconds ?? 5000)
        let age = clock.now() - freshAt
        guard age > limit else { return }
        if !stale {
            stale = true
            log(.warning, "market", "no fresh market data for \(age / 1000)s; cancelling quotes until it is fresh again")
        }
        for o in orders.values.sorted(by: { $0.clientId < $1.clientId }) where !o.cancelling {
            _ = await cancel(o, reason: "market data stale")
        }
    }

    /// After a loss of contact or a placement without an answer: matches the venue's open
    /// orders to ours by client id. Our orders it no longer lists are asked for by client id;
    /// orders of this run we did not know (a reply that never came) are tracked; orders of
    /// earlier runs are settled as at start; anything without our prefix is left alone.
    func reconcile() async throws(ExchangeError) {
        for clientId in unresolved.sorted() {
            let found = try await exchange.order(clientId: clientId)
            unresolved.remove(clientId)
            guard let found else {
                markNotPlaced(clientId)
                continue
            }
            placing[clientId] = nil
            record(found)
            if found.status.isOpen, orders[clientId] == nil {
                orders[clientId] = TrackedOrder(found, batch: state.batch, level: levels[clientId] ?? 0)
                log(.info, "order", "found \(clientId), placed without an answer: \(found.side.rawValue) \(found.remaining) at \(found.price); tracking it")
            }
        }
        if contactLost != nil {
            let open = try await exchange.openOrders()
            let openIds = Set(open.map(\.clientId))
            for o in orders.values where !openIds.contains(o.clientId) {
                let current = try await exchange.order(clientId: o.clientId)
                if let current { record(current) }
                if current.map({ !$0.status.isOpen }) ?? true { orders[o.clientId] = nil }
            }
            for o in open where o.clientId.hasPrefix(prefix) && orders[o.clientId] == nil {
                orders[o.clientId] = TrackedOrder(o, batch: state.batch, level: levels[o.clientId] ?? 0)
                record(o)
                log(.info, "order", "found \(o.clientId) open after the loss of contact; tracking it")
            }
            if open.contains(where: { $0.clientId.hasPrefix(Self.instancePrefix(id)) && !$0.clientId.hasPrefix(prefix) }) {
                try await settleEarlierRuns()
            }
            log(.info, "connection", "contact restored; \(orders.count) order\(orders.count == 1 ? "" : "s") open after reconciling")
            send("contact_restored", .info, "contact with MEXC restored; \(orders.count) order\(orders.count == 1 ? "" : "s") open after reconciling")
            contactLost = nil
        }
    }

    /// Cancels an order an earlier run left; one that cannot be cancelled now is kept and tried again.
    func cancelOrphan(_ o: ExchangeOrder) async {
        do {
            let cancelled = try await exchange.cancel(clientId: o.clientId)
            record(cancelled)
            orphans[o.clientId] = nil
            log(.warning, "order", "cancelled an order left by an earlier run: \(o.side.rawValue) \(o.remaining) at \(o.price) (\(o.clientId))")
            sendOrphan(o, "cancelled an order left by an earlier run: \(o.side.rawValue) \(o.remaining) at \(o.price)")
        } catch {
            // Gone already (filled or cancelled), or no answer: ask what became of it.
            if let current = try? await exchange.order(clientId: o.clientId), !current.status.isOpen {
                record(current)
                orphans[o.clientId] = nil
                return
            }
            if orphans[o.clientId] == nil {
                log(.warning, "order", "could not cancel an order left by an earlier run (\(error.message)): \(o.side.rawValue) \(o.remaining) at \(o.price) (\(o.clientId)); trying again")
                sendOrphan(o, "an order left by an earlier run is still open and its cancel failed (\(error.message)): \(o.side.rawValue) \(o.remaining) at \(o.price); trying again")
            }
            orphans[o.clientId] = o
        }
    }

    /// Orphans still open: cancelled again each cycle.
    func retryOrphans() async {
        for o in orphans.values.sorted(by: { $0.clientId < $1.clientId }) { await cancelOrphan(o) }
    }

    func markNotPlaced(_ clientId: String) {
        guard var r = placing.removeValue(forKey: clientId) else { return }
        r.status = "NOT_PLACED"
        r.updatedAt = clock.now()
        save(r)
        log(.info, "order", "\(clientId) was never placed (its request got no answer)")
    }

    func act(on d: Decision, rules: MarketRules) async throws(ExchangeError) {
        for event in d.events {
            switch event {
            case .enteredTradingHours: log(.info, "hours", "trading hours begin")
            case .hangingCapped(let count, let reason):
                log(.warning, "hanging", "\(count) hanging order\(count == 1 ? "" : "s") cancelled: \(reason)")
            case .leftTradingHours: log(.info, "hours", "trading hours end; orders cancelled")
            case .stopLoss(let start, let now, let threshold, let againstHolding):
                let basis = againstHolding ? "the value of holding the starting balances, \(start.rounded(places: 2))" : "\(start.rounded(places: 2)) at start"
                let message = "stop loss: value \(now.rounded(places: 2)) fell to \(threshold.rounded(places: 2)) or below (\(basis))"
                log(.error, "stop_loss", message)
                send("stop_loss", .error, "instance \(id) '\(name)' \(message)",
                     ["value": now.description, "threshold": threshold.description, "basis": start.description,
                      "basis_kind": againstHolding ? "holding" : "value"])
            }
        }
        runState = d.waiting ? .waiting : .running
        // Logged when the kind of wait changes, not as a warm-up counts down; trading hours log their own events.
        func kind(_ why: String?) -> String? { why.map { String($0.prefix { $0 != ":" && $0 != "(" }) } }
        if kind(d.waitingFor) != kind(waitingFor) {
            if let why = d.waitingFor, why != "outside trading hours" {
                log(.info, "waiting", why)
            } else if d.waitingFor == nil, let was = waitingFor, was != "outside trading hours" {
                log(.info, "waiting", was.hasPrefix("avellaneda warming up") ? "the estimators have enough data; quoting starts" : "inside the horizon; quoting starts")
            }
        }
        waitingFor = d.waitingFor
        for c in d.cancels {
            if let o = orders[c.clientId], await cancel(o, reason: c.reason) { followUp = followUp || !d.place }
        }
        for o in d.renewals {
            if let tracked = orders[o.clientId], await cancel(tracked, reason: "hanging order renewed") {
                if let new = try await place(ProposedOrder(side: o.side, level: o.level, price: o.price, amount: o.amount),
                                             type: .limitMaker, batch: o.batch) {
                    state.renewed(o.clientId, as: new)
                }
            }
        }
        if d.place {
            log(.info, "decision", "decision: " + d.trace.joined(separator: "; "))
            for o in d.sells + d.buys { _ = try await place(o, type: .limitMaker, batch: state.batch) }
        }
        if let liquidation = d.liquidation {
            _ = try await place(liquidation, type: .immediateOrCancel, batch: state.batch)
            try await applyFills()
        }
        if d.stop {
            await stop(reason: "stop loss", state: .stopped_by_stop_loss)
        }
    }

    /// Places an order; recorded before it is sent, so a crash cannot lose it. Returns its client id.
    func place(_ o: ProposedOrder, type: OrderType, batch: Int) async throws(ExchangeError) -> String? {
        counter += 1
        let clientId = prefix + String(counter, radix: 36)
        let now = clock.now()
        var record = OrderRecord(instanceId: id, clientId: clientId, orderId: nil, side: o.side.rawValue, price: o.price.description,
                                 quantity: o.amount.description, executed: "0", status: "PLACING", level: o.level,
                                 placedAt: now, updatedAt: now)
        // Recorded before it is sent, or not sent at all: an order we could not find again after a
        // crash must never exist.
        guard storageFailure == nil, save(record) else {
            unsavedOrders[clientId] = nil
            return nil
        }
        do {
            let placed = try await exchange.place(OrderRequest(clientId: clientId, side: o.side, type: type, price: o.price, quantity: o.amount))
            record.orderId = placed.orderId
            record.status = placed.status.rawValue
            record.executed = placed.executed.description
            save(record)
            if placed.status.isOpen {
                orders[clientId] = TrackedOrder(clientId: clientId, side: o.side, price: o.price, amount: o.amount,
                                                executed: placed.executed, placedAt: now, batch: batch, level: o.level, cancelling: false)
            }
            log(.info, "placed", "placed \(o.side.rawValue) \(o.amount) at \(o.price) (level \(o.level), \(clientId))")
            return clientId
        } catch where error.isOutcomeUnknown {
            // It may exist: kept as UNKNOWN, looked up by client id at the next cycle.
            record.status = "UNKNOWN"
            save(record)
            placing[clientId] = record
            unresolved.insert(clientId)
            levels[clientId] = o.level
            log(.warning, "order", "placing \(o.side.rawValue) \(o.amount) at \(o.price) got no answer (\(error.message)); looking it up by \(clientId)")
            return nil
        } catch {
            record.status = "REJECTED"
            save(record)
            log(.warning, "rejected", "rejected \(o.side.rawValue) \(o.amount) at \(o.price): \(error.message) (MEXC \(error.code))")
            return nil
        }
    }

    /// Cancels an order and confirms it; true when it was cancelled (not filled first).
    func cancel(_ o: TrackedOrder, reason: String) async -> Bool {
        orders[o.clientId]?.cancelling = true
        do {
            let result = try await exchange.cancel(clientId: o.clientId)
            orders[o.clientId] = nil
            record(result)
            log(.info, "cancelled", "cancelled \(o.side.rawValue) \(o.remaining) at \(o.price): \(reason)")
            return true
        } catch {
            // Unknown to the exchange (it filled or was cancelled already), or no answer. Ask what
            // became of it; while that cannot be known it stays tracked.
            do {
                if let current = try await exchange.order(clientId: o.clientId) {
                    record(current)
                    if !current.status.isOpen { orders[o.clientId] = nil } else { orders[o.clientId]?.cancelling = false }
                } else {
                    orders[o.clientId] = nil
                }
            } catch {
                orders[o.clientId]?.cancelling = false
                if error.isOutcomeUnknown, contactLost == nil {
                    log(.warning, "connection", "lost contact with the venue: \(error.message)")
                    contactLost = error.message
                }
            }
            return false
        }
    }

    func record(_ o: ExchangeOrder) {
        let now = clock.now()
        let tracked = orders[o.clientId]
        save(OrderRecord(instanceId: id, clientId: o.clientId, orderId: o.orderId, side: o.side.rawValue,
                         price: o.price.description, quantity: o.quantity.description,
                         executed: o.executed.description, status: o.status.rawValue,
                         level: tracked?.level ?? levels[o.clientId] ?? 0,
                         placedAt: tracked?.placedAt ?? o.time, updatedAt: now))
    }

    /// Applies each new fill exactly once: the store refuses a trade it has already seen, and a
    /// fill is applied only once it is stored (until then it waits in `unsavedFills`).
    func applyFills(final: Bool = false) async throws(ExchangeError) {
        try await collectFills(final: final)
        storeFills()
    }

    /// Takes the venue's new fills of this instance into `unsavedFills` (each once).
    func collectFills(final: Bool) async throws(ExchangeError) {
        let waiting = Set(unsavedFills.map(Self.fillKey))
        for t in try await (final ? exchange.finalFills() : exchange.newFills())
        where t.clientId.hasPrefix(Self.instancePrefix(id)) && !waiting.contains(Self.fillKey(t)) {
            unsavedFills.append(t)
        }
    }

    /// A stored fill reaches the counts, the strategy and the order it filled.
    func apply(_ t: ExchangeTrade) {
        fillCount += 1
        feesPaid += t.fee
        tally.add(side: t.side, price: t.price, amount: t.quantity, fee: t.fee)
        tradedBase.increment(by: t.quantity.doubleValue)
        tradedQuote.increment(by: (t.quantity * t.price).doubleValue)
        feesCounter.increment(by: t.fee.doubleValue)
        let before = orders.values.map(\.live)
        state.apply(OwnFill(clientId: t.clientId, side: t.side, price: t.price, amount: t.quantity, time: t.time,
                            complete: t.orderFilled), orders: before, config: config)
        if var o = orders[t.clientId] {
            o.executed += t.quantity
            orders[t.clientId] = t.orderFilled ? nil : o
            save(OrderRecord(instanceId: id, clientId: o.clientId, orderId: t.orderId, side: o.side.rawValue,
                             price: o.price.description, quantity: o.amount.description,
                             executed: o.executed.description,
                             status: t.orderFilled ? OrderStatus.filled.rawValue : OrderStatus.partiallyFilled.rawValue,
                             level: o.level, placedAt: o.placedAt, updatedAt: t.time))
        }
        let words = "\(t.orderFilled ? "filled" : "partly filled") \(t.side.rawValue) \(t.quantity) at \(t.price)" + (t.fee.isZero ? "" : ", fee \(t.fee)")
        log(.success, "filled", words)
        send("fills", .success, words, ["side": t.side.rawValue, "price": t.price.description, "amount": t.quantity.description, "fee": t.fee.description])
    }

    func logBalanceChange(from a: Balances, to b: Balances) {
        func delta(_ x: Dec) -> String { x.isNegative ? "\(x)" : "+\(x)" }
        log(.info, "balance", "balances: base \(b.base.total) (\(delta(b.base.total - a.base.total))), quote \(b.quote.total) (\(delta(b.quote.total - a.quote.total)))")
    }

    /// Stores a P&L snapshot: value now against the value of holding the starting balances.
    func recordPnL(_ s: MarketSnapshot) {
        guard let mid = s.book.mid, storageFailure == nil else { return }
        lastPnLAt = s.time
        let value = s.balances.base.total * mid + s.balances.quote.total
        let hold = startBase * mid + startQuote
        do {
            try store.recordPnL(instance: id, time: s.time, mid: mid.description, base: s.balances.base.total.description,
                                quote: s.balances.quote.total.description, value: value.description, hold: hold.description,
                                fees: feesPaid.description, run: runId)
        } catch {
            storageFailed(error)
        }
    }

    /// `option samples.keep`, as stored. A read that fails is said in the log and the default
    /// stands: it only decides how long old samples are kept, and nothing is deleted early
    /// unless a shorter keep was set.
    func samplesKept() -> Int64 {
        let spec = OptionCatalog.specs.first { $0.key == "samples.keep" }!
        var value = spec.defaultValue
        do {
            if let text = try store.options()["samples.keep"] { value = try spec.parse(text) }
        } catch let e as StoreError {
            log(.warning, "store", "cannot read option samples.keep (\(e.message)); market samples are kept for the default \(spec.defaultValue)")
        } catch {
            log(.warning, "store", "option samples.keep as stored is not a duration (\(error)); market samples are kept for the default \(spec.defaultValue)")
        }
        return value.duration?.milliseconds ?? 30 * 86_400_000
    }

    /// Writes the samples taken, every ten seconds (and at stop), and keeps the stored ones
    /// small every ten minutes. Samples the store refuses wait for the next batch (the ledger's
    /// own writes say when the store fails); they never hold the quotes.
    func storeSamples(now: Int64, force: Bool = false) {
        guard storageFailure == nil else { return }
        if force ? !sampler.pending.isEmpty : sampler.flushDue(now) {
            sampler.flushedAt = now
            do {
                try store.recordSamples(instance: id, sampler.pending)
                sampler.pending = []
            } catch {}
        }
        guard !force, sampler.compactDue(now) else { return }
        sampler.compactedAt = now
        do {
            // A few batches a time at most, so that a long-stopped instance catches up in steps.
            for _ in 0..<5 {
                let merged = try store.compactSamples(instance: id, keepSince: now - sampler.keep, rawSince: now - Sampler.rawFor)
                if merged < Store.compactBatch { break }
            }
        } catch {
            log(.warning, "store", "cannot compact the market samples (\(error.message)); they are tried again in ten minutes")
        }
    }

    // MARK: Reports

    /// The instance's state, with the venue's balances as of now.
    public func report() async -> InstanceReport {
        if runState == .running || runState == .waiting {
            let trap = DecRangeTrap()
            let fresh = await Dec.withTrap(trap) { try? await exchange.snapshot() }
            if let fresh, trap.error == nil {
                lastSnapshot = fresh
                tapeBacklog += fresh.trades
            }
        }
        return InstanceReport(id: id, name: name, state: runState, startedAt: startedAt, orders: orders.values.sorted { $0.clientId < $1.clientId },
                       fills: fillCount, snapshot: lastSnapshot, startBase: startBase, startQuote: startQuote,
                       hanging: state.hanging, target: config.inventoryTarget, rules: rules, stale: stale, throttled: throttled, cycles: cycles,
                       storageFailure: storageFailure, unsavedFills: unsavedFills.count, orphans: orphans.count,
                       risk: risk, riskLimits: riskConfig.any, contactLost: contactLost, contactLostAt: contactLostAt,
                       unconfirmedAtStop: unconfirmedAtStop, tally: tally,
                       quoteUptime: runMs > 0 ? Double(quotedMs) / Double(runMs) : nil,
                       waitingFor: waitingFor, strategyState: state, tape: tape.suffix(Self.tapeKept) + tapeBacklog)
    }
}

/// A running instance's state for `status`.
public struct InstanceReport: Sendable, Codable {
    public var id: Int
    public var name: String
    public var state: RunState
    public var startedAt: Int64
    public var orders: [TrackedOrder]
    public var fills: Int
    public var snapshot: MarketSnapshot?
    public var startBase: Dec
    public var startQuote: Dec
    public var hanging: Set<String>
    public var target: Dec
    /// The market's rules as the venue gave them at start.
    public var rules: MarketRules?
    /// Quotes are cancelled: no fresh market data for `market.stale_after`.
    public var stale = false
    /// Requests are being held back by the venue's rate limits.
    public var throttled = false
    /// Decision cycles run so far.
    public var cycles = 0
    /// Why the database refuses writes, while it does (quotes are cancelled meanwhile).
    public var storageFailure: String?
    /// Fills reported by the venue and held in memory until the database takes them.
    public var unsavedFills = 0
    /// Orders of earlier runs still open on the venue, being cancelled.
    public var orphans = 0
    /// The risk supervisor's state, and whether any limit is set.
    public var risk = RiskState()
    public var riskLimits = false
    /// Why the venue does not answer, and since when; what the report shows is as last known then.
    public var contactLost: String?
    public var contactLostAt: Int64?
    /// Orders the last stop could not confirm gone.
    public var unconfirmedAtStop = 0
    /// The run's fills, summed.
    public var tally = FillTally()
    /// Share of the run's time with both a bid and an ask resting.
    public var quoteUptime: Double?
    /// Why the strategy quotes nothing for now (outside trading hours, warming up, outside its horizon).
    public var waitingFor: String?
    /// The strategy's state (its estimators among it): preview of a running instance starts from it.
    public var strategyState: StrategyState?
    /// The market's newest public trades, oldest first.
    public var tape: [TapeTrade] = []
}

/// Fills summed by side: what the P&L of a run needs, kept as fills are applied.
public struct FillTally: Sendable, Equatable, Codable {
    public var count = 0
    public var bought: Dec = 0, boughtValue: Dec = 0
    public var sold: Dec = 0, soldValue: Dec = 0
    public var fees: Dec = 0
    public init() {}

    public mutating func add(side: Side, price: Dec, amount: Dec, fee: Dec) {
        count += 1
        fees += fee
        if side == .buy { bought += amount; boughtValue += amount * price } else { sold += amount; soldValue += amount * price }
    }
}
