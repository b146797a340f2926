import MMCore
import MMEngine
import MMMexc
import MMStorage
import MMStrategy
import MMVault

/// The one API between every command and the engine: instances, settings, options, starting and
/// stopping, reports, the ledger's reads, events, the venue's market, the vault and backtests.
/// The shell's command handlers call this and nothing else of the engine, the store or the vault;
/// renderers turn its typed results into tables, JSON or charts.
///
/// `LocalEngine` is the implementation inside the engine process (and in tests and dry runs).
/// Secrets never come back through it: the engine keeps the unlocked vault, starts live
/// instances with their keys itself and tests keys itself; only the passphrase and new keys go in.
public protocol EngineAPI: Sendable {
    /// The engine's clock (virtual in tests): what "now" is for windows and uptimes.
    var clock: any EngineClock { get }
    /// Several shells share this engine (the service): options may change under a shell.
    var shared: Bool { get }
    /// Warnings and errors of running instances, for every attached shell.
    var notifications: NotificationHub { get }

    // MARK: Instances
    func instances() async throws(APIError) -> [InstanceRecord]
    /// Every instance with what `status` shows of it, in one call (a remote shell makes one
    /// round trip for the table, not four an instance).
    func overview() async throws(APIError) -> [InstanceOverview]
    func instance(_ id: Int) async throws(APIError) -> InstanceRecord?
    /// A new instance, with the lowest free id; `settings` as stored text (a copy's).
    func createInstance(name: String?, limit: Int, settings: [String: String]) async throws(APIError) -> InstanceRecord
    func renameInstance(_ id: Int, to name: String) async throws(APIError)
    /// Deletes the instance with its orders, fills and log; refused while it runs.
    func deleteInstance(_ id: Int) async throws(APIError)

    // MARK: Settings and options
    /// The instance's settings that differ from the defaults, as stored text.
    func storedSettings(_ id: Int) async throws(APIError) -> [String: String]
    /// Stores the changes (nil removes an override) in one transaction; a running instance takes
    /// them at its next decision, and its log says `note`.
    func updateSettings(_ id: Int, _ changes: [String: String?], note: String?) async throws(APIError)
    func options() async throws(APIError) -> [String: String]
    func setOption(_ key: String, _ value: String?) async throws(APIError)

    // MARK: Running instances
    func runningIds() async -> [Int]
    /// The instance runs in this engine (quoting, waiting, or held by a risk state).
    func isRunning(_ id: Int) async -> Bool
    func runState(_ id: Int) async -> RunState?
    /// What a running (or last run in this engine) instance is doing.
    func report(_ id: Int) async -> InstanceReport?
    func riskModes() async -> [Int: RiskMode]
    /// The market's rules as the venue gave them at the instance's start.
    func rules(_ id: Int) async -> MarketRules?
    /// Starts the instance with its stored settings; a live one with its account's keys from the
    /// engine's unlocked vault (`.locked` when it is not unlocked).
    func start(_ id: Int) async throws(APIError)
    /// Stops it: cancels every order and confirms; how many were cancelled, nil if not running.
    func stop(_ id: Int) async -> Int?
    func stopAll(reason: String) async -> [(Int, Int)]
    /// Cancels its orders and holds it (a risk binding); how many were cancelled.
    func pause(_ id: Int, binding: RiskBinding) async -> Int?
    func resume(_ id: Int) async throws(APIError) -> Bool
    /// Whether the venue confirms that none of its orders is open; nil if it does not run.
    func confirmNoOrders(_ id: Int) async -> Bool?
    /// The venue's book now, for an instance that does not run: MEXC's book with the paper
    /// account's balances, or with the account's own (live and `accountBalances`, keys from the
    /// unlocked vault).
    func venueMarket(_ id: Int, accountBalances: Bool) async throws(APIError) -> (MarketSnapshot, MarketRules)

    // MARK: The ledger and the log
    func runs(instance: Int) async throws(APIError) -> [RunRecord]
    func lastRun(instance: Int) async throws(APIError) -> RunRecord?
    func fills(_ query: FillQuery) async throws(APIError) -> [FillRecord]
    /// The fills typed for the ledger (exact decimals, sides, the fee's asset against `baseAsset`).
    func ledgerFills(_ query: FillQuery, baseAsset: String) async throws(APIError) -> [LedgerFill]
    /// The fills summed as the engine reads them, whole and (with `by`) per period at `offset`
    /// seconds from UTC: what the ledger needs of any number of fills, in a few hundred bytes.
    func ledgerTally(_ query: FillQuery, baseAsset: String, by: Ledger.BucketSize?, offset: Int) async throws(APIError) -> LedgerTally
    func samples(_ query: SampleQuery) async throws(APIError) -> [MarketSample]
    func pnlRows(instance: Int, from: Int64, to: Int64, run: Int64?) async throws(APIError)
        -> [(time: Int64, mid: String, base: String, quote: String, value: String, hold: String, fees: String)]
    func pnlSnapshots(instance: Int, run: Int64?) async throws(APIError) -> [(time: Int64, value: String, hold: String)]
    func lastMid(instance: Int) async throws(APIError) -> (time: Int64, mid: String)?
    func events(_ query: EventQuery) async throws(APIError) -> [EventRecord]
    func clearEvents(instance: Int) async throws(APIError) -> Int
    /// Adds an entry to an instance's log (and to the stream of entries).
    func logEvent(instance: Int, level: EventLevel, kind: String, message: String) async
    /// Every instance's log entries as they happen, from now on, until `endFollowing`.
    func followEvents() async -> (id: UInt64, events: AsyncStream<EventRecord>)
    func endFollowing(_ id: UInt64)

    // MARK: After a crash
    /// Closes the runs a killed engine left open and says so in their logs; their instances.
    func closeInterruptedRuns() async -> [Int]

    // MARK: The vault
    func vaultStatus() async throws(APIError) -> VaultStatus
    func unlockVault(passphrase: String) async throws(APIError)
    func lockVault() async
    func keyAccounts() async throws(APIError) -> [VaultEntrySummary]
    func hasKeys(account: String) async throws(APIError) -> Bool
    func storeKeys(account: String, _ credentials: Credentials) async throws(APIError)
    func deleteKeys(account: String) async throws(APIError)
    func changePassphrase(to new: String) async throws(APIError)
    /// Decrypts the account's keys and asks MEXC at `url` for the account with a signed request.
    func testKeys(account: String, url: String) async throws(APIError) -> KeyTest

    /// Runs every plan (one combination of a sweep each) over its recording, `jobs` at a time,
    /// storing none; each outcome in the order of `plans`. `done` hears how many have finished;
    /// once `cancelled`, no more start and those running end early (marked partial).
    func sweep(_ plans: [BacktestPlan], jobs: Int, done: @escaping @Sendable (Int) -> Void,
               cancelled: @escaping @Sendable () -> Bool) async -> [SweepOutcome]

    // MARK: Recordings
    /// Starts recording a pair's market in the engine, in the background: the file is made and
    /// the pair's rules are written before this returns.
    func startRecording(_ plan: RecordingPlan) async throws(APIError) -> RecordingStatus
    func recordings() async -> [RecordingStatus]
    /// Stops a recording and closes its file; nil when there is no such recording.
    func stopRecording(_ id: Int) async -> RecordingStatus?

    // MARK: Backtests
    /// Runs a backtest in the engine and stores it as a run of the instance.
    func backtest(_ plan: BacktestPlan, progress: @escaping @Sendable (Double) -> Void,
                  cancelled: @escaping @Sendable () -> Bool) async throws(APIError) -> BacktestResult
}

/// An instance's fills from `since` to `until` (ms, inclusive), oldest first: the newest `limit`
/// of them; of one run only, or (nil) of every run but backtests.
public struct FillQuery: Sendable, Equatable, Codable {
    public var instance: Int
    public var since: Int64 = 0
    public var until: Int64 = Int64.max
    public var limit: Int = Int.max
    public var run: Int64?
    public init(instance: Int, since: Int64 = 0, until: Int64 = Int64.max, limit: Int = Int.max, run: Int64? = nil) {
        self.instance = instance; self.since = since; self.until = until; self.limit = limit; self.run = run
    }
}

/// An instance's market samples from `from` to `to` (ms), one per `every` ms at most (thinned
/// in the store), the newest `limit`; of one run, or of every run but backtests.
public struct SampleQuery: Sendable, Equatable, Codable {
    public var instance: Int
    public var from: Int64
    public var to: Int64
    public var every: Int64?
    public var limit: Int = Int.max
    public var run: Int64?
    public init(instance: Int, from: Int64, to: Int64, every: Int64? = nil, limit: Int = Int.max, run: Int64? = nil) {
        self.instance = instance; self.from = from; self.to = to; self.every = every; self.limit = limit; self.run = run
    }
}

/// An instance's log entries: the newest `limit`, of these levels (nil: all), from `since` (ms).
public struct EventQuery: Sendable, Equatable, Codable {
    public var instance: Int
    public var limit: Int = Int.max
    public var levels: [String]?
    public var since: Int64 = 0
    public init(instance: Int, limit: Int = Int.max, levels: [String]? = nil, since: Int64 = 0) {
        self.instance = instance; self.limit = limit; self.levels = levels; self.since = since
    }
}

/// One combination of a sweep: what it made, or why it could not run.
public struct SweepOutcome: Sendable, Codable {
    public var result: BacktestResult?
    public var error: String?
    public init(result: BacktestResult?, error: String?) { self.result = result; self.error = error }
}

/// Whether a vault exists in the data directory, and whether the engine holds it unlocked.
public struct VaultStatus: Sendable, Equatable, Codable {
    public var exists: Bool
    public var unlocked: Bool
    public init(exists: Bool, unlocked: Bool) { self.exists = exists; self.unlocked = unlocked }
}

/// What MEXC said of an account's keys.
public struct KeyTest: Sendable, Equatable, Codable {
    public var canTrade: Bool?
    /// Assets with a positive free or locked balance.
    public var assetsHeld: [String]
    /// MEXC's clock less ours, ms.
    public var clockOffset: Int64
    public init(canTrade: Bool?, assetsHeld: [String], clockOffset: Int64) {
        self.canTrade = canTrade; self.assetsHeld = assetsHeld; self.clockOffset = clockOffset
    }
}

extension EngineAPI {
    public func fills(instance: Int, since: Int64 = 0, until: Int64 = Int64.max, limit: Int = Int.max, run: Int64? = nil) async throws(APIError) -> [FillRecord] {
        try await fills(FillQuery(instance: instance, since: since, until: until, limit: limit, run: run))
    }
    public func ledgerFills(instance: Int, since: Int64 = 0, until: Int64 = Int64.max, baseAsset: String, run: Int64? = nil) async throws(APIError) -> [LedgerFill] {
        try await ledgerFills(FillQuery(instance: instance, since: since, until: until, run: run), baseAsset: baseAsset)
    }
    public func samples(instance: Int, from: Int64, to: Int64, every: Int64? = nil, limit: Int = Int.max, run: Int64? = nil) async throws(APIError) -> [MarketSample] {
        try await samples(SampleQuery(instance: instance, from: from, to: to, every: every, limit: limit, run: run))
    }
    public func events(instance: Int, limit: Int = Int.max, levels: [String]? = nil, since: Int64 = 0) async throws(APIError) -> [EventRecord] {
        try await events(EventQuery(instance: instance, limit: limit, levels: levels, since: since))
    }
    public func runningCount() async -> Int { await runningIds().count }

    public func overview() async throws(APIError) -> [InstanceOverview] {
        var rows: [InstanceOverview] = []
        for r in try await instances() {
            rows.append(InstanceOverview(record: r, storedSettings: try await storedSettings(r.id), running: await isRunning(r.id),
                                         report: await report(r.id), lastRun: try await lastRun(instance: r.id)))
        }
        return rows
    }

    /// An instance's settings parsed from what is stored; what this version cannot read keeps its
    /// default, and is named in `problems`.
    public func settings(of id: Int) async throws(APIError) -> (settings: Settings, problems: [String]) {
        Settings.stored(try await storedSettings(id), instance: id)
    }
}

/// An instance as `status` shows it: its record, its stored settings, whether it runs in the
/// engine, what it is doing, and its last run.
public struct InstanceOverview: Sendable, Codable {
    public var record: InstanceRecord
    public var storedSettings: [String: String]
    public var running: Bool
    public var report: InstanceReport?
    public var lastRun: RunRecord?
}
