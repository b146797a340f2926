import Foundation
import MMCore
import MMEngine
import MMStorage
import MMStrategy
import MMVault
import Synchronization

/// The engine's side of `EngineWire`: decodes a call's arguments, calls the engine, encodes its
/// answer. It knows nothing of HTTP, so that the daemon serves it and tests drive it alike.
public final class EngineCallServer: Sendable {
    public let engine: any EngineAPI
    /// Streamed calls that may be cancelled by their ticket (`POST /v1/engine/cancel`).
    private let tickets = Mutex<[String: Flag]>([:])
    /// How to end each open stream, for `endStreams`.
    private let open = Mutex<[UInt64: @Sendable () -> Void]>([:])
    private let nextStream = Mutex<UInt64>(0)

    public init(engine: any EngineAPI) { self.engine = engine }

    public enum Answer: Sendable {
        case value(status: Int, body: Data)
        /// NDJSON lines as they come; the stream ends after the last. `gone` is to be called when
        /// the client went away: what it ran is cancelled, what it followed is ended.
        case stream(lines: AsyncStream<Data>, gone: @Sendable () -> Void)
    }

    /// A flag set once, from any thread.
    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    /// Answers `call` with `body` (a JSON array; empty is no arguments). `ticket`: a streamed
    /// call's name for `cancel`.
    public func answer(_ call: String, body: Data, ticket: String? = nil) async -> Answer {
        let args = Args(call: call, body: body.isEmpty ? Data("[]".utf8) : body)
        if EngineWire.streamed.contains(call) {
            let answer: Answer
            do throws(APIError) { answer = try await stream(call, args, ticket: ticket) } catch { return .value(status: EngineWire.status(error.kind), body: Self.errorBody(error)) }
            guard case .stream(let lines, let gone) = answer else { return answer }
            // Kept until its client goes away, so that a stopping engine can end it.
            let id = nextStream.withLock { n in n += 1; return n }
            open.withLock { $0[id] = gone }
            return .stream(lines: lines, gone: { [weak self] in
                _ = self?.open.withLock { $0.removeValue(forKey: id) }
                gone()
            })
        }
        do throws(APIError) {
            return .value(status: 200, body: try await value(call, args))
        } catch {
            return .value(status: EngineWire.status(error.kind), body: Self.errorBody(error))
        }
    }

    static func errorBody(_ e: APIError) -> Data {
        (try? EngineWire.encoder().encode(EngineWire.ErrorBody(e))).map { $0 + Data("\n".utf8) } ?? Data()
    }

    struct Args {
        let call: String
        let body: Data
        func take<each A: Decodable>(_: repeat (each A).Type) throws(APIError) -> (repeat each A) {
            do { return try EngineWire.decoder().decode(Arguments<repeat each A>.self, from: body).values } catch {
                throw .usage("\(call): the arguments are not what it takes (\(Self.why(error))); GET /v1/openapi.json describes them")
            }
        }
        static func why(_ error: any Error) -> String {
            switch error as? DecodingError {
            case .typeMismatch(_, let c)? where c.codingPath.isEmpty: "not a JSON array"
            case .typeMismatch(let type, let c)?: "expected \(type) at \(path(c))"
            case .valueNotFound(let type, let c)?: "missing \(type) at \(path(c))"
            case .keyNotFound(let key, let c)?: "missing field '\(key.stringValue)' at \(path(c))"
            case .dataCorrupted(let c)?: c.codingPath.isEmpty ? c.debugDescription : "\(c.debugDescription) at \(path(c))"
            default: "not a JSON array"
            }
        }
        static func path(_ c: DecodingError.Context) -> String {
            c.codingPath.isEmpty ? "the top" : c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
    }

    struct Out<T: Encodable>: Encodable { var result: T }

    func ok<T: Encodable>(_ value: T) throws(APIError) -> Data {
        do { return try EngineWire.encoder().encode(Out(result: value)) + Data("\n".utf8) } catch {
            throw .failure("the engine could not write its answer: \(error)")
        }
    }
    func done() -> Data { Data("{\"result\":null}\n".utf8) }

    func value(_ call: String, _ a: Args) async throws(APIError) -> Data {
        let e = engine
        switch call {
        case "instances": _ = try a.take(); return try ok(try await e.instances())
        case "overview": _ = try a.take(); return try ok(try await e.overview())
        case "instance": return try ok(try await e.instance(try a.take(Int.self)))
        case "createInstance":
            let (name, limit, settings) = try a.take(String?.self, Int.self, [String: String].self)
            return try ok(try await e.createInstance(name: name, limit: limit, settings: settings))
        case "renameInstance":
            let (id, name) = try a.take(Int.self, String.self)
            try await e.renameInstance(id, to: name); return done()
        case "deleteInstance": try await e.deleteInstance(try a.take(Int.self)); return done()
        case "storedSettings": return try ok(try await e.storedSettings(try a.take(Int.self)))
        case "updateSettings":
            let (id, changes, note) = try a.take(Int.self, [String: String?].self, String?.self)
            try await e.updateSettings(id, changes, note: note); return done()
        case "options": _ = try a.take(); return try ok(try await e.options())
        case "setOption":
            let (key, value) = try a.take(String.self, String?.self)
            try await e.setOption(key, value); return done()
        case "runningIds": _ = try a.take(); return try ok(await e.runningIds())
        case "isRunning": return try ok(await e.isRunning(try a.take(Int.self)))
        case "runState": return try ok(await e.runState(try a.take(Int.self)))
        case "report": return try ok(await e.report(try a.take(Int.self)))
        case "riskModes": _ = try a.take(); return try ok(await e.riskModes())
        case "rules": return try ok(await e.rules(try a.take(Int.self)))
        case "start": try await e.start(try a.take(Int.self)); return done()
        case "stop": return try ok(await e.stop(try a.take(Int.self)))
        case "stopAll": return try ok(await e.stopAll(reason: try a.take(String.self)).map { Stopped(id: $0.0, cancelled: $0.1) })
        case "pause":
            let (id, binding) = try a.take(Int.self, RiskBinding.self)
            return try ok(await e.pause(id, binding: binding))
        case "resume": return try ok(try await e.resume(try a.take(Int.self)))
        case "confirmNoOrders": return try ok(await e.confirmNoOrders(try a.take(Int.self)))
        case "venueMarket":
            let (id, account) = try a.take(Int.self, Bool.self)
            let (snapshot, rules) = try await e.venueMarket(id, accountBalances: account)
            return try ok(VenueMarket(snapshot: snapshot, rules: rules))
        case "runs": return try ok(try await e.runs(instance: try a.take(Int.self)))
        case "lastRun": return try ok(try await e.lastRun(instance: try a.take(Int.self)))
        case "fills": return try ok(try await e.fills(try a.take(FillQuery.self)))
        case "ledgerFills":
            let (q, base) = try a.take(FillQuery.self, String.self)
            return try ok(try await e.ledgerFills(q, baseAsset: base))
        case "ledgerTally":
            let (q, base, by, offset) = try a.take(FillQuery.self, String.self, Ledger.BucketSize?.self, Int.self)
            return try ok(try await e.ledgerTally(q, baseAsset: base, by: by, offset: offset))
        case "samples": return try ok(try await e.samples(try a.take(SampleQuery.self)))
        case "pnlRows":
            let (id, from, to, run) = try a.take(Int.self, Int64.self, Int64.self, Int64?.self)
            return try ok(try await e.pnlRows(instance: id, from: from, to: to, run: run).map {
                PnLRow(time: $0.time, mid: $0.mid, base: $0.base, quote: $0.quote, value: $0.value, hold: $0.hold, fees: $0.fees)
            })
        case "pnlSnapshots":
            let (id, run) = try a.take(Int.self, Int64?.self)
            return try ok(try await e.pnlSnapshots(instance: id, run: run).map { PnLSnapshot(time: $0.time, value: $0.value, hold: $0.hold) })
        case "lastMid": return try ok(try await e.lastMid(instance: try a.take(Int.self)).map { TimedMid(time: $0.time, mid: $0.mid) })
        case "events": return try ok(try await e.events(try a.take(EventQuery.self)))
        case "clearEvents": return try ok(try await e.clearEvents(instance: try a.take(Int.self)))
        case "logEvent":
            let (id, level, kind, message) = try a.take(Int.self, EventLevel.self, String.self, String.self)
            await e.logEvent(instance: id, level: level, kind: kind, message: message); return done()
        case "closeInterruptedRuns": _ = try a.take(); return try ok(await e.closeInterruptedRuns())
        case "vaultStatus": _ = try a.take(); return try ok(try await e.vaultStatus())
        case "unlockVault": try await e.unlockVault(passphrase: try a.take(String.self)); return done()
        case "lockVault": _ = try a.take(); await e.lockVault(); return done()
        case "keyAccounts": _ = try a.take(); return try ok(try await e.keyAccounts())
        case "hasKeys": return try ok(try await e.hasKeys(account: try a.take(String.self)))
        case "storeKeys":
            let (account, credentials) = try a.take(String.self, Credentials.self)
            try await e.storeKeys(account: account, credentials); return done()
        case "deleteKeys": try await e.deleteKeys(account: try a.take(String.self)); return done()
        case "changePassphrase": try await e.changePassphrase(to: try a.take(String.self)); return done()
        case "testKeys":
            let (account, url) = try a.take(String.self, String.self)
            return try ok(try await e.testKeys(account: account, url: url))
        case "startRecording": return try ok(try await e.startRecording(try a.take(RecordingPlan.self)))
        case "recordings": _ = try a.take(); return try ok(await e.recordings())
        case "stopRecording": return try ok(await e.stopRecording(try a.take(Int.self)))
        case "cancel":
            let ticket = try a.take(String.self)
            guard let flag = tickets.withLock({ $0[ticket] }) else { throw .notFound("no call runs with the ticket '\(ticket)'") }
            flag.set(); return done()
        default:
            throw .notFound("there is no engine call '\(call)'; GET /v1/openapi.json lists them")
        }
    }

    /// One NDJSON line.
    static func line<T: Encodable>(_ value: T) -> Data {
        ((try? EngineWire.encoder().encode(value)) ?? Data("{}".utf8)) + Data("\n".utf8)
    }
    struct Progress: Encodable { var progress: Double }
    struct Done: Encodable { var done: Int }
    struct Event: Encodable { var event: EventRecord }
    struct Line: Encodable { var line: String }
    /// Said every second on a quiet stream: a client that went away is noticed by it (a write
    /// to its closed connection fails), and what it followed is let go.
    static let heartbeat = Data("{}\n".utf8)

    func stream(_ call: String, _ a: Args, ticket: String?) async throws(APIError) -> Answer {
        let e = engine
        let (lines, sink) = AsyncStream<Data>.makeStream()
        let cancelled = Flag()
        if let ticket { tickets.withLock { $0[ticket] = cancelled } }
        let forget: @Sendable () -> Void = { [weak self] in if let ticket { _ = self?.tickets.withLock { $0.removeValue(forKey: ticket) } } }
        switch call {
        case "backtest":
            let plan = try a.take(BacktestPlan.self)
            let last = Mutex(-1.0)
            Task {
                do throws(APIError) {
                    let result = try await e.backtest(plan, progress: { p in
                        // A line a half percent at most: progress is called at every replayed block.
                        let due = last.withLock { l in
                            guard p >= 1 || p - l >= 0.005 else { return false }
                            l = p
                            return true
                        }
                        if due { sink.yield(Self.line(Progress(progress: p))) }
                    }, cancelled: { cancelled.isSet })
                    sink.yield(Self.line(Out(result: result)))
                } catch {
                    sink.yield(Self.errorBody(error))
                }
                forget()
                sink.finish()
            }
            return .stream(lines: lines, gone: { cancelled.set() })
        case "sweep":
            let (plans, jobs) = try a.take([BacktestPlan].self, Int.self)
            Task {
                let outcomes = await e.sweep(plans, jobs: jobs, done: { sink.yield(Self.line(Done(done: $0))) }, cancelled: { cancelled.isSet })
                sink.yield(Self.line(Out(result: outcomes)))
                forget()
                sink.finish()
            }
            return .stream(lines: lines, gone: { cancelled.set() })
        case "followEvents":
            _ = try a.take()
            let (id, events) = await e.followEvents()
            let pump = Task {
                for await event in events { sink.yield(Self.line(Event(event: event))) }
                sink.finish()
            }
            let beat = Self.heartbeats(sink)
            return .stream(lines: lines, gone: { e.endFollowing(id); pump.cancel(); beat.cancel(); forget(); sink.finish() })
        case "notifications":
            _ = try a.take()
            let queue = NotificationQueue()
            queue.onAppend { for l in queue.take() { sink.yield(Self.line(Line(line: l))) } }
            e.notifications.subscribe(queue)
            let beat = Self.heartbeats(sink)
            return .stream(lines: lines, gone: { e.notifications.unsubscribe(queue); beat.cancel(); forget(); sink.finish() })
        default:
            throw .notFound("there is no engine call '\(call)'")
        }
    }

    /// Ends every open stream (the engine is stopping): followers and notified shells see their
    /// stream end, backtests and sweeps end early with a partial result.
    public func endStreams() {
        for end in open.withLock({ o in defer { o = [:] }; return Array(o.values) }) { end() }
    }

    static func heartbeats(_ sink: AsyncStream<Data>.Continuation) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                sink.yield(heartbeat)
            }
        }
    }
}
