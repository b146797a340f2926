import Foundation
import LineEditing
import MMAPI
import MMControl
import MMShell
import MMStorage
import Synchronization

/// A client of the engine: every `mmsh` but `daemon`, `sim` and dry runs. The shell runs here,
/// in the client: it reads the terminal, the scripts and the files commands name, asks its
/// questions on this terminal, and reaches the data directory's engine (started when none runs)
/// through `RemoteEngine`, the typed API on the engine's socket. Instances live in the engine,
/// so whatever happens to this process, they go on.
final class EngineClient: Sendable {
    let shell: Shell
    let engine: RemoteEngine
    let directory: URL
    let socket: String
    /// Lines to show above the prompt (or on stderr, without one): instance warnings, and news of the engine.
    let inbox = Inbox()
    /// The notifications stream ended: the engine stopped or died. The next line finds or
    /// starts an engine first, and hears the new one.
    private let engineGone = Atomic<Bool>(false)
    /// The notifications stream is open (or opening).
    private let listening = Atomic<Bool>(false)
    /// The client is done: no stream is opened any more.
    private let closed = Atomic<Bool>(false)

    private init(shell: Shell, engine: RemoteEngine, directory: URL, socket: String) {
        self.shell = shell
        self.engine = engine
        self.directory = directory
        self.socket = socket
    }

    // MARK: Finding the engine

    /// Seconds an engine started by a client stays up with nothing running and nobody attached.
    static var idleExit: Int {
        ProcessInfo.processInfo.environment["MMSH_ENGINE_IDLE"].flatMap { Int($0) }.map { max(1, $0) } ?? 60
    }

    /// A shell on the data directory's engine, starting the engine when none runs.
    static func attach(interactive: Bool) throws(ControlError) -> EngineClient {
        let directory = DataDirectory.resolve()
        let socket = directory.appendingPathComponent(EngineFiles.socket).path
        _ = try connect(socket: socket, directory: directory)
        let engine = RemoteEngine(socket: socket, notify: false)
        let editor = interactive ? ClientEditor.shared : nil
        let console = StandardConsole(isInteractive: interactive, isTerminal: isatty(STDOUT_FILENO) != 0,
                                      interrupted: { Interrupt.requested },
                                      confirm: { question in editor?.ask(question) ?? false },
                                      readSecret: { prompt in editor?.readHidden(prompt) },
                                      columns: { terminalColumns() })
        do throws(ShellError) {
            let shell = try blocking { () async throws(ShellError) in try await Shell(api: engine, console: console, detachable: true) }
            // The loops start hearing notifications (at once on a terminal, after a moment otherwise).
            return EngineClient(shell: shell, engine: engine, directory: directory, socket: socket)
        } catch {
            throw ControlError("\(error.message); see \(directory.appendingPathComponent(EngineFiles.log).path)")
        }
    }

    /// Hears the engine's notifications; when the stream ends, says so and marks the engine gone.
    func listen() {
        guard !closed.load(ordering: .relaxed), !listening.exchange(true, ordering: .relaxed) else { return }
        engine.listen { [self] in
            listening.store(false, ordering: .relaxed)
            engineGone.store(true, ordering: .relaxed)
            inbox.add(["mmsh: the engine stopped (\(directory.appendingPathComponent(EngineFiles.log).path) tells why); the next command starts it again"])
        }
    }

    /// Ends the streams this client holds; the engine lets it go.
    func close() {
        closed.store(true, ordering: .relaxed)
        engine.close()
    }

    /// Before each line: a gone engine is found again, or started (its crash-interrupted
    /// instances come back as `start` would, with autostart on).
    func ensureEngine() throws(ControlError) {
        guard engineGone.load(ordering: .relaxed) else { return }
        _ = try Self.connect(socket: socket, directory: directory)
        engineGone.store(false, ordering: .relaxed)
        listen()
    }

    /// A connection to the engine, starting one when none runs.
    static func connect(socket: String, directory: URL) throws(ControlError) -> SocketConnection {
        do { return try SocketConnection(path: socket) } catch where error.noEngine {
            try startEngine(directory: directory)
        }
        // The engine binds its socket once its store is open: wait for it, a few seconds at most.
        let deadline = Date().addingTimeInterval(15)
        var last = ControlError("the engine did not start")
        while Date() < deadline {
            do { return try SocketConnection(path: socket) } catch { last = error }
            usleep(20_000)
        }
        let log = directory.appendingPathComponent(EngineFiles.log).path
        let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: "; ") ?? ""
        throw ControlError("cannot start the engine for \(directory.path): \(last.message)\(tail.isEmpty ? "" : " (\(tail))"); see \(log)")
    }

    /// Starts `mmsh daemon` in the background: a session of its own (no terminal, so losing this
    /// one does not touch it), output to `daemon.log`.
    static func startEngine(directory: URL) throws(ControlError) {
        if mkdir(directory.path, 0o700) != 0 && errno != EEXIST {
            do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
            catch { throw ControlError("cannot create the data directory \(directory.path): \(error.localizedDescription)") }
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let log = directory.appendingPathComponent(EngineFiles.log).path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this client's (its terminal, a test's pipes) may stay open in the engine.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(entry), fd > 2 { _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new session (POSIX_SPAWN_SETSID), with the default handling and no blocked signals.
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | 0x80))
        let args = [executable, "daemon", "--idle-exit", "\(idleExit)"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        // Secrets stay in the client: the shell here uses them and sends the engine only what it needs.
        let secrets: Set<String> = ["MMSH_PASSPHRASE", "MMSH_NEW_PASSPHRASE", "MMSH_API_KEY", "MMSH_API_SECRET"]
        let environment = ProcessInfo.processInfo.environment.filter { !secrets.contains($0.key) }.map { "\($0.key)=\($0.value)" }
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        let rc = posix_spawn(&pid, executable, &actions, &attributes, &argv, &envp)
        guard rc == 0 else { throw ControlError("cannot start the engine (\(executable)): \(String(cString: strerror(rc)))") }
    }

    /// Standard output's width when it is a terminal.
    static func terminalColumns() -> Int? {
        guard isatty(STDOUT_FILENO) == 1 else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}

/// Lines waiting for the prompt, and a pipe that wakes the line editor when some arrive.
final class Inbox: Sendable {
    private let lines = Mutex<[String]>([])
    private let pipeFDs: (read: Int32, write: Int32)

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        pipeFDs = (fds[0], fds[1])
    }

    var wakeDescriptor: Int32 { pipeFDs.read }

    func add(_ new: [String]) {
        guard !new.isEmpty else { return }
        lines.withLock { $0 += new }
        var byte: UInt8 = 1
        _ = write(pipeFDs.write, &byte, 1)
    }

    func take() -> [String] {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(pipeFDs.read, &buffer, 64) > 0 {}
        return lines.withLock { l in defer { l = [] }; return l }
    }
}

/// Async work from the synchronous main thread, which libedit and the signal handling keep.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = BlockingResult<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// What a `blocking` task left for the waiting thread (written before the signal, read after).
private final class BlockingResult<T>: @unchecked Sendable { var value: T? }

/// The same, for work that may fail with the shell's error.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws(ShellError) -> T) throws(ShellError) -> T {
    let result: Result<T, ShellError> = blocking {
        do throws(ShellError) { return .success(try await body()) } catch { return .failure(error) }
    }
    return try result.get()
}
