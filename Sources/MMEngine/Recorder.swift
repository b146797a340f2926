import Foundation
import MMCore
import MMMexc
import MMRecording
import MMStrategy

/// What `record PAIR` records, where, and for how long.
public struct RecordingPlan: Sendable, Equatable, Codable {
    public var pair: String
    public var path: String
    /// Milliseconds to record; nil until stopped.
    public var duration: Int64?
    /// The streams' cadence: "100ms" or "10ms".
    public var depth: String
    public var restURL: String
    public var wsURL: String
    /// Replace a file that exists.
    public var replace: Bool
    /// The instance whose market this is (`set record on`): it ends when the instance stops.
    public var instance: Int?

    public init(pair: String, path: String, duration: Int64?, depth: String, restURL: String, wsURL: String, replace: Bool,
                instance: Int? = nil) {
        self.pair = pair; self.path = path; self.duration = duration; self.depth = depth
        self.restURL = restURL; self.wsURL = wsURL; self.replace = replace; self.instance = instance
    }
}

/// A recording as `record list` shows it.
public struct RecordingStatus: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case recording, done, failed }
    public var id: Int
    public var pair: String
    public var path: String
    /// The instance it records for, if any.
    public var instance: Int?
    public var state: State
    /// Wall-clock ms.
    public var startedAt: Int64
    public var endsAt: Int64?
    public var frames: Int
    public var snapshots: Int
    public var gaps: Int
    public var bytes: Int
    /// Why the streams are down now, or why the recording failed.
    public var problem: String?
}

/// Records one pair of MEXC's market as it arrives: the pair's exchangeInfo, then the public
/// depth, deals and book-ticker streams frame by frame as received, a REST depth snapshot at
/// every (re)connection and whenever the depth stream skips versions, and a gap frame when the
/// streams are lost. The file alone rebuilds the book at any moment (`ReplayExchange`). Every
/// receive time is this machine's, in µs; blocks reach the disk at least once a second.
public actor Recorder {
    public let id: Int
    public let plan: RecordingPlan
    let writer: RecordingWriter
    let client: MEXCClient
    var stream: StreamConnection?
    var ticker: Task<Void, Never>?
    var status: RecordingStatus
    /// The book as a replay of the file will build it: when it cannot follow the diffs, a fresh
    /// snapshot is fetched and written (a replay buffers diffs until a snapshot, as MEXC says).
    var book = LocalBook()
    var resyncing = false

    init(id: Int, plan: RecordingPlan, writer: RecordingWriter, client: MEXCClient, started: Int64) {
        self.id = id
        self.plan = plan
        self.writer = writer
        self.client = client
        status = RecordingStatus(id: id, pair: plan.pair, path: plan.path, instance: plan.instance, state: .recording, startedAt: started,
                                 endsAt: plan.duration.map { started + $0 }, frames: 1, snapshots: 0, gaps: 0, bytes: 0, problem: nil)
    }

    static func nowMicros() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    public func start() async {
        let channels = ["depth", "deals", "bookTicker"].map { "spot@public.aggre.\($0).v3.api.pb@\(plan.depth)@\(plan.pair)" }
        let url = plan.wsURL
        let stream = StreamConnection(channels: channels, url: { url }, notify: { [weak self] n in await self?.heard(n) })
        await stream.configure(keepFrames: true)
        self.stream = stream
        await stream.start()
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let self, await self.second() else { return }
            }
        }
    }

    /// Once a second: the gathered frames reach the disk; a recording whose time is up ends.
    func second() async -> Bool {
        guard status.state == .recording else { return false }
        if let end = status.endsAt, Int64(Date().timeIntervalSince1970 * 1000) >= end {
            await finish(.done, problem: nil)
            return false
        }
        do { try writer.flushIfDue() } catch { await finish(.failed, problem: error.message) }
        status.bytes = writer.bytes
        return status.state == .recording
    }

    func heard(_ n: StreamNotice) async {
        guard status.state == .recording else { return }
        switch n {
        case .connected:
            status.problem = nil
            book.reset()
            await snapshot()
        case .disconnected(let reason):
            status.problem = reason
            book.reset()
            status.gaps += 1
            let body = (try? JSONSerialization.data(withJSONObject: ["reason": reason])) ?? Data()
            write(.gap, body)
        case .frame(let event, let bytes):
            write(.stream, bytes)
            // A diff the book cannot follow (versions skipped): a fresh snapshot.
            if case .depth(_, let diff) = event, case .needsSnapshot = book.apply(diff) { await snapshot() }
        case .event, .unreadable:
            // Without its bytes there is nothing to keep (an unreadable frame is skipped, as the feed skips it).
            break
        }
    }

    /// The REST depth snapshot the diffs after it apply to; asked again (a few times, a moment
    /// apart) while the diffs have moved past it.
    func snapshot() async {
        guard !resyncing else { return }
        resyncing = true
        defer { resyncing = false }
        for attempt in 0..<5 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(200 * attempt)) }
            guard status.state == .recording else { return }
            let body: Data
            do { body = try await client.raw(.depth, [("symbol", plan.pair), ("limit", "1000")]) } catch {
                status.problem = "no depth snapshot: \(error); asked again at the next skip or connection"
                return
            }
            guard status.state == .recording else { return }
            write(.snapshot, body)
            status.snapshots += 1
            guard let depth = try? decodeMEXC(Depth.self, from: body), let levels = try? depth.levels() else {
                status.problem = "an unreadable depth snapshot; asked again at the next skip or connection"
                return
            }
            let outcome = book.snapshot(lastUpdateId: depth.lastUpdateId, bids: levels.bids.map { BookLevel($0.0, $0.1) },
                                        asks: levels.asks.map { BookLevel($0.0, $0.1) })
            if case .needsSnapshot = outcome { continue }
            return
        }
    }

    func write(_ kind: RecordKind, _ payload: some Collection<UInt8>) {
        guard status.state == .recording else { return }
        do {
            try writer.append(kind, time: Recorder.nowMicros(), payload: payload)
            status.frames += 1
        } catch {
            status.state = .failed
            status.problem = error.message
            Task { await self.finish(.failed, problem: error.message) }
        }
    }

    /// Stops the streams and closes the file (what was gathered is written).
    public func stop() async -> RecordingStatus {
        await finish(.done, problem: nil)
        return status
    }

    func finish(_ state: RecordingStatus.State, problem: String?) async {
        guard stream != nil else { return }
        let stream = self.stream
        self.stream = nil
        ticker?.cancel()
        // Ended before the streams are: a frame still on its way while they stop is not written.
        if status.state == .recording || state == .failed { status.state = state }
        if let problem { status.problem = problem } else if state == .done { status.problem = nil }
        await stream?.stop()
        do { try writer.close() } catch {
            status.state = .failed
            status.problem = error.message
            return
        }
        status.bytes = writer.bytes
    }

    public func current() -> RecordingStatus {
        var s = status
        s.bytes = max(s.bytes, writer.bytes)
        return s
    }
}

/// The engine's recordings, numbered from 1 for its lifetime.
public actor Recorders {
    var all: [Int: Recorder] = [:]
    var next = 1

    public init() {}

    /// Opens the file and writes its header and the pair's rules: what is wrong with the plan
    /// (a file that exists, a pair MEXC does not list, no answer) is said here, before anything runs.
    /// A method of this actor, untyped: a static async factory on `Recorder` itself is the shape
    /// that crashed the engine after backtests (Swift 6.3.1).
    func openRecorder(id: Int, plan: RecordingPlan) async throws -> Recorder {
        let client = MEXCClient(baseURL: plan.restURL, credentials: nil)
        let info: Data
        do { info = try await client.raw(.exchangeInfo, [("symbol", plan.pair)]) } catch {
            if case .exchange(-1121, _, _) = error { throw EngineError("record: \(plan.restURL) lists no pair \(plan.pair) (\(error))") }
            throw EngineError("record: \(plan.restURL) did not give the rules of \(plan.pair): \(error)")
        }
        guard let listed = try? decodeMEXC(ExchangeInfo.self, from: info), listed.symbols.contains(where: { $0.symbol == plan.pair }) else {
            throw EngineError("record: \(plan.restURL) lists no pair \(plan.pair)")
        }
        let now = Recorder.nowMicros()
        let writer: RecordingWriter
        do {
            writer = try RecordingWriter(path: plan.path, meta: RecordingMeta(pair: plan.pair, source: "mexc", url: plan.wsURL, depth: plan.depth, started: now / 1000),
                                         replace: plan.replace)
            try writer.append(.rules, time: now, payload: info)
        } catch {
            throw EngineError(RecordingError.from(error).message)
        }
        return Recorder(id: id, plan: plan, writer: writer, client: client, started: now / 1000)
    }

    public func start(_ plan: RecordingPlan) async throws(EngineError) -> RecordingStatus {
        if let clash = await list().first(where: { $0.state == .recording && $0.path == plan.path }) {
            throw EngineError("record: recording \(clash.id) writes \(plan.path) already")
        }
        let id = next
        let recorder: Recorder
        do { recorder = try await openRecorder(id: id, plan: plan) } catch {
            throw (error as? EngineError) ?? EngineError("record: \(error)")
        }
        next += 1
        all[id] = recorder
        await recorder.start()
        return await recorder.current()
    }

    public func list() async -> [RecordingStatus] {
        var out: [RecordingStatus] = []
        for id in all.keys.sorted() { out.append(await all[id]!.current()) }
        return out
    }

    public var recordingCount: Int {
        get async { await list().filter { $0.state == .recording }.count }
    }

    public func stop(_ id: Int) async -> RecordingStatus? {
        guard let r = all[id] else { return nil }
        return await r.stop()
    }

    /// Stops the recordings made for an instance (it stopped).
    public func stop(instance: Int) async -> [RecordingStatus] {
        var out: [RecordingStatus] = []
        for id in all.keys.sorted() {
            let r = all[id]!
            let s = await r.current()
            if s.instance == instance, s.state == .recording { out.append(await r.stop()) }
        }
        return out
    }

    public func stopAll() async -> [RecordingStatus] {
        var out: [RecordingStatus] = []
        for id in all.keys.sorted() {
            let r = all[id]!
            if await r.current().state == .recording { out.append(await r.stop()) }
        }
        return out
    }
}
