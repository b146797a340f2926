import CEditLine
import Foundation
import Synchronization

/// What reading a line gave.
public enum LineInput: Equatable, Sendable {
    case line(String)
    /// Ctrl-C: the line was abandoned.
    case interrupted
    /// Ctrl-D on an empty line, or the terminal went away.
    case eof
}

// libedit calls back into plain C function pointers, which cannot capture: the state they need
// lives here. libedit itself is process-global, so there is only ever one editor.
private let interruptFlag = Atomic<Bool>(false)
private let terminationFlag = Atomic<Bool>(false)
nonisolated(unsafe) private var wakeReadFD: Int32 = -1
nonisolated(unsafe) private var wakeWriteFD: Int32 = -1
nonisolated(unsafe) private var completionSource: (@Sendable (String) -> [String])?
nonisolated(unsafe) private var helpSource: (@Sendable (String) -> String)?
/// A descriptor whose news is shown above the line being typed (the engine's notifications),
/// and what reads it: the lines to show, or nil when the source is gone.
nonisolated(unsafe) private var backgroundFD: Int32 = -1
nonisolated(unsafe) private var backgroundDrain: (() -> [String]?)?

/// Shows what the background source has, above the prompt, and redraws the prompt with the
/// line as it was: libedit is inside readline() here, waiting for a key, so this is the one
/// thread that may touch the terminal.
private func showBackground() {
    guard backgroundFD >= 0, let drain = backgroundDrain else { return }
    guard let lines = drain() else {
        backgroundFD = -1
        return
    }
    guard !lines.isEmpty else { return }
    FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + lines.joined(separator: "\n") + "\n").utf8))
    rl_forced_update_display()
}

/// Ctrl-C, as seen by commands that run for a while (`log --tail`, `status --watch`).
public enum Interrupt {
    public static var requested: Bool { interruptFlag.load(ordering: .relaxed) }
    public static func clear() { interruptFlag.store(false, ordering: .relaxed) }

    /// Readable after Ctrl-C: poll it beside a descriptor that may block.
    public static var wakeDescriptor: Int32 { wakeReadFD }

    /// SIGTERM or SIGHUP arrived: finish cleanly (stop the instances) and exit.
    public static var terminationRequested: Bool { terminationFlag.load(ordering: .relaxed) }

    /// SIGINT sets the flag and wakes the editor's key reader through a pipe: under Swift
    /// concurrency the signal may land on a thread other than the one blocked in read().
    public static func install() {
        guard wakeReadFD < 0 else { return }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeReadFD = fds[0]
        wakeWriteFD = fds[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = onSigint
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: a blocked read returns EINTR
        sigaction(SIGINT, &action, nil)
        var terminate = sigaction()
        terminate.__sigaction_handler.sa_handler = onTerminate
        sigemptyset(&terminate.sa_mask)
        terminate.sa_flags = 0
        sigaction(SIGTERM, &terminate, nil)
        sigaction(SIGHUP, &terminate, nil)
        // A parent may have started us with these signals blocked (signal masks are inherited);
        // Ctrl-C and a request to terminate must reach this thread all the same.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&unblock, sig) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }
}

private func onTerminate(_: Int32) {
    terminationFlag.store(true, ordering: .relaxed)
    interruptFlag.store(true, ordering: .relaxed)
    var byte: UInt8 = 2
    _ = write(wakeWriteFD, &byte, 1)
}

private func onSigint(_: Int32) {
    interruptFlag.store(true, ordering: .relaxed)
    var byte: UInt8 = 1
    _ = write(wakeWriteFD, &byte, 1)
}

private func drainWakePipe() {
    var buffer = [UInt8](repeating: 0, count: 64)
    while read(wakeReadFD, &buffer, buffer.count) > 0 {}
}

/// Reads one character for libedit: polls stdin and the wake pipe, decodes UTF-8 itself
/// (libedit casts the result to wchar_t). -1 makes readline() return NULL.
private func readKey(_: UnsafeMutablePointer<FILE>?) -> Int32 {
    func readByte() -> Int32? {
        var b: UInt8 = 0
        while true {
            let n = read(STDIN_FILENO, &b, 1)
            if n == 1 { return Int32(b) }
            if n < 0 && errno == EINTR { if interruptFlag.load(ordering: .relaxed) { return nil }; continue }
            return nil
        }
    }
    while true {
        // News already read into the source's buffer is shown before waiting for more.
        showBackground()
        var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0)]
        if backgroundFD >= 0 { fds.append(pollfd(fd: backgroundFD, events: Int16(POLLIN), revents: 0)) }
        let r = poll(&fds, nfds_t(fds.count), -1)
        if r < 0 {
            if errno == EINTR { if interruptFlag.load(ordering: .relaxed) { return -1 }; continue }
            return -1
        }
        if fds[1].revents & Int16(POLLIN) != 0 { drainWakePipe(); return -1 }
        if fds.count > 2, fds[2].revents != 0 { showBackground() }
        guard fds[0].revents != 0 else { continue }
        guard let first = readByte() else { return -1 }
        let length = first < 0x80 ? 1 : first >> 5 == 0b110 ? 2 : first >> 4 == 0b1110 ? 3 : first >> 3 == 0b11110 ? 4 : 1
        guard length > 1 else { return first }
        var scalar = first & (0xFF >> (length + 1))
        for _ in 1..<length {
            guard let next = readByte(), next & 0xC0 == 0x80 else { return 0xFFFD }
            scalar = scalar << 6 | (next & 0x3F)
        }
        return scalar
    }
}

private func completionHook(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32)
    -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    ce_set_completion_over(1)  // never fall back to file names; reset by libedit after each call
    guard let source = completionSource, let buffer = ce_line_buffer() else { return nil }
    // Everything up to the cursor: completion is of the word being typed there.
    let line = String(cString: buffer)
    let upToCursor = String(line.utf8.prefix(Int(end))) ?? line
    let matches = source(upToCursor)
    guard !matches.isEmpty else { return nil }
    let entries = matches.count == 1 ? matches : [commonPrefix(matches)] + matches
    // libedit reads one entry past the terminating NULL: allocate two spare slots.
    let out = calloc(entries.count + 2, MemoryLayout<UnsafeMutablePointer<CChar>?>.stride)!
        .assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)
    for (i, s) in entries.enumerated() { out[i] = strdup(s) }
    return out
}

private func commonPrefix(_ words: [String]) -> String {
    guard var prefix = words.first else { return "" }
    for w in words.dropFirst() {
        while !w.hasPrefix(prefix) { prefix.removeLast() }
    }
    return prefix
}

private func contextHelpKey(_: Int32, _: Int32) -> Int32 {
    guard let source = helpSource, let buffer = ce_line_buffer() else { return 0 }
    let text = source(String(cString: buffer))
    FileHandle.standardOutput.write(Data(("\n" + text).utf8))
    rl_on_new_line()
    rl_forced_update_display()
    return 0
}

/// The interactive line editor: libedit's readline-compat API with completion, `?` help,
/// Ctrl-C handling and a history file that survives crashes.
public final class LineEditor {
    private let historyPath: String?
    private let historyLimit: Int
    private var recorded: Int = 0

    /// Sets up libedit on the terminal. Only one editor may exist in a process.
    public init(historyPath: String?, historyLimit: Int,
                complete: @escaping @Sendable (String) -> [String],
                help: @escaping @Sendable (String) -> String) {
        self.historyPath = historyPath
        self.historyLimit = historyLimit
        setlocale(LC_CTYPE, "")
        Interrupt.install()
        completionSource = complete
        helpSource = help
        ce_set_readline_name(strdup("mmsh"))
        ce_set_completer(completionHook)
        ce_set_getc(readKey)
        // Only blanks break words: `spread.bid`, `0.2%` and paths stay whole.
        ce_set_word_breaks(strdup(" \t"))
        rl_initialize()
        rl_add_defun("mmsh-context-help", contextHelpKey, Int32(UInt8(ascii: "?")))
        using_history()
        stifle_history(Int32(max(historyLimit, 1)))
        loadHistory()
    }

    /// While a line is read, news on `fd` is read by `drain` and shown above it as it comes
    /// (the line being typed is kept and redrawn). `drain` returns nil once the source is gone.
    public func watch(fd: Int32, drain: @escaping () -> [String]?) {
        backgroundDrain = drain
        backgroundFD = fd
    }

    /// Reads a line with editing; blocks until Enter, Ctrl-C or Ctrl-D.
    public func read(prompt: String) -> LineInput {
        drainWakePipe()
        if !terminationFlag.load(ordering: .relaxed) { interruptFlag.store(false, ordering: .relaxed) }
        guard let raw = readline(prompt) else {
            if terminationFlag.load(ordering: .relaxed) {
                FileHandle.standardOutput.write(Data("\n".utf8))
                return .eof
            }
            if interruptFlag.exchange(false, ordering: .relaxed) {
                FileHandle.standardOutput.write(Data("^C\n".utf8))
                return .interrupted
            }
            FileHandle.standardOutput.write(Data("\n".utf8))
            return .eof
        }
        defer { free(raw) }
        return .line(String(cString: raw))
    }

    /// Asks a question on the terminal; nil on Ctrl-C or Ctrl-D. Not recorded in history.
    public func ask(_ question: String) -> String? {
        if case .line(let answer) = read(prompt: question) { return answer }
        return nil
    }

    /// Reads a line with echo off (a passphrase, a secret); nil on Ctrl-C or end of input.
    /// Never added to the history.
    public func readHidden(prompt: String) -> String? {
        FileHandle.standardOutput.write(Data(prompt.utf8))
        var saved = termios()
        let isTTY = tcgetattr(STDIN_FILENO, &saved) == 0
        if isTTY {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ICANON | ISIG)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer {
            if isTTY { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
        drainWakePipe()
        interruptFlag.store(false, ordering: .relaxed)
        var bytes: [UInt8] = []
        while true {
            var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 && errno != EINTR { return nil }
            if interruptFlag.load(ordering: .relaxed) { return nil }
            guard fds[0].revents != 0 else { continue }
            var b: UInt8 = 0
            let n = Glibc.read(STDIN_FILENO, &b, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(b)
        }
    }

    /// Adds a line to the history, in memory and at the end of the history file.
    public func record(_ line: String) {
        add_history(line)
        guard let historyPath, historyLimit > 0 else { return }
        // One append per line (crash-safe); libedit's own file format is avoided on purpose:
        // its append_history rewrites earlier entries.
        let fd = open(historyPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let data = Array((line + "\n").utf8)
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        recorded += 1
        if recorded % 100 == 0 { compactHistory() }
    }

    private func historyLines() -> [String] {
        guard let historyPath, let data = FileManager.default.contents(atPath: historyPath) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    private func loadHistory() {
        let lines = historyLines()
        for line in lines.suffix(historyLimit) { add_history(line) }
        if lines.count > historyLimit * 2 { compactHistory() }
    }

    /// Keeps the newest `historyLimit` lines, replacing the file atomically.
    private func compactHistory() {
        guard let historyPath else { return }
        let keep = historyLines().suffix(historyLimit)
        let tmp = historyPath + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let data = Array(keep.map { $0 + "\n" }.joined().utf8)
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        rename(tmp, historyPath)
    }
}
