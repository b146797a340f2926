import Foundation
import MMCore
import MMEngine
import MMMexc
import MMStorage
import MMStrategy
import MMVault

/// The engine API inside the engine's process: the store, the running instances, the vault (its
/// unlocked key too) and the fan-out of instance warnings. Every shell of one engine shares one;
/// tests and dry runs make their own.
public final class LocalEngine: EngineAPI {
    public let store: Store
    public let manager: InstanceManager
    public let vault: Vault?
    public let notifications: NotificationHub
    /// Recordings of markets, in the background.
    public let recorders = Recorders()
    public let shared: Bool
    public var clock: any EngineClock { manager.clock }
    /// Where `set record on` writes its recordings (nil: nowhere; the instance says so).
    public let recordingsDirectory: URL?
    /// Hears each change of a stored option (the engine's TCP listener follows `api.listen`).
    public let optionChanged: AsyncStream<Void>
    private let optionChange: AsyncStream<Void>.Continuation

    public init(store: Store, clock: any EngineClock = WallClock(), vault: Vault? = nil, shared: Bool = false,
                recordingsDirectory: URL? = nil) {
        self.store = store
        self.recordingsDirectory = recordingsDirectory
        self.vault = vault
        self.shared = shared
        (optionChanged, optionChange) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let hub = NotificationHub()
        notifications = hub
        manager = InstanceManager(store: store, clock: clock) { id, level, message in
            hub.publish("[\(id)] \(level.rawValue): \(message)")
        }
    }

    /// A store call with its error as the API's.
    func stored<T>(_ body: () throws(StoreError) -> T) throws(APIError) -> T {
        do { return try body() } catch { throw .failure(error.message) }
    }

    func vaultCall<T>(_ body: (Vault) throws(VaultError) -> T) throws(APIError) -> T {
        guard let vault else { throw .failure("there is no vault in this session") }
        do { return try body(vault) } catch { throw .failure(error.message) }
    }

    func record(_ id: Int) throws(APIError) -> InstanceRecord {
        guard let r = try stored({ () throws(StoreError) in try store.instance(id) }) else {
            throw .notFound("there is no instance \(id); 'list' shows them")
        }
        return r
    }

    // MARK: Instances

    public func instances() async throws(APIError) -> [InstanceRecord] { try stored { () throws(StoreError) in try store.instances() } }
    public func instance(_ id: Int) async throws(APIError) -> InstanceRecord? { try stored { () throws(StoreError) in try store.instance(id) } }

    public func createInstance(name: String?, limit: Int, settings: [String: String]) async throws(APIError) -> InstanceRecord {
        let settings = try Self.checked(settings, over: [:], instance: 0).compactMapValues { $0 }
        return try stored { () throws(StoreError) in try store.createInstance(name: name, limit: limit, settings: settings) }
    }

    public func renameInstance(_ id: Int, to name: String) async throws(APIError) {
        try stored { () throws(StoreError) in try store.rename(id, to: name) }
    }

    public func deleteInstance(_ id: Int) async throws(APIError) {
        let r = try record(id)
        if await manager.isRunning(id) { throw .conflict("instance \(r.id) '\(r.name)' is running; 'stop \(r.id)' first") }
        try stored { () throws(StoreError) in try store.deleteInstance(id) }
        await manager.forget(id)
    }

    // MARK: Settings and options

    public func storedSettings(_ id: Int) async throws(APIError) -> [String: String] {
        _ = try record(id)
        return try stored { () throws(StoreError) in try store.settings(id) }
    }

    public func updateSettings(_ id: Int, _ changes: [String: String?], note: String?) async throws(APIError) {
        _ = try record(id)
        let current = try stored { () throws(StoreError) in try store.settings(id) }
        let changes = try Self.checked(changes, over: current, instance: id)
        try stored { () throws(StoreError) in try store.updateSettings(id, changes) }
        if let note, await manager.isRunning(id) {
            let settings = Settings.stored(try stored { () throws(StoreError) in try store.settings(id) }, instance: id).settings
            await manager.update(id, settings: settings, change: note)
        }
    }

    public func options() async throws(APIError) -> [String: String] { try stored { () throws(StoreError) in try store.options() } }
    public func setOption(_ key: String, _ value: String?) async throws(APIError) {
        var value = value
        // Keys with a leading underscore are the shells' own (the current instance, the greeting).
        if !key.hasPrefix("_") {
            do {
                let spec = try OptionCatalog.lookup(key)
                value = try value.map { text throws(SettingError) in spec.render(try spec.parse(text)) }
            } catch { throw .usage(error.message) }
        }
        try stored { () throws(StoreError) in try store.setOption(key, value) }
        optionChange.yield()
    }

    /// Changes as the shell would make them, whoever sends them: each key known, each value
    /// valid (stored in its normal form), the instance's settings consistent afterwards. A
    /// refusal changes nothing.
    static func checked(_ changes: [String: String?], over current: [String: String], instance id: Int) throws(APIError) -> [String: String?] {
        var settings = Settings.stored(current, instance: id).settings
        var out: [String: String?] = [:]
        for (key, text) in changes.sorted(by: { $0.key < $1.key }) {
            guard let spec = Catalog.spec(key) else { throw .usage("unknown setting '\(key)'; 'settings' lists them all") }
            guard let text else {
                settings.reset(key)
                out.updateValue(nil, forKey: key)
                continue
            }
            do {
                let value = try spec.parse(text)
                settings.set(key, value)
                out.updateValue(spec.render(value), forKey: key)
            } catch { throw .usage(error.message) }
        }
        do { try settings.validate() } catch { throw .usage(error.message) }
        return out
    }

    // MARK: Running instances

    public func runningIds() async -> [Int] { await manager.runningIds }
    public func isRunning(_ id: Int) async -> Bool { await manager.isRunning(id) }
    public func runState(_ id: Int) async -> RunState? { await manager.runState(id) }
    public func report(_ id: Int) async -> InstanceReport? { await manager.report(id) }
    public func riskModes() async -> [Int: RiskMode] { await manager.riskModes() }
    public func rules(_ id: Int) async -> MarketRules? { await manager.rules(id) }

    public func start(_ id: Int) async throws(APIError) {
        let r = try record(id)
        if await manager.isRunning(id) { throw .conflict("instance \(r.id) '\(r.name)' is running already") }
        let settings = try await self.settings(of: id).settings
        let credentials = settings.venue == "live" ? try credentials(account: settings["account"].text!) : nil
        do { try await manager.start(id: id, name: r.name, settings: settings, credentials: credentials) } catch { throw .failure(error.message) }
        if settings["record"].bool == true { await recordMarket(of: id, settings: settings) }
    }

    /// `set record on`: the running instance's market recorded beside it, until it stops. A
    /// recording that cannot start is said in the instance's log; the instance runs on.
    func recordMarket(of id: Int, settings: Settings) async {
        guard settings.venue != "sim" else {
            await logEvent(instance: id, level: .warning, kind: "record",
                           message: "record on: the sim venue's market is not MEXC's and is not recorded; 'mmsh sim record' writes one")
            return
        }
        guard let folder = recordingsDirectory else {
            await logEvent(instance: id, level: .warning, kind: "record", message: "record on: this engine has no folder for recordings")
            return
        }
        let stamp = TimeText.fileStamp(Int64(Date().timeIntervalSince1970 * 1000))
        let path = folder.appendingPathComponent("\(settings.pair.lowercased())-\(id)-\(stamp).mmrec").path
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let s = try await recorders.start(RecordingPlan(pair: settings.pair, path: path, duration: nil, depth: "100ms",
                                                            restURL: settings["mexc.rest_url"].text!, wsURL: settings["mexc.ws_url"].text!,
                                                            replace: false, instance: id))
            await logEvent(instance: id, level: .info, kind: "record", message: "recording its market to \(s.path) (recording \(s.id))")
            // An instance that ends by itself (a stop loss, a failure) ends its recording too.
            Task { [manager, recorders] in
                while await manager.isRunning(id) { try? await Task.sleep(for: .seconds(1)) }
                _ = await recorders.stop(instance: id)
            }
        } catch {
            await logEvent(instance: id, level: .warning, kind: "record", message: "record on: could not record its market: \((error as? EngineError)?.message ?? "\(error)")")
        }
    }

    /// An account's keys from the unlocked vault; they stay in this process.
    func credentials(account: String) throws(APIError) -> APICredentials {
        guard let vault else { throw .failure("there is no vault in this session") }
        guard vault.isUnlocked else { throw APIError(.locked, "the vault is locked; its passphrase unlocks it") }
        do {
            let c = try vault.credentials(account: account)
            return APICredentials(key: c.apiKey, secret: c.secret)
        } catch { throw .failure(error.message) }
    }

    public func stop(_ id: Int) async -> Int? {
        let n = await manager.stop(id)
        _ = await recorders.stop(instance: id)
        return n
    }

    public func stopAll(reason: String) async -> [(Int, Int)] {
        let stopped = await manager.stopAll(reason: reason)
        for (id, _) in stopped { _ = await recorders.stop(instance: id) }
        return stopped
    }
    public func pause(_ id: Int, binding: RiskBinding) async -> Int? { await manager.pause(id, binding: binding) }
    public func resume(_ id: Int) async throws(APIError) -> Bool {
        do { return try await manager.resume(id) } catch { throw .failure(error.message) }
    }
    public func confirmNoOrders(_ id: Int) async -> Bool? { await manager.confirmNoOrders(id) }

    public func venueMarket(_ id: Int, accountBalances: Bool) async throws(APIError) -> (MarketSnapshot, MarketRules) {
        let settings = try await self.settings(of: id).settings
        do {
            if settings.venue == "live" && accountBalances {
                return try await manager.liveMarket(id: id, settings: settings, credentials: try credentials(account: settings["account"].text!))
            }
            return try await manager.paperMarket(settings: settings)
        } catch let e as APIError {
            throw e
        } catch {
            throw .failure((error as? EngineError)?.message ?? "\(error)")
        }
    }

    // MARK: The ledger and the log

    public func runs(instance: Int) async throws(APIError) -> [RunRecord] { try stored { () throws(StoreError) in try store.runs(instance: instance) } }
    public func lastRun(instance: Int) async throws(APIError) -> RunRecord? {
        try stored { () throws(StoreError) in try store.lastRun(instance: instance) }
    }

    public func fills(_ q: FillQuery) async throws(APIError) -> [FillRecord] {
        try stored { () throws(StoreError) in try store.fills(instance: q.instance, since: q.since, until: q.until, limit: q.limit, run: q.run) }
    }

    public func ledgerFills(_ q: FillQuery, baseAsset: String) async throws(APIError) -> [LedgerFill] {
        try stored { () throws(StoreError) in
            let fills = try store.ledgerFills(instance: q.instance, since: q.since, until: q.until, baseAsset: baseAsset, run: q.run)
            return fills.count > q.limit ? Array(fills.suffix(q.limit)) : fills
        }
    }

    public func ledgerTally(_ q: FillQuery, baseAsset: String, by: Ledger.BucketSize?, offset: Int) async throws(APIError) -> LedgerTally {
        try stored { () throws(StoreError) in
            try store.ledgerTally(instance: q.instance, since: q.since, until: q.until, baseAsset: baseAsset, run: q.run, by: by, offset: offset)
        }
    }

    public func samples(_ q: SampleQuery) async throws(APIError) -> [MarketSample] {
        try stored { () throws(StoreError) in try store.samples(instance: q.instance, from: q.from, to: q.to, every: q.every, limit: q.limit, run: q.run) }
    }

    public func pnlRows(instance: Int, from: Int64, to: Int64, run: Int64?) async throws(APIError)
        -> [(time: Int64, mid: String, base: String, quote: String, value: String, hold: String, fees: String)] {
        try stored { () throws(StoreError) in try store.pnlRows(instance: instance, from: from, to: to, run: run) }
    }

    public func pnlSnapshots(instance: Int, run: Int64?) async throws(APIError) -> [(time: Int64, value: String, hold: String)] {
        try stored { () throws(StoreError) in try store.pnlSnapshots(instance: instance, run: run) }
    }

    public func lastMid(instance: Int) async throws(APIError) -> (time: Int64, mid: String)? {
        try stored { () throws(StoreError) in try store.lastMid(instance: instance) }
    }

    public func events(_ q: EventQuery) async throws(APIError) -> [EventRecord] {
        try stored { () throws(StoreError) in try store.events(instance: q.instance, limit: q.limit, levels: q.levels, since: q.since) }
    }

    public func clearEvents(instance: Int) async throws(APIError) -> Int {
        try stored { () throws(StoreError) in try store.clearEvents(instance: instance) }
    }

    public func logEvent(instance: Int, level: EventLevel, kind: String, message: String) async {
        let entry = EventRecord(instanceId: instance, time: Int64(Date().timeIntervalSince1970 * 1000), level: level.rawValue, kind: kind, message: message)
        _ = try? store.appendEvent(entry, keep: 10_000)
        manager.events.publish(entry)
    }

    public func followEvents() -> (id: UInt64, events: AsyncStream<EventRecord>) { manager.events.subscribe() }
    public func endFollowing(_ id: UInt64) { manager.events.end(id) }

    // MARK: After a crash

    /// Runs that a killed engine left open are closed and said so in their logs, in the words
    /// that fit their venue: a simulated market ended with the process, MEXC's did not.
    public func closeInterruptedRuns() async -> [Int] {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let ids = (try? store.closeInterruptedRuns(at: now)) ?? []
        for id in ids {
            let venue = Settings.stored((try? store.settings(id)) ?? [:], instance: id).settings.venue
            let message = venue == "sim"
                ? "the last run ended without stopping (mmsh was killed); its simulated market ended with it"
                : "the last run ended without stopping (mmsh was killed); its orders may still be open on MEXC: they are cancelled (or adopted, with 'orphans adopt') at the next start"
            _ = try? store.appendEvent(EventRecord(instanceId: id, time: now, level: "warning", kind: "connection", message: message), keep: 10_000)
        }
        return ids
    }

    // MARK: The vault

    public func vaultStatus() async throws(APIError) -> VaultStatus {
        guard let vault else { throw .failure("there is no vault in this session") }
        return VaultStatus(exists: vault.exists, unlocked: vault.isUnlocked)
    }

    public func unlockVault(passphrase: String) async throws(APIError) {
        try vaultCall { (v) throws(VaultError) in try v.unlock(passphrase: passphrase) }
    }

    public func lockVault() async { vault?.lockVault() }

    public func keyAccounts() async throws(APIError) -> [VaultEntrySummary] {
        try vaultCall { (v) throws(VaultError) in try v.list() }
    }

    public func hasKeys(account: String) async throws(APIError) -> Bool {
        try vaultCall { (v) throws(VaultError) in try v.contains(account: account) }
    }

    public func storeKeys(account: String, _ credentials: Credentials) async throws(APIError) {
        try vaultCall { (v) throws(VaultError) in try v.set(account: account, credentials) }
    }

    public func deleteKeys(account: String) async throws(APIError) {
        try vaultCall { (v) throws(VaultError) in try v.delete(account: account) }
    }

    public func changePassphrase(to new: String) async throws(APIError) {
        try vaultCall { (v) throws(VaultError) in try v.changePassphrase(to: new) }
    }

    public func testKeys(account: String, url: String) async throws(APIError) -> KeyTest {
        let client = MEXCClient(baseURL: url, credentials: try credentials(account: account))
        let info: AccountInfo
        do { info = try await client.account() } catch {
            throw .failure("the keys of account '\(account)' decrypt, but \(url) refused them: \(error)")
        }
        let held = info.balances.filter { (Dec($0.free.text) ?? 0).isPositive || (Dec($0.locked.text) ?? 0).isPositive }.map(\.asset)
        return KeyTest(canTrade: info.canTrade, assetsHeld: held, clockOffset: await client.timeOffset)
    }

    public func sweep(_ plans: [BacktestPlan], jobs: Int, done: @escaping @Sendable (Int) -> Void,
                      cancelled: @escaping @Sendable () -> Bool) async -> [SweepOutcome] {
        var outcomes = [SweepOutcome](repeating: SweepOutcome(result: nil, error: "not run (interrupted)"), count: plans.count)
        // The jobs share one recording: its replay form is built once, here (a failure is each job's to report).
        if let data = plans.first?.data { _ = try? Backtest.prepareData(data) }
        // No nested function here: one that captured the group and the counter, as this loop
        // once had, was compiled by Swift 6.3.1 in release builds into an index out of range
        // (the engine crashed at the first sweep; debug builds ran it).
        await withTaskGroup(of: (Int, SweepOutcome).self) { group in
            var next = 0
            while next < min(max(1, jobs), plans.count) {
                let i = next, plan = plans[i]
                next += 1
                group.addTask { await Self.sweepJob(i, plan, cancelled: cancelled) }
            }
            var finished = 0
            while let (i, outcome) = await group.next() {
                outcomes[i] = outcome
                finished += 1
                done(finished)
                if next < plans.count && !cancelled() {
                    let j = next, plan = plans[j]
                    next += 1
                    group.addTask { await Self.sweepJob(j, plan, cancelled: cancelled) }
                }
            }
        }
        return outcomes
    }

    /// One combination of a sweep: its backtest, stored nowhere, or why it failed.
    static func sweepJob(_ i: Int, _ plan: BacktestPlan, cancelled: @escaping @Sendable () -> Bool) async -> (Int, SweepOutcome) {
        do { return (i, SweepOutcome(result: try await Backtest.run(plan, into: nil, cancelled: cancelled), error: nil)) } catch {
            return (i, SweepOutcome(result: nil, error: (error as? EngineError)?.message ?? "\(error)"))
        }
    }

    // MARK: Recordings

    public func startRecording(_ plan: RecordingPlan) async throws(APIError) -> RecordingStatus {
        do { return try await recorders.start(plan) } catch { throw .failure(error.message) }
    }

    public func recordings() async -> [RecordingStatus] { await recorders.list() }
    public func stopRecording(_ id: Int) async -> RecordingStatus? { await recorders.stop(id) }

    // MARK: Backtests

    public func backtest(_ plan: BacktestPlan, progress: @escaping @Sendable (Double) -> Void,
                         cancelled: @escaping @Sendable () -> Bool) async throws(APIError) -> BacktestResult {
        do { return try await Backtest.run(plan, into: store, progress: progress, cancelled: cancelled) } catch {
            throw .failure((error as? EngineError)?.message ?? "\(error)")
        }
    }
}
