import Foundation
import MMControl
import MMCore
import MMEngine
import MMStorage
import MMStrategy
import MMVault
import Synchronization

/// The engine API over the engine's Unix socket (`EngineWire`): what a shell in another process
/// calls. Each call is one HTTP/1.1 request made with blocking POSIX calls on a thread of its
/// own, never on the threads Swift's tasks share (an engine in the same process, as in tests,
/// needs those to answer).
///
/// Calls that cannot fail in the protocol (`isRunning`, `report`…) answer as for an engine that
/// runs nothing when the engine cannot be reached; the next call that can fail says why.
public final class RemoteEngine: EngineAPI {
    public let socket: String
    public let clock: any EngineClock
    public let shared: Bool
    /// Instance warnings, as the engine sends them on the notifications stream.
    public let notifications = NotificationHub()
    /// The streams this client holds open, to end them from elsewhere.
    private let held = Held()

    final class Held: Sendable {
        let follows = Mutex<[UInt64: Connection]>([:])
        let nextFollow = Mutex<UInt64>(0)
        let notifications = Mutex<Connection?>(nil)
    }

    static let io = DispatchQueue(label: "mmsh.engine-calls", qos: .userInitiated, attributes: .concurrent)

    /// A connection another thread may end.
    final class Connection: @unchecked Sendable {
        let socket: SocketConnection
        private let ended = Mutex(false)
        init(_ socket: SocketConnection) { self.socket = socket }
        func abort() { ended.withLock { $0 = true }; socket.abort() }
        var isEnded: Bool { ended.withLock { $0 } }
    }

    public init(socket: String, clock: any EngineClock = WallClock(), shared: Bool = true, notify: Bool = true) {
        self.socket = socket
        self.clock = clock
        self.shared = shared
        if notify { listen() }
    }

    deinit { close() }

    /// Ends the streams this client holds open (following, notifications).
    public func close() {
        held.notifications.withLock { $0 }?.abort()
        for c in held.follows.withLock({ Array($0.values) }) { c.abort() }
    }

    // MARK: Transport

    func encode<each A: Encodable>(_ name: String, _ args: repeat each A) throws(APIError) -> Data {
        do { return try EngineWire.encoder().encode(ArgumentList(values: (repeat each args))) } catch {
            throw .failure("\(name): the call's arguments could not be written: \(error)")
        }
    }

    struct In<T: Decodable>: Decodable { var result: T }

    /// A call and its result.
    func call<R: Decodable, each A: Encodable>(_ name: String, _ args: repeat each A) async throws(APIError) -> R {
        let body = try encode(name, repeat each args)
        let data = try await send(name, body)
        do { return try EngineWire.decoder().decode(In<R>.self, from: data).result } catch {
            throw .failure("the engine's answer to \(name) could not be read (\(error)); is it another version of mmsh?")
        }
    }

    /// A call that answers nothing.
    func perform<each A: Encodable>(_ name: String, _ args: repeat each A) async throws(APIError) {
        _ = try await send(name, try encode(name, repeat each args))
    }

    func send(_ name: String, _ body: Data) async throws(APIError) -> Data {
        let socket = self.socket
        let result: Result<Data, APIError> = await withCheckedContinuation { c in
            Self.io.async { c.resume(returning: Self.request(socket: socket, name: name, body: body)) }
        }
        return try result.get()
    }

    static func request(socket: String, name: String, body: Data) -> Result<Data, APIError> {
        do {
            let answer = try ControlHTTP.request(socket: socket, method: "POST", path: EngineWire.pathPrefix + name,
                                                 body: String(decoding: body, as: UTF8.self))
            if answer.status == 200 { return .success(Data(answer.body.utf8)) }
            return .failure(error(status: answer.status, body: Data(answer.body.utf8)))
        } catch {
            return .failure(.failure("cannot reach the engine: \(error.message)"))
        }
    }

    static func error(status: Int, body: Data) -> APIError {
        if let e = try? EngineWire.decoder().decode(EngineWire.ErrorBody.self, from: body) { return e.apiError }
        // Not the API's own error body: the server's (an old engine, a refusal before routing).
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return .failure("the engine answered HTTP \(status)\(text.isEmpty ? "" : ": \(text.prefix(200))")")
    }

    /// A streamed call: each line to `line` as it comes, on the I/O thread; the connection to
    /// `opened` (to end it from elsewhere). Returns the final line's data, or the error.
    static func stream(socket: String, name: String, body: Data, ticket: String? = nil,
                       opened: (Connection) -> Void = { _ in }, heard: () -> Void = {}, line: (Data) -> Void) -> Result<Data, APIError> {
        do throws(ControlError) {
            let connection = Connection(try SocketConnection(path: socket))
            opened(connection)
            let target = EngineWire.pathPrefix + name + (ticket.map { "?ticket=\($0)" } ?? "")
            let request = "POST \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
            try connection.socket.write(Array(request.utf8) + Array(body))
            let head = ControlHTTP.Head(try connection.socket.readHead())
            let status = head.status, length = head.contentLength
            if status != 200 {
                let bytes = if let length { try connection.socket.read(exactly: length) } else { try connection.socket.readToEnd() }
                return .failure(error(status: status, body: Data(bytes)))
            }
            // The engine answers the head once the call has begun (a follow listens already).
            heard()
            var pending: [UInt8] = []
            var final: Data?
            func take(_ bytes: [UInt8]) {
                pending += bytes
                while let end = pending.firstIndex(of: 10) {
                    let text = Data(pending[..<end])
                    pending.removeFirst(end + 1)
                    if text.isEmpty || text == Data("{}".utf8) { continue }
                    if text.starts(with: Data("{\"result\"".utf8)) || text.starts(with: Data("{\"error\"".utf8)) { final = text } else { line(text) }
                }
            }
            if let length {
                take(try connection.socket.read(exactly: length))
            } else {
                while final == nil {
                    let sizeLine = try connection.socket.readLine()
                    guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else { break }
                    if size == 0 { break }
                    take(try connection.socket.read(exactly: size))
                    _ = try connection.socket.readLine()
                }
            }
            guard let final else {
                return .failure(.failure(connection.isEnded ? "\(name): ended" : "the engine ended \(name) before answering"))
            }
            if final.starts(with: Data("{\"error\"".utf8)) { return .failure(error(status: 422, body: final)) }
            return .success(final)
        } catch {
            return .failure(.failure("lost the engine during \(name): \(error.message)"))
        }
    }

    struct Report: Decodable { var progress: Double?; var done: Int?; var event: EventRecord?; var line: String? }

    func streamed<R: Decodable>(_ name: String, body: Data, ticket: String? = nil, report: @escaping @Sendable (Report) -> Void) async throws(APIError) -> R {
        let socket = self.socket
        let result: Result<Data, APIError> = await withCheckedContinuation { c in
            Self.thread {
                c.resume(returning: Self.stream(socket: socket, name: name, body: body, ticket: ticket) { data in
                    if let r = try? EngineWire.decoder().decode(Report.self, from: data) { report(r) }
                })
            }
        }
        let data = try result.get()
        do { return try EngineWire.decoder().decode(In<R>.self, from: data).result } catch {
            throw .failure("the engine's answer to \(name) could not be read (\(error))")
        }
    }

    /// Runs a cancellable streamed call: `cancelled` is asked ten times a second, and once it
    /// says so the engine is told to end the call early (it still answers, marked partial).
    func cancellable<R: Decodable>(_ name: String, body: Data, cancelled: @escaping @Sendable () -> Bool,
                                   report: @escaping @Sendable (Report) -> Void) async throws(APIError) -> R {
        let ticket = UUID().uuidString
        let watcher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                if cancelled() { try? await perform("cancel", ticket); return }
            }
        }
        defer { watcher.cancel() }
        return try await streamed(name, body: body, ticket: ticket, report: report)
    }

    /// Hears the engine's notifications until the stream ends: this client closed it, or the
    /// engine stopped or died (then `ended`, once; `listen` again to hear a new engine). While it
    /// is open, the engine counts this client as an attached shell.
    public func listen(ended: @escaping @Sendable () -> Void = {}) {
        let socket = self.socket, hub = notifications, held = self.held
        let body = Data("[]".utf8)
        Self.thread {
            _ = Self.stream(socket: socket, name: "notifications", body: body, opened: { c in held.notifications.withLock { $0 = c } }) { data in
                if let text = (try? EngineWire.decoder().decode(Report.self, from: data))?.line { hub.publish(text) }
            }
            // Not ended by `close()`: the engine went away (or never answered).
            if held.notifications.withLock({ $0?.isEnded }) != true { ended() }
        }
    }

    // MARK: Instances

    public func instances() async throws(APIError) -> [InstanceRecord] { try await call("instances") }
    public func overview() async throws(APIError) -> [InstanceOverview] { try await call("overview") }
    public func instance(_ id: Int) async throws(APIError) -> InstanceRecord? { try await call("instance", id) }
    public func createInstance(name: String?, limit: Int, settings: [String: String]) async throws(APIError) -> InstanceRecord {
        try await call("createInstance", name, limit, settings)
    }
    public func renameInstance(_ id: Int, to name: String) async throws(APIError) { try await perform("renameInstance", id, name) }
    public func deleteInstance(_ id: Int) async throws(APIError) { try await perform("deleteInstance", id) }

    // MARK: Settings and options

    public func storedSettings(_ id: Int) async throws(APIError) -> [String: String] { try await call("storedSettings", id) }
    public func updateSettings(_ id: Int, _ changes: [String: String?], note: String?) async throws(APIError) {
        try await perform("updateSettings", id, changes, note)
    }
    public func options() async throws(APIError) -> [String: String] { try await call("options") }
    public func setOption(_ key: String, _ value: String?) async throws(APIError) { try await perform("setOption", key, value) }

    // MARK: Running instances

    public func runningIds() async -> [Int] { (try? await call("runningIds")) ?? [] }
    public func isRunning(_ id: Int) async -> Bool { (try? await call("isRunning", id)) ?? false }
    public func runState(_ id: Int) async -> RunState? { (try? await call("runState", id) as RunState?) ?? nil }
    public func report(_ id: Int) async -> InstanceReport? { (try? await call("report", id) as InstanceReport?) ?? nil }
    public func riskModes() async -> [Int: RiskMode] { (try? await call("riskModes")) ?? [:] }
    public func rules(_ id: Int) async -> MarketRules? { (try? await call("rules", id) as MarketRules?) ?? nil }
    public func start(_ id: Int) async throws(APIError) { try await perform("start", id) }
    public func stop(_ id: Int) async -> Int? { (try? await call("stop", id) as Int?) ?? nil }
    public func stopAll(reason: String) async -> [(Int, Int)] {
        ((try? await call("stopAll", reason) as [Stopped]) ?? []).map { ($0.id, $0.cancelled) }
    }
    public func pause(_ id: Int, binding: RiskBinding) async -> Int? { (try? await call("pause", id, binding) as Int?) ?? nil }
    public func resume(_ id: Int) async throws(APIError) -> Bool { try await call("resume", id) }
    public func confirmNoOrders(_ id: Int) async -> Bool? { (try? await call("confirmNoOrders", id) as Bool?) ?? nil }
    public func venueMarket(_ id: Int, accountBalances: Bool) async throws(APIError) -> (MarketSnapshot, MarketRules) {
        let m: VenueMarket = try await call("venueMarket", id, accountBalances)
        return (m.snapshot, m.rules)
    }

    // MARK: The ledger and the log

    public func runs(instance: Int) async throws(APIError) -> [RunRecord] { try await call("runs", instance) }
    public func lastRun(instance: Int) async throws(APIError) -> RunRecord? { try await call("lastRun", instance) }
    public func fills(_ query: FillQuery) async throws(APIError) -> [FillRecord] { try await call("fills", query) }
    public func ledgerFills(_ query: FillQuery, baseAsset: String) async throws(APIError) -> [LedgerFill] {
        try await call("ledgerFills", query, baseAsset)
    }
    public func ledgerTally(_ query: FillQuery, baseAsset: String, by: Ledger.BucketSize?, offset: Int) async throws(APIError) -> LedgerTally {
        try await call("ledgerTally", query, baseAsset, by, offset)
    }
    public func samples(_ query: SampleQuery) async throws(APIError) -> [MarketSample] { try await call("samples", query) }
    public func pnlRows(instance: Int, from: Int64, to: Int64, run: Int64?) async throws(APIError)
        -> [(time: Int64, mid: String, base: String, quote: String, value: String, hold: String, fees: String)] {
        let rows: [PnLRow] = try await call("pnlRows", instance, from, to, run)
        return rows.map { ($0.time, $0.mid, $0.base, $0.quote, $0.value, $0.hold, $0.fees) }
    }
    public func pnlSnapshots(instance: Int, run: Int64?) async throws(APIError) -> [(time: Int64, value: String, hold: String)] {
        let rows: [PnLSnapshot] = try await call("pnlSnapshots", instance, run)
        return rows.map { ($0.time, $0.value, $0.hold) }
    }
    public func lastMid(instance: Int) async throws(APIError) -> (time: Int64, mid: String)? {
        let m: TimedMid? = try await call("lastMid", instance)
        return m.map { ($0.time, $0.mid) }
    }
    public func events(_ query: EventQuery) async throws(APIError) -> [EventRecord] { try await call("events", query) }
    public func clearEvents(instance: Int) async throws(APIError) -> Int { try await call("clearEvents", instance) }
    public func logEvent(instance: Int, level: EventLevel, kind: String, message: String) async {
        try? await perform("logEvent", instance, level, kind, message)
    }

    /// Follows the engine's log on a stream of its own. The engine has subscribed (it answered
    /// the head) before this returns, so that nothing logged after the call is missed.
    public func followEvents() async -> (id: UInt64, events: AsyncStream<EventRecord>) {
        let id = held.nextFollow.withLock { $0 += 1; return $0 }
        let (events, sink) = AsyncStream<EventRecord>.makeStream()
        let socket = self.socket, held = self.held
        await withCheckedContinuation { (listening: CheckedContinuation<Void, Never>) in
            let once = Mutex<CheckedContinuation<Void, Never>?>(listening)
            let signal: @Sendable () -> Void = { once.withLock { c in defer { c = nil }; return c }?.resume() }
            Self.thread {
                _ = Self.stream(socket: socket, name: "followEvents", body: Data("[]".utf8),
                                opened: { c in held.follows.withLock { $0[id] = c } }, heard: signal) { data in
                    if let event = (try? EngineWire.decoder().decode(Report.self, from: data))?.event { sink.yield(event) }
                }
                signal()
                _ = held.follows.withLock { $0.removeValue(forKey: id) }
                sink.finish()
            }
        }
        return (id, events)
    }

    /// A stream's blocking reads, on a thread of its own: they last as long as the stream.
    static func thread(_ body: @escaping @Sendable () -> Void) {
        Thread.detachNewThread(body)
    }

    public func endFollowing(_ id: UInt64) { held.follows.withLock { $0[id] }?.abort() }

    // MARK: After a crash

    public func closeInterruptedRuns() async -> [Int] { (try? await call("closeInterruptedRuns")) ?? [] }

    // MARK: The vault

    public func vaultStatus() async throws(APIError) -> VaultStatus { try await call("vaultStatus") }
    public func unlockVault(passphrase: String) async throws(APIError) { try await perform("unlockVault", passphrase) }
    public func lockVault() async { try? await perform("lockVault") }
    public func keyAccounts() async throws(APIError) -> [VaultEntrySummary] { try await call("keyAccounts") }
    public func hasKeys(account: String) async throws(APIError) -> Bool { try await call("hasKeys", account) }
    public func storeKeys(account: String, _ credentials: Credentials) async throws(APIError) {
        try await perform("storeKeys", account, credentials)
    }
    public func deleteKeys(account: String) async throws(APIError) { try await perform("deleteKeys", account) }
    public func changePassphrase(to new: String) async throws(APIError) { try await perform("changePassphrase", new) }
    public func testKeys(account: String, url: String) async throws(APIError) -> KeyTest { try await call("testKeys", account, url) }

    // MARK: Sweeps, recordings, backtests

    public func sweep(_ plans: [BacktestPlan], jobs: Int, done: @escaping @Sendable (Int) -> Void,
                      cancelled: @escaping @Sendable () -> Bool) async -> [SweepOutcome] {
        do throws(APIError) {
            return try await cancellable("sweep", body: try encode("sweep", plans, jobs), cancelled: cancelled) { r in
                if let n = r.done { done(n) }
            }
        } catch {
            return plans.map { _ in SweepOutcome(result: nil, error: error.message) }
        }
    }

    public func startRecording(_ plan: RecordingPlan) async throws(APIError) -> RecordingStatus { try await call("startRecording", plan) }
    public func recordings() async -> [RecordingStatus] { (try? await call("recordings")) ?? [] }
    public func stopRecording(_ id: Int) async -> RecordingStatus? { (try? await call("stopRecording", id) as RecordingStatus?) ?? nil }

    public func backtest(_ plan: BacktestPlan, progress: @escaping @Sendable (Double) -> Void,
                         cancelled: @escaping @Sendable () -> Bool) async throws(APIError) -> BacktestResult {
        try await cancellable("backtest", body: try encode("backtest", plan), cancelled: cancelled) { r in
            if let p = r.progress { progress(p) }
        }
    }
}
