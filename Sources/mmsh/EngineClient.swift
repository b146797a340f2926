import Foundation
import LineEditing
import MMControl
import MMShell
import MMStorage
import Synchronization

/// A client of the engine: every `mmsh` but `daemon`, `sim` and dry runs. It finds the engine of
/// the data directory (starting one when none runs), attaches a session, and sends it lines.
/// Instances live in the engine, so whatever happens to this process, they go on.
final class EngineClient {
    let session: SessionClient
    let directory: URL
    var state: ClientState
    /// Answers the engine's questions: the terminal, or nobody.
    let ask: (String) -> Bool
    let askSecret: (String) -> String?
    let interactive: Bool
    /// Notifications of running instances waiting for the next prompt (interactive), or printed at once.
    var pending: [String] = []
    static let completion = Mutex(CompletionData())

    init(session: SessionClient, directory: URL, state: ClientState, interactive: Bool,
         ask: @escaping (String) -> Bool, askSecret: @escaping (String) -> String?) {
        self.session = session
        self.directory = directory
        self.state = state
        self.interactive = interactive
        self.ask = ask
        self.askSecret = askSecret
    }

    // MARK: Finding the engine

    /// Seconds an engine started by a client stays up with nothing running and nobody attached.
    static var idleExit: Int {
        ProcessInfo.processInfo.environment["MMSH_ENGINE_IDLE"].flatMap { Int($0) }.map { max(1, $0) } ?? 60
    }

    /// Attaches to the data directory's engine, starting it when none runs.
    static func attach(interactive: Bool, terminal: Bool, ask: @escaping (String) -> Bool,
                       askSecret: @escaping (String) -> String?) throws(ControlError) -> EngineClient {
        let directory = DataDirectory.resolve()
        let socket = directory.appendingPathComponent(EngineFiles.socket).path
        let session = try connect(socket: socket, directory: directory)
        var env: [String: String] = [:]
        for key in Hello.forwarded { if let v = ProcessInfo.processInfo.environment[key] { env[key] = v } }
        var hello = SessionFrame(.hello)
        hello.hello = Hello(interactive: interactive, terminal: terminal, directory: FileManager.default.currentDirectoryPath, environment: env)
        try session.send(hello)
        let client = EngineClient(session: session, directory: directory,
                                  state: ClientState(prompt: "mmsh> ", instances: [], quit: false, historySize: 1000),
                                  interactive: interactive, ask: ask, askSecret: askSecret)
        // Greetings come before the welcome; a refusal comes as a `done` with an exit code.
        if let code = try client.pump(until: [.welcome, .done]), code != 0 { throw ControlError("", noEngine: false) }
        return client
    }

    static func connect(socket: String, directory: URL) throws(ControlError) -> SessionClient {
        do { return try SessionClient(socket: socket) } catch where error.noEngine {
            try startEngine(directory: directory)
        }
        // The engine binds its socket once its store is open: wait for it, a few seconds at most.
        let deadline = Date().addingTimeInterval(15)
        var last = ControlError("the engine did not start")
        while Date() < deadline {
            do { return try SessionClient(socket: socket) } catch { last = error }
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
        // Secrets stay out of the engine's environment: a client sends its own in its hello.
        let secrets: Set<String> = ["MMSH_PASSPHRASE", "MMSH_NEW_PASSPHRASE", "MMSH_API_KEY", "MMSH_API_SECRET"]
        let environment = ProcessInfo.processInfo.environment.filter { !secrets.contains($0.key) }.map { "\($0.key)=\($0.value)" }
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        let rc = posix_spawn(&pid, executable, &actions, &attributes, &argv, &envp)
        guard rc == 0 else { throw ControlError("cannot start the engine (\(executable)): \(String(cString: strerror(rc)))") }
    }

    // MARK: Commands

    /// Standard output's width when it is a terminal.
    static func terminalColumns() -> Int? {
        guard isatty(STDOUT_FILENO) == 1 else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// Runs a line in the engine; returns its exit code.
    func run(_ line: String, origin: String, number: Int? = nil) throws(ControlError) -> Int32 {
        var f = SessionFrame.run(line, origin: origin)
        f.id = number
        f.columns = Self.terminalColumns()
        try session.send(f)
        return try pump(until: [.done]) ?? 0
    }

    func runScript(path: String, keepGoing: Bool, echo: Bool) throws(ControlError) -> Int32 {
        var f = SessionFrame(.script)
        f.line = path
        f.keepGoing = keepGoing
        f.echo = echo
        try session.send(f)
        return try pump(until: [.done]) ?? 0
    }

    /// Handles the engine's frames until one of `kinds`; returns a `done` frame's exit code.
    /// Ctrl-C meanwhile goes to the engine, which ends the command that is running.
    @discardableResult
    func pump(until kinds: Set<SessionFrame.Kind>) throws(ControlError) -> Int32? {
        while true {
            var fds = [pollfd(fd: session.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: Interrupt.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
            let n = Interrupt.wakeDescriptor >= 0 ? poll(&fds, 2, 1000) : poll(&fds, 1, 1000)
            if n < 0 && errno != EINTR { throw ControlError("lost the connection to the engine") }
            if Interrupt.requested || (fds.count > 1 && fds[1].revents != 0) {
                var buffer = [UInt8](repeating: 0, count: 64)
                if Interrupt.wakeDescriptor >= 0 { while read(Interrupt.wakeDescriptor, &buffer, 64) > 0 {} }
                if Interrupt.requested { try session.send(SessionFrame(.interrupt)) }
            }
            while let frame = try session.receive(timeoutMs: 0) {
                if let code = try handle(frame, until: kinds) { return code }
            }
        }
    }

    /// nil to go on; an exit code (0 for `welcome`) when the awaited frame came.
    private func handle(_ frame: SessionFrame, until kinds: Set<SessionFrame.Kind>) throws(ControlError) -> Int32? {
        switch frame.type {
        case .out: FileHandle.standardOutput.write(Data((frame.text ?? "").utf8))
        case .err: FileHandle.standardError.write(Data((frame.text ?? "").utf8))
        case .ask:
            var answer = SessionFrame(.answer)
            answer.id = frame.id
            answer.yes = ask(frame.text ?? "")
            try session.send(answer)
        case .askSecret:
            var answer = SessionFrame(.secret)
            answer.id = frame.id
            answer.text = askSecret(frame.text ?? "")
            try session.send(answer)
        case .notify:
            if interactive { pending += frame.lines ?? [] } else {
                for line in frame.lines ?? [] { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
        case .welcome, .done:
            if let s = frame.state {
                state = s
                Self.completion.withLock {
                    $0.instances = s.instances.map { ($0.id, $0.name) }
                    $0.settings = Dictionary(uniqueKeysWithValues: s.instances.map { ($0.id, $0.settings ?? [:]) })
                    $0.current = s.current
                }
            }
            if kinds.contains(frame.type) { return frame.exitCode ?? 0 }
        default:
            break
        }
        return nil
    }

    /// At the prompt, the engine's notifications are shown as they arrive, above the line being
    /// typed; any other frame is handled as usual.
    func watchNotifications(_ editor: LineEditor) {
        editor.watch(fd: session.fd) { [unowned self] in
            var lines = self.takePending()
            do {
                while let frame = try self.session.receive(timeoutMs: 0) {
                    if frame.type == .notify { lines += frame.lines ?? [] } else { _ = try self.handle(frame, until: []) }
                }
            } catch {
                return lines.isEmpty ? nil : lines
            }
            return lines
        }
    }

    func takePending() -> [String] {
        defer { pending = [] }
        return pending
    }
}
