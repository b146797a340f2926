import Foundation

/// The `mmsh` binary under test: `$MMSH_BIN` (set by scripts/test), else the debug build.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let mmshBinary: String = {
    if let bin = ProcessInfo.processInfo.environment["MMSH_BIN"], !bin.isEmpty { return bin }
    return packageRoot.appendingPathComponent(".build/debug/mmsh").path
}()

/// A fresh data directory, removed at the end.
final class TempHome {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-sys-\(UUID().uuidString)")
    init() { try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    var path: String { url.path }
    deinit {
        // The engine a test's clients started goes with its directory: every instance stopped.
        _ = try? run(["daemon", "stop"], home: self)
        try? FileManager.default.removeItem(at: url)
    }

    func write(_ name: String, _ text: String, executable: Bool = false) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path) }
        return file.path
    }
}

struct RunResult {
    var status: Int32
    var out: String
    var err: String
}

/// Runs `mmsh` (or another program) with the data directory at `home`, stdin from `input`.
func run(_ arguments: [String], home: TempHome, input: String? = nil, executable: String = mmshBinary,
         environment extra: [String: String] = [:]) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["MMSH_HOME"] = home.path
    env.removeValue(forKey: "NO_COLOR")
    // An engine a client starts leaves soon after its last client when nothing runs.
    env["MMSH_ENGINE_IDLE"] = "3"
    for (k, v) in extra { env[k] = v }
    p.environment = env
    p.currentDirectoryURL = home.url
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
}

extension TempHome {
    /// The pid of the engine serving this directory (it writes it into the lock file), if one runs.
    var enginePid: Int32? {
        guard let text = try? String(contentsOf: url.appendingPathComponent("mmsh.lock"), encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// Kills the engine as a crash would (SIGKILL) and waits for it to be gone.
    func killEngine() {
        guard let pid = enginePid else { return }
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while kill(pid, 0) == 0 && Date() < deadline { usleep(20_000) }
    }

    /// The files of the data directory that hold data (not its socket), for scans for secrets.
    var dataFiles: [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []).filter { name in
            var info = stat()
            return lstat(url.appendingPathComponent(name).path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        }
    }
}

/// A real terminal: mmsh inside a private tmux server.
final class Terminal {
    let socket = "mmsh-test-\(UUID().uuidString.prefix(8))"
    let home: TempHome

    init(home: TempHome) { self.home = home }

    /// Runs a tmux command and returns what it printed.
    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        try spawn(["tmux", "-L", socket, "-f", "/dev/null"] + args)
    }

    /// Starts mmsh in a new 120×40 terminal. When mmsh exits, the pane shows
    /// `mmsh exited with status N` and stays open for the test to read.
    func start(environment: [String: String] = [:]) throws {
        let extra = environment.map { "\($0.key)='\($0.value)'" }.sorted().joined(separator: " ")
        let command = "env MMSH_HOME='\(home.path)' MMSH_ENGINE_IDLE=3 TERM=xterm \(extra) '\(mmshBinary)'; echo \"mmsh exited with status $?\"; sleep 600"
        try tmux(["new-session", "-d", "-x", "120", "-y", "40", "-s", "t", command])
    }

    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", "t"] + keys) }
    /// Types text literally (no key names).
    func type(_ text: String) throws { try tmux(["send-keys", "-t", "t", "-l", text]) }
    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "t"]) }

    /// Waits until the screen satisfies `condition`; returns the screen either way.
    @discardableResult
    func waitFor(timeout: Double = 15, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var s = ""
        while Date() < deadline {
            s = try screen()
            if condition(s) { return s }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return s
    }

    /// Waits for `text` to appear. tmux drops trailing blanks of screen lines, so they are
    /// dropped from `text` too (a prompt `mmsh> ` shows as `mmsh>` until something is typed).
    @discardableResult
    func waitFor(_ text: String, timeout: Double = 15) throws -> String {
        let needle = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n")
        return try waitFor(timeout: timeout) { $0.contains(needle) }
    }

    /// The last non-empty line on screen.
    func lastLine() throws -> String {
        try screen().split(separator: "\n").last.map(String.init) ?? ""
    }

    func stop() { _ = try? tmux(["kill-server"]) }
    deinit { stop() }
}

struct SpawnError: Error { var message: String }

let spawnLock = NSLock()

/// Runs a program found on PATH, waits for it and returns its standard output.
/// posix_spawn and waitpid rather than Foundation's Process: tmux forks a server that outlives
/// the client, and Process has been seen to wait on such a client forever.
func spawn(_ argv: [String]) throws -> String {
    // Tests spawn from several threads at once: a pipe end that leaked into another test's tmux
    // server (which outlives its client) once kept this read waiting for an end of file that
    // never came. Both ends are close-on-exec (the child's stdout is a dup2, which clears it),
    // and making a pipe and spawning are one step under a lock, so no other spawn sees a pipe
    // before it is marked.
    spawnLock.lock()
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { spawnLock.unlock(); throw SpawnError(message: "pipe failed") }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    // Test threads block signals, and a spawned process inherits the mask: start from a clean one
    // so that the programs under test see Ctrl-C as a user's would.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, environ)
    close(fds[1])
    spawnLock.unlock()
    guard rc == 0 else { close(fds[0]); throw SpawnError(message: "cannot run \(argv[0]): \(rc)") }
    // Read until the client closes its end; a forked server keeps only /dev/null.
    var data = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fds[0], &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        data.append(contentsOf: buffer[..<n])
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return String(decoding: data, as: UTF8.self)
}

/// mmsh reading commands from a pipe that stays open, for tests that signal or kill it.
final class PipedMmsh {
    let process = Process()
    let input = Pipe(), output = Pipe(), errors = Pipe()
    private var seen = ""

    init(home: TempHome, environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: mmshBinary)
        var env = ProcessInfo.processInfo.environment
        env["MMSH_HOME"] = home.path
        env["MMSH_ENGINE_IDLE"] = "3"
        for (k, v) in extra { env[k] = v }
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    func send(_ lines: String) { input.fileHandleForWriting.write(Data(lines.utf8)) }

    /// Reads standard output until `text` has appeared (or 10 s have passed).
    func waitFor(_ text: String) {
        seen = readUntil(output.fileHandleForReading.fileDescriptor, contains: text, after: seen)
    }

    func signal(_ sig: Int32) {
        kill(process.processIdentifier, sig)
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
    }

    var stderr: String { String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
}

/// Reads `fd` until what was read contains `text`, the pipe closes, or `seconds` pass: a
/// deadline that holds even when nothing arrives (a blocking read would wait forever).
func readUntil(_ fd: Int32, contains text: String, after start: String = "", seconds: Double = 10) -> String {
    var seen = start
    let deadline = Date().addingTimeInterval(seconds)
    var buffer = [UInt8](repeating: 0, count: 65536)
    while !seen.contains(text) {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { break }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(left * 1000)) > 0 else { break }
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { break }
        seen += String(decoding: buffer[..<n], as: UTF8.self)
    }
    return seen
}
