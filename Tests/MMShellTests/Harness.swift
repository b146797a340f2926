import Foundation
import MMAPI
import MMDaemon
import MMEngine
import MMStorage
import MMVault
import Synchronization
import Testing
@testable import MMShell

/// Time that moves only when the test says so.
final class TestClock: EngineClock {
    private let t = Mutex<Int64>(1_795_770_000_000)
    func now() -> Int64 { t.withLock { $0 } }
    func advance(ms: Int64) { t.withLock { $0 += ms } }
}

/// A shell on a fresh data directory, with output captured.
final class Harness {
    let url: URL
    var directory: DataDirectory?
    var store: Store
    let console: BufferConsole
    var shell: Shell
    /// The engine, in this process. The shell calls it directly, or (MMSH_TEST_API=socket) through
    /// `RemoteEngine` over a socket that serves it: the same tests, both implementations of the API.
    var engine: LocalEngine
    let clock = TestClock()
    var server: Task<Void, any Error>?
    var remote: RemoteEngine?
    static let overSocket = ProcessInfo.processInfo.environment["MMSH_TEST_API"] == "socket"

    /// The API the shell is given: the engine itself, or a client of it over a socket served here.
    static func api(for engine: LocalEngine, at url: URL, clock: TestClock, shared: Bool) async
        -> (api: any EngineAPI, server: Task<Void, any Error>?, remote: RemoteEngine?) {
        guard overSocket else { return (engine, nil, nil) }
        // Beside the data directory, not in it: tests read every file there.
        let path = url.path + ".sock"
        let (ready, signal) = AsyncStream<Void>.makeStream()
        let server = Task { try await EngineCallListener.serve(engine, socket: path) { signal.yield() } }
        for await _ in ready { break }
        let remote = RemoteEngine(socket: path, clock: clock, shared: shared)
        return (remote, server, remote)
    }

    init(interactive: Bool = false, answers: [Bool] = [], secrets: [String] = [], environment: [String: String] = [:],
         url: URL? = nil, detachable: Bool = false) async throws {
        self.url = url ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("mmsh-test-\(UUID().uuidString)")
        let directory = try DataDirectory(url: self.url)
        self.directory = directory
        self.store = try Store.open(directory: directory)
        self.console = BufferConsole(isInteractive: interactive, answers: answers, secrets: secrets)
        self.environment = environment
        let vault = Vault(url: self.url.appendingPathComponent("vault.json"))
        // Detachable as in the engine service: a shared engine that outlives the shell.
        let engine = LocalEngine(store: store, clock: clock, vault: vault, shared: detachable)
        self.engine = engine
        let (api, server, remote) = await Self.api(for: engine, at: self.url, clock: clock, shared: detachable)
        self.server = server
        self.remote = remote
        shell = try await Shell(api: api, console: console, detachable: detachable, environment: environment)
    }
    let environment: [String: String]

    /// Moves time on and lets the running instances decide, `steps` times.
    func run(seconds steps: Int) async {
        for _ in 0..<steps {
            clock.advance(ms: 1000)
            await engine.manager.tickAll()
        }
    }

    /// Runs one line; returns stdout, stderr and the error if any.
    @discardableResult
    func run(_ line: String) async -> (out: String, err: String, error: ShellError?) {
        let error = await shell.run(line: line, origin: .interactive)
        let (out, err) = console.take()
        return (out, err, error)
    }

    /// Runs a line that must be refused with an error saying `words`.
    func expectRefused(_ line: String, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        let r = await run(line)
        #expect(r.error != nil && r.err.contains(words), "\(line): \(r.err)", sourceLocation: sourceLocation)
    }

    /// Closes and opens the data directory again, as a new process would.
    func reopen() async throws {
        directory = nil
        let directory = try DataDirectory(url: url)
        self.directory = directory
        store = try Store.open(directory: directory)
        engine = LocalEngine(store: store, clock: clock, vault: Vault(url: url.appendingPathComponent("vault.json")))
        remote?.close()
        server?.cancel()
        _ = try? await server?.value
        let (api, server, remote) = await Self.api(for: engine, at: url, clock: clock, shared: false)
        self.server = server
        self.remote = remote
        shell = try await Shell(api: api, console: console, environment: environment)
    }

    /// Everything stored, for "nothing changed" checks.
    func snapshot() throws -> String {
        var out = ""
        for r in try store.instances() {
            out += "\(r.id) \(r.name)\n"
            for (k, v) in try store.settings(r.id).sorted(by: { $0.key < $1.key }) { out += "  \(k)=\(v)\n" }
        }
        for (k, v) in try store.options().sorted(by: { $0.key < $1.key }) where !k.hasPrefix("_") { out += "option \(k)=\(v)\n" }
        return out
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    deinit {
        remote?.close()
        server?.cancel()
        try? FileManager.default.removeItem(at: url)
        unlink(url.path + ".sock")
    }
}
