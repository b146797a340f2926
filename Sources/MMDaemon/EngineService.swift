import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MMControl
import MMAPI
import MMCore
import MMEngine
import MMShell
import MMStorage
import MMVault
import NIOCore
import Synchronization

/// How the engine runs.
public struct EngineOptions: Sendable {
    /// Exit after this long with no running instance and no attached client; nil stays up
    /// (`mmsh daemon` in the foreground, for systemd).
    public var idleExit: Duration?
    public var environment: [String: String]
    /// Idle, page out the process's start-up code (`MemoryTrim`): for an engine that is a process
    /// of its own (`mmsh daemon`), never for one inside another program (tests), whose code it is too.
    public var releasesIdleMemory: Bool
    public init(idleExit: Duration?, environment: [String: String] = ProcessInfo.processInfo.environment, releasesIdleMemory: Bool = false) {
        self.idleExit = idleExit
        self.environment = environment
        self.releasesIdleMemory = releasesIdleMemory
    }
}

/// The request context of the engine's API: it keeps the connection, to check who is on the
/// other end of the socket.
struct EngineRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The engine: one process per data directory that owns the store and the running instances,
/// serving every shell, script and tool over HTTP/1.1 on the Unix socket `mmsh.sock`.
public final class EngineService: Sendable {
    public let directory: DataDirectory
    public let engine: LocalEngine
    /// The typed API's calls (`RemoteEngine` on the other side).
    let calls: EngineCallServer
    let options: EngineOptions
    let startedAt = Date()
    let sessions = Mutex(0)
    let lastActivity = Mutex(ContinuousClock.now)
    let stopRequest = Mutex<CheckedContinuation<Void, Never>?>(nil)
    let stopping = Mutex(false)

    public var socketPath: String { directory.file(EngineFiles.socket).path }
    var isStopping: Bool { stopping.withLock { $0 } }

    public init(directory: DataDirectory, options: EngineOptions) throws(StoreError) {
        self.directory = directory
        self.options = options
        // Metrics are recorded from the first instance on.
        _ = EngineMetrics.registry
        let store = try Store.open(directory: directory)
        let vault = Vault(url: directory.file("vault.json"))
        engine = LocalEngine(store: store, vault: vault, shared: true, recordingsDirectory: directory.url.appendingPathComponent("recordings"))
        calls = EngineCallServer(engine: engine)
    }

    /// Serves until stopped (`POST /v1/daemon/stop`, SIGTERM, SIGINT, or idle); every running
    /// instance is stopped (orders cancelled and confirmed) before it returns.
    public func run(onListening: @escaping @Sendable () -> Void = {}) async throws {
        let setup = try await Shell(api: engine, console: BufferConsole(), detachable: true, environment: options.environment)
        let interrupted = await setup.closeInterruptedRuns()
        // We hold the directory's lock, so a socket file left there is a crashed engine's.
        unlink(socketPath)
        var logger = Logger(label: "mmsh.engine")
        logger.logLevel = .critical
        let router = Router(context: EngineRequestContext.self)
        router.add(middleware: SameUserMiddleware(stopping: { [weak self] in self?.isStopping ?? true }))
        routes(router)
        let path = socketPath
        let app = Application(router: router,
                              server: .http1(),
                              configuration: .init(address: .unixDomainSocket(path: path)),
                              onServerRunning: { _ in
                                  chmod(path, 0o600)
                                  onListening()
                              },
                              logger: logger)
        let signals = SignalWatcher { [weak self] in self?.requestStop() }
        defer { unlink(path) }
        // Instances that a crash interrupted, with autostart on, start beside the first clients.
        let autostart = Task {
            for line in await setup.autostart(interrupted) {
                FileHandle.standardError.write(Data("\(LogTime.now()) \(line)\n".utf8))
            }
        }
        defer { autostart.cancel() }
        defer { signals.cancel() }
        let server = GracefulServer(app, logger: logger)
        let serving = Task { try await server.run() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await serving.value }
            group.addTask { await self.waitForStop() }
            group.addTask { await self.serveTCP() }
            group.addTask { try await self.watchIdle(self.options.idleExit) }
            _ = try await group.next()
            // Instances stop (orders cancelled and confirmed) while the socket still answers, so
            // that `daemon stop` sees the engine gone only once everything is stopped. Whatever
            // ended the wait (idleness, the server), the stop request is made too: its waiting
            // child ends only so, and the group with it.
            requestStop()
            await shutdown()
            // Then the socket closes gracefully: open streams end, connections finish.
            calls.endStreams()
            await server.stop()
            _ = try? await serving.value
            group.cancelAll()
        }
    }

    func waitForStop() async {
        await withCheckedContinuation { c in
            let already = stopping.withLock { s in
                if s { return true }
                stopRequest.withLock { $0 = c }
                return false
            }
            if already { c.resume() }
        }
    }

    /// Ends `run`: by the API, a signal or idleness.
    public func requestStop() {
        let c: CheckedContinuation<Void, Never>? = stopping.withLock { s in
            s = true
            return stopRequest.withLock { r in defer { r = nil }; return r }
        }
        c?.resume()
    }

    func shutdown() async {
        for r in await engine.recorders.stopAll() {
            FileHandle.standardError.write(Data("recording \(r.id) of \(r.pair) ended (engine stopped): \(r.path)\n".utf8))
        }
        for (id, n) in await engine.manager.stopAll(reason: "engine stopped") {
            FileHandle.standardError.write(Data("stopped \(id): \(n) order\(n == 1 ? "" : "s") cancelled (engine stopped)\n".utf8))
        }
    }

    /// Twice a second: with nothing running or recording and no call for ten seconds, the engine
    /// gives back the memory it no longer uses (`MemoryTrim`, once each time it turns idle: the
    /// code it pages out is read back by the next command, so not at every pause); with nobody
    /// attached either for `idleExit`, it leaves.
    func watchIdle(_ idleExit: Duration?) async throws {
        var wasIdle = false
        var lastBusy = ContinuousClock.now
        while true {
            try await Task.sleep(for: .milliseconds(500))
            // A recording keeps the engine up as a running instance does.
            let running = await engine.manager.runningCount + engine.recorders.recordingCount
            let lastCall = lastActivity.withLock { $0 }
            let idle = running == 0 && ContinuousClock.now - lastCall >= .seconds(10)
            if idle && !wasIdle && options.releasesIdleMemory { MemoryTrim.releaseIdlePages() }
            wasIdle = idle
            if sessions.withLock({ $0 }) > 0 || running > 0 { lastBusy = .now }
            if let idleExit, ContinuousClock.now - max(lastBusy, lastCall) >= idleExit { return }
        }
    }

    func touch() { lastActivity.withLock { $0 = .now } }
}

/// Only the user who runs the engine may use it: the socket is 0600 in a 0700 directory, and
/// each connection's peer is checked (SO_PEERCRED) as well.
struct SameUserMiddleware: RouterMiddleware {
    typealias Context = EngineRequestContext
    struct PeerCredentials: Sendable { var pid: Int32 = 0; var uid: UInt32 = 0; var gid: UInt32 = 0 }

    let stopping: @Sendable () -> Bool
    /// Over TCP the bearer token stands for the peer check.
    var checkPeer = true

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if stopping() && request.uri.path != "/v1/daemon" {
            return HTTPFailure(status: .serviceUnavailable, code: "stopping", message: "the engine is stopping its instances and will exit; start mmsh again afterwards").response
        }
        if checkPeer, let provider = context.channel as? SocketOptionProvider {
            let peer: PeerCredentials? = try? await provider.unsafeGetSocketOption(level: .init(SOL_SOCKET), name: .init(SO_PEERCRED)).get()
            if let peer, peer.uid != getuid() {
                return HTTPFailure(status: .forbidden, code: "forbidden",
                                message: "this engine belongs to another user (uid \(getuid())); connections from uid \(peer.uid) are refused").response
            }
        }
        do {
            return try await next(request, context)
        } catch let e as HTTPFailure {
            return e.response
        } catch let e as HTTPError {
            // The router's own refusals (no such path, a body too large) in the API's words.
            let message: String
            switch e.status {
            case .notFound: message = "no such path: \(request.method.rawValue) \(request.uri.path); GET /v1/openapi.json lists the API"
            case .methodNotAllowed: message = "\(request.uri.path) does not take \(request.method.rawValue); GET /v1/openapi.json lists the API"
            case .contentTooLarge: message = "the request body is too large"
            default: message = e.body ?? e.status.reasonPhrase
            }
            let code = e.status == .notFound ? "not_found" : e.status == .contentTooLarge ? "too_large" : "bad_request"
            return HTTPFailure(status: e.status, code: code, message: message).response
        }
    }
}

/// SIGTERM and SIGINT stop the engine cleanly; SIGHUP and SIGPIPE are ignored (the engine has no terminal).
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    init(_ action: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        // A parent may have started us with these blocked (masks are inherited).
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGINT, SIGTERM] { sigaddset(&unblock, sig) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }
    func cancel() { sources.forEach { $0.cancel() } }
}
