import Foundation
import Synchronization

/// Where the shell writes and how it asks. The line editor provides a terminal one; tests and
/// scripts use others.
public protocol Console: Sendable {
    /// A person is there to answer questions (stdin is a terminal).
    var isInteractive: Bool { get }
    /// Stdout is a terminal (colour and tables may be used).
    var isTerminal: Bool { get }
    func write(_ text: String)
    func writeError(_ text: String)
    /// Asks a yes/no question; false unless answered yes.
    func confirm(_ question: String) async -> Bool
    /// Reads a secret without echo (a passphrase, an API secret); nil when no one can answer.
    func readSecret(_ prompt: String) async -> String?
    /// Ctrl-C was pressed since the current command began.
    var interrupted: Bool { get }
    /// The terminal's width in columns, when known: long lines wrap at it.
    var columns: Int? { get }
}

extension Console {
    public var columns: Int? { nil }
}

/// Standard output and error, with no one to ask.
public struct StandardConsole: Console {
    public let isInteractive: Bool
    public let isTerminal: Bool
    private let interruptFlag: @Sendable () -> Bool
    private let ask: (@Sendable (String) async -> Bool)?
    private let askSecret: (@Sendable (String) async -> String?)?
    private let width: @Sendable () -> Int?

    public init(isInteractive: Bool = false, isTerminal: Bool = isatty(STDOUT_FILENO) != 0,
                interrupted: @escaping @Sendable () -> Bool = { false },
                confirm: (@Sendable (String) async -> Bool)? = nil,
                readSecret: (@Sendable (String) async -> String?)? = nil,
                columns: @escaping @Sendable () -> Int? = { nil }) {
        self.isInteractive = isInteractive
        self.isTerminal = isTerminal
        self.interruptFlag = interrupted
        self.ask = confirm
        self.askSecret = readSecret
        self.width = columns
    }

    public var columns: Int? { width() }

    public func write(_ text: String) { FileDescriptorWriter.write(text, to: STDOUT_FILENO) }
    public func writeError(_ text: String) { FileDescriptorWriter.write(text, to: STDERR_FILENO) }
    public func confirm(_ question: String) async -> Bool { await ask?(question) ?? false }
    public func readSecret(_ prompt: String) async -> String? { await askSecret?(prompt) }
    public var interrupted: Bool { interruptFlag() }
}

enum FileDescriptorWriter {
    static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }
}

/// Collects output in memory; answers questions from a script of answers. For tests.
public final class BufferConsole: Console {
    private struct State {
        var out = ""
        var err = ""
        var answers: [Bool] = []
        var questions: [String] = []
        var secrets: [String] = []
        var interrupted = false
    }
    private let state = Mutex(State())
    public let isInteractive: Bool
    public let isTerminal: Bool

    public init(isInteractive: Bool = false, isTerminal: Bool = false, answers: [Bool] = [], secrets: [String] = []) {
        self.isInteractive = isInteractive
        self.isTerminal = isTerminal
        state.withLock { $0.answers = answers; $0.secrets = secrets }
    }

    public func readSecret(_ prompt: String) async -> String? {
        state.withLock { s in
            s.questions.append(prompt)
            return s.secrets.isEmpty ? nil : s.secrets.removeFirst()
        }
    }

    public func write(_ text: String) { state.withLock { $0.out += text } }
    public func writeError(_ text: String) { state.withLock { $0.err += text } }
    public func confirm(_ question: String) async -> Bool {
        state.withLock { s in
            s.questions.append(question)
            return s.answers.isEmpty ? false : s.answers.removeFirst()
        }
    }
    public var interrupted: Bool { state.withLock { $0.interrupted } }
    public func interrupt() { state.withLock { $0.interrupted = true } }

    public var out: String { state.withLock { $0.out } }
    public var err: String { state.withLock { $0.err } }
    public var questions: [String] { state.withLock { $0.questions } }
    /// Returns and clears what was written.
    public func take() -> (out: String, err: String) {
        state.withLock { s in
            defer { s.out = ""; s.err = "" }
            return (s.out, s.err)
        }
    }
}
