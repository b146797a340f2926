import Foundation
import MMAPI
import MMControl
import MMShell
import MMStorage
import Synchronization
import Testing
@testable import MMDaemon

/// An engine serving a fresh data directory on its socket, in this process.
final class RunningEngine: @unchecked Sendable {
    let url = URL(fileURLWithPath: "/tmp/mmsh-api-\(UUID().uuidString.prefix(8))")
    let service: EngineService
    let task: Task<Void, any Error>
    var socket: String { service.socketPath }

    init() async throws {
        let directory = try DataDirectory(url: url)
        service = try EngineService(directory: directory, options: EngineOptions(idleExit: nil, environment: [:]))
        let (ready, signal) = AsyncStream<Void>.makeStream()
        let service = self.service
        task = Task { try await service.run { signal.yield() } }
        for await _ in ready { break }
    }

    func stop() async {
        service.requestStop()
        _ = try? await task.value
        try? FileManager.default.removeItem(at: url)
    }

    func get(_ path: String) async throws -> ControlHTTP.Answer {
        let socket = self.socket
        return try await offPool { try ControlHTTP.request(socket: socket, method: "GET", path: path) }
    }
    func post(_ path: String, _ body: String? = nil) async throws -> ControlHTTP.Answer {
        let socket = self.socket
        return try await offPool { try ControlHTTP.request(socket: socket, method: "POST", path: path, body: body) }
    }

    /// Raw bytes to the socket; what came back before the engine closed (or `wait` passed).
    func raw(_ bytes: [UInt8], wait: Int32 = 2000) async throws -> String {
        let socket = self.socket
        return try await offPool {
            let c = try SocketConnection(path: socket)
            try c.write(bytes)
            var out: [UInt8] = []
            while c.readable(timeoutMs: wait), let more = try? c.read(exactly: 1) { out += more }
            return String(decoding: out, as: UTF8.self)
        }
    }
}

/// The client's calls block (it is a short-lived process); here they run on a thread of their
/// own, never on the few threads the engine's tasks need.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread.detachNewThread { c.resume(with: Result { try body() }) }
    }
}

func errorMessage(_ body: String) -> String? {
    let o = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    return (o?["error"] as? [String: Any])?["message"] as? String
}

@Suite(.serialized) struct EngineAPITests {
    @Test func instancesThroughTheAPIAsTheShellSeesThem() async throws {
        let engine = try await RunningEngine()
        let created = try await engine.post("/v1/commands", #"{"line": "new desk; set sim.seed 7; set sim.takers 0"}"#)
        #expect(created.status == 200 && created.body.contains(#""exit_code":0"#), "\(created.body)")
        let list = try await engine.get("/v1/instances")
        #expect(list.status == 200 && list.body.contains(#""name": "desk""#), "\(list.body)")
        let start = try await engine.post("/v1/instances/1/start")
        #expect(start.status == 200 && start.body.contains("started 1 'desk' on sim BTCUSDT"), "\(start.body)")
        let again = try await engine.post("/v1/instances/1/start")
        #expect(again.status == 409 && errorMessage(again.body) == "instance 1 'desk' is running already", "\(again.body)")
        let one = try await engine.get("/v1/instances/1")
        #expect(one.body.contains(#""state": "running""#), "\(one.body)")
        #expect(try await engine.get("/v1/instances/1/orders").body.contains(#""orders""#))
        #expect(try await engine.get("/v1/instances/1/settings").status == 200)
        #expect(try await engine.get("/v1/instances/1/events?limit=5").body.contains("started on sim BTCUSDT (seed 7)"))
        let pause = try await engine.post("/v1/instances/1/pause")
        #expect(pause.status == 200 && pause.body.contains("paused 1 'desk'"), "\(pause.body)")
        #expect(try await engine.get("/v1/instances/1").body.contains(#""state": "halted""#))
        let resume = try await engine.post("/v1/instances/1/resume")
        #expect(resume.status == 200 && resume.body.contains("resumed 1 'desk'"), "\(resume.body)")
        let halt = try await engine.post("/v1/halt")
        #expect(halt.status == 200 && halt.body.contains("none open (confirmed by the venue)"), "\(halt.body)")
        let stop = try await engine.post("/v1/instances/1/stop")
        #expect(stop.status == 200 && stop.body.contains("stopped 1 'desk'"), "\(stop.body)")
        let notRunning = try await engine.post("/v1/instances/1/pause")
        #expect(notRunning.status == 409, "\(notRunning.body)")
        let daemon = try await engine.get("/v1/daemon")
        #expect(daemon.body.contains(#""pid":\#(getpid())"#), "\(daemon.body)")
        // The error's kind gives its status and code: a missing instance, a locked vault.
        let missing = try await engine.post("/v1/instances/9/start")
        #expect(missing.status == 404 && missing.body.contains(#""code":"not_found""#) && errorMessage(missing.body) == "there is no instance 9; 'list' shows them",
                "\(missing.body)")
        #expect(try await engine.post("/v1/commands", #"{"line": "new live1; set venue live"}"#).status == 200)
        let locked = try await engine.post("/v1/instances/2/start")
        #expect(locked.status == 423 && locked.body.contains(#""code":"locked""#), "\(locked.body)")
        #expect(try await engine.get("/v1/instances/2").body.contains(#""state": "stopped""#))
        await engine.stop()
    }

    /// With nothing running and nobody attached, an engine started with an idle time leaves: its
    /// socket goes and `run` returns, so the process exits and frees the directory's lock (an
    /// engine once hung here, socketless, holding the lock: no client could start another).
    @Test func anIdleEngineExitsAndFreesItsDirectory() async throws {
        let url = URL(fileURLWithPath: "/tmp/mmsh-idle-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: url) }
        let service = try EngineService(directory: try DataDirectory(url: url), options: EngineOptions(idleExit: .milliseconds(500), environment: [:]))
        let ended = Mutex(false)
        let task = Task {
            try await service.run()
            ended.withLock { $0 = true }
        }
        var waited = 0
        while !ended.withLock({ $0 }) && waited < 200 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(ended.withLock { $0 }, "run returned within 10 s of going idle")
        #expect(!FileManager.default.fileExists(atPath: url.appendingPathComponent("mmsh.sock").path))
        task.cancel()
    }

    @Test func badRequestsGetAClearRefusalAndChangeNothing() async throws {
        let engine = try await RunningEngine()
        _ = try await engine.post("/v1/commands", #"{"line": "new a"}"#)
        let cases: [(ControlHTTP.Answer, Int, String)] = [
            (try await engine.get("/v1/instances/9"), 404, "there is no instance 9; 'list' shows them"),
            (try await engine.get("/v1/instances/x"), 400, "'x' is not an instance id; ids are whole numbers from 1"),
            (try await engine.get("/v1/nothing"), 404, "no such path: GET /v1/nothing; GET /v1/openapi.json lists the API"),
            (try await engine.get("/v1/instances/1/fills?limit=0"), 400, "limit: '0' is not a count from 1 to 1000000"),
            (try await engine.post("/v1/commands", "{not json"), 400, "the body must be a JSON object such as {\"line\": \"status --json\"}"),
            (try await engine.post("/v1/commands", #"{"line": "list", "as": "root"}"#), 400, "unknown field 'as'; the body takes only \"line\""),
            (try await engine.post("/v1/commands", #"{"line": 3}"#), 400, "\"line\" must be a string: the command to run"),
            (try await engine.post("/v1/commands", "{\"line\": \"" + String(repeating: "x", count: 100_000) + "\"}"), 413, "the request body is over 64 KiB"),
        ]
        for (answer, status, message) in cases {
            #expect(answer.status == status && errorMessage(answer.body) == message, "\(answer.status) \(answer.body.prefix(200))")
        }
        let command = try await engine.post("/v1/commands", #"{"line": "set 1 spread.bid lots"}"#)
        #expect(command.status == 400 && command.body.contains(#""exit_code":64"#), "\(command.body)")
        // Garbage and a client that leaves mid-request: the engine keeps serving.
        _ = try? await engine.raw(Array("NOT HTTP AT ALL\r\n\r\n".utf8), wait: 500)
        _ = try? await engine.raw(Array("POST /v1/commands HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"li".utf8), wait: 100)
        #expect(try await engine.get("/v1/instances").status == 200)
        #expect(try await engine.post("/v1/commands", #"{"line": "get 1 spread.bid"}"#).body.contains("0.1%"), "nothing changed")
        await engine.stop()
    }

    @Test func aThousandConnectionsAtOnceAreServedOrRefusedAndTheEngineGoesOn() async throws {
        let engine = try await RunningEngine()
        let socket = engine.socket
        final class Held: @unchecked Sendable { var connections: [SocketConnection] = [] }
        let held = try await offPool { () -> Held in
            let h = Held()
            for _ in 0..<1000 {
                guard let c = try? SocketConnection(path: socket) else { break }
                h.connections.append(c)
            }
            return h
        }
        #expect(held.connections.count > 100)
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<50 { group.addTask { try await engine.get("/v1/daemon").status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(answers.allSatisfy { $0 == 200 })
        held.connections.removeAll()
        #expect(try await engine.get("/v1/instances").status == 200)
        await engine.stop()
    }

    /// Shells run in their clients and call the engine through `RemoteEngine`: each has its
    /// own current instance and asks its own console; while it listens for notifications the
    /// engine counts it as attached, and letting it go leaves the instances running.
    @Test func attachedShellsShareTheEngineAndAreLetGo() async throws {
        let engine = try await RunningEngine()
        let socket = engine.socket
        func attached() async throws -> Int {
            let body = try await engine.get("/v1/daemon").body
            return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["sessions"] as? Int ?? -1
        }
        let firstAPI = RemoteEngine(socket: socket)
        let console = BufferConsole(isInteractive: true, answers: [false])
        let first = try await Shell(api: firstAPI, console: console, detachable: true, environment: [:], workingDirectory: "/tmp")
        await first.greetIfFirstRun()
        #expect(console.out.contains("Welcome to mmsh"))
        #expect(await first.run(line: "new a; set sim.seed 1; start 1; new b", origin: .interactive) == nil, "\(console.err)")
        let state = await first.clientPrompt()
        #expect(state.prompt == "mmsh[2 · 1 running]> ")
        #expect(state.data.instances.map { "\($0.id) \($0.name)" } == ["1 a", "2 b"])
        #expect(state.data.settings[1] == ["sim.seed": "1"], "'?' can say a setting's value")
        #expect(state.data.current == 2)
        // A question goes to this shell's console, and its answer decides.
        _ = console.take()
        #expect(await first.run(line: "delete 2", origin: .interactive) == nil)
        #expect(console.questions.last?.hasPrefix("delete instance 2 'b'") == true, "\(console.questions)")
        #expect(console.out.contains("not deleted"))
        // A second shell has its own current instance (none) and sees the same instances.
        let secondAPI = RemoteEngine(socket: socket)
        let second = try await Shell(api: secondAPI, console: BufferConsole(), detachable: true, environment: [:], workingDirectory: "/tmp")
        #expect(await second.prompt() == "mmsh[– · 1 running]> ")
        var deadline = Date().addingTimeInterval(10)
        while try await attached() != 2 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await attached() == 2)
        // Leaving without a word (a lost terminal) leaves the instance running.
        firstAPI.close()
        secondAPI.close()
        deadline = Date().addingTimeInterval(10)
        while try await attached() != 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await attached() == 0)
        #expect(await engine.service.engine.manager.runningCount == 1)
        await engine.stop()
    }

    /// The engine stops while clients keep connecting (as `daemon stop` does, watching the
    /// socket go) and while a shell listens for notifications: it stops cleanly, without a crash,
    /// and the listening shell hears that its engine is gone.
    @Test func anEngineStopsCleanlyWhileClientsConnect() async throws {
        let engine = try await RunningEngine()
        let socket = engine.socket
        final class Flags: Sendable {
            let done = Mutex(false)
            let heardEnd = Mutex(false)
            let answered = Mutex(0)
        }
        let flags = Flags()
        let listener = RemoteEngine(socket: socket, notify: false)
        listener.listen { flags.heardEnd.withLock { $0 = true } }
        for _ in 0..<6 {
            Thread.detachNewThread {
                while !flags.done.withLock({ $0 }) {
                    if (try? ControlHTTP.request(socket: socket, method: "GET", path: "/v1/daemon"))?.status == 200 {
                        flags.answered.withLock { $0 += 1 }
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        await engine.stop()
        flags.done.withLock { $0 = true }
        #expect(flags.answered.withLock { $0 } > 0)
        let deadline = Date().addingTimeInterval(5)
        while !flags.heardEnd.withLock({ $0 }) && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(flags.heardEnd.withLock { $0 }, "the notifications stream ended with the engine")
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket is gone")
    }

    @Test func metricsParseAsPrometheusText() async throws {
        let engine = try await RunningEngine()
        _ = try await engine.post("/v1/commands", #"{"line": "new m; set sim.seed 2; start 1"}"#)
        try await Task.sleep(for: .milliseconds(1200))
        let metrics = try await engine.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"mmsh_instance_running{instance="1",name="m",pair="BTCUSDT",venue="sim"} 1"#), "\(metrics.body)")
        #expect(metrics.body.contains("# TYPE mmsh_instance_fills_total counter"))
        // A real Prometheus parser reads every family (the test's own Python with prometheus_client).
        let parsed = try PrometheusParser.families(metrics.body)
        #expect(parsed.contains("mmsh_instance_open_orders") && parsed.contains("mmsh_instance_pnl_quote"), "\(parsed)")
        #expect(parsed.contains("mmsh_instance_risk_state") && parsed.contains("mmsh_alerts_undelivered"), "\(parsed)")
        #expect(metrics.body.contains(#"mmsh_instance_risk_state{instance="1",name="m",pair="BTCUSDT",venue="sim",state="active"} 1"#))
        // Recorded as it happens, through swift-metrics: every decision's latency, as a histogram.
        #expect(parsed.contains("mmsh_decision_duration_seconds") && metrics.body.contains("# TYPE mmsh_decision_duration_seconds histogram"), "\(parsed)")
        #expect(metrics.body.contains(#"mmsh_decision_duration_seconds_bucket{instance="1",name="m",pair="BTCUSDT",venue="sim",le="5e-06"}"#)
                || metrics.body.contains(#"mmsh_decision_duration_seconds_bucket{instance="1",name="m",pair="BTCUSDT",venue="sim",le="0.000005"}"#),
                "\(metrics.body)")
        #expect(parsed.contains("mmsh_instance_quote_uptime_ratio"))
        await engine.stop()
    }
}

/// Prometheus's own text parser (prometheus_client), in a Python of the test's choosing:
/// `$MMSH_TEST_PYTHON` (scripts/test makes a venv with it), else python3 with the package.
enum PrometheusParser {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func families(_ text: String) throws -> Set<String> {
        let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/test-venv/bin/python").path
        let python = ProcessInfo.processInfo.environment["MMSH_TEST_PYTHON"]
            ?? (FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-c", """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for f in text_string_to_metric_families(sys.stdin.read()):
                print(f.name, f.type, len(f.samples))
            """]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = errors
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: "prometheus_client did not parse /metrics (run scripts/test, which installs it): \(err)") }
        // prometheus_client names counters without their _total suffix.
        return Set(out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .flatMap { [$0, $0 + "_total"] })
    }
}

/// One HTTP/1.1 request over TCP to 127.0.0.1:`port`: the status and the body; nil when nothing listens.
func tcpRequest(port: Int, method: String = "GET", path: String, token: String? = nil) -> (status: Int, body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    // A listener going away may take a connection and never answer it: no wait lasts past 10 s
    // (the whole suite beside it can hold an answer for seconds on a loaded machine).
    var limit = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard ok == 0 else { return nil }
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n"
    if let token { request += "Authorization: Bearer \(token)\r\n" }
    request += "\r\n"
    _ = request.withCString { write(fd, $0, strlen($0)) }
    var data = [UInt8](), buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        data += buffer[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let status = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, body)
}

/// A loopback port nothing listens on now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

@Suite struct TCPListenerTests {
    @Test func theTCPListenerServesOnlyWithTheBearerToken() async throws {
        let engine = try await RunningEngine()
        let port = freePort()
        #expect(try await engine.post("/v1/commands", #"{"line": "option api.listen 127.0.0.1:\#(port)"}"#).status == 200)
        func until(_ condition: () async throws -> Bool) async throws -> Bool {
            for _ in 0..<100 { if try await condition() { return true }; try await Task.sleep(for: .milliseconds(50)) }
            return false
        }
        #expect(try await until { (try await offPool { tcpRequest(port: port, path: "/v1/instances") }) != nil }, "listening within seconds")
        let none = try #require(try await offPool { tcpRequest(port: port, path: "/v1/instances") })
        #expect(none.status == 401 && errorMessage(none.body) == "no API token exists yet: 'mmsh daemon token' makes one; send it as 'Authorization: Bearer TOKEN'")
        let made = try await engine.post("/v1/daemon/token")
        let token = try #require((try JSONSerialization.jsonObject(with: Data(made.body.utf8)) as? [String: String])?["token"])
        #expect(token.hasPrefix("mmsh_") && token.count == 69)
        let ok = try #require(try await offPool { tcpRequest(port: port, path: "/v1/instances", token: token) })
        #expect(ok.status == 200 && ok.body.contains(#""instances""#), "\(ok.body)")
        let metrics = try #require(try await offPool { tcpRequest(port: port, path: "/metrics", token: token) })
        #expect(metrics.status == 200 && metrics.body.contains("mmsh_engine_uptime_seconds"))
        let wrong = try #require(try await offPool { tcpRequest(port: port, path: "/v1/instances", token: token + "0") })
        #expect(wrong.status == 401 && !wrong.body.contains(token))
        let remote = try #require(try await offPool { tcpRequest(port: port, method: "POST", path: "/v1/daemon/token", token: token) })
        #expect(remote.status == 403, "a token is made only over the socket")
        // Only the token's digest is kept, readable by its owner only; a new token ends the old one.
        let file = engine.url.appendingPathComponent("api-token.sha256").path
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(!(try String(contentsOfFile: file, encoding: .utf8)).contains(token))
        _ = try await engine.post("/v1/daemon/token")
        #expect(try await offPool { tcpRequest(port: port, path: "/v1/instances", token: token) }?.status == 401)
        // Off: the listener goes.
        _ = try await engine.post("/v1/commands", #"{"line": "option api.listen off"}"#)
        #expect(try await until { (try await offPool { tcpRequest(port: port, path: "/v1/instances") }) == nil }, "no longer listening")
        await engine.stop()
    }
}
