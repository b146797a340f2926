import Foundation
import MMControl
import MMShell
import Synchronization

/// The console of a shell attached over the socket: output goes out as frames, in order;
/// questions go to the client's terminal and wait for its answer (or its disconnection).
final class RemoteConsole: Console {
    let isInteractive: Bool
    let isTerminal: Bool
    private let send: @Sendable (SessionFrame) -> Void
    private struct State {
        var nextQuestion = 0
        /// Questions waiting for the client: each resumes its command with the answer, or with
        /// nil when the client is gone.
        var waiting: [Int: @Sendable (SessionFrame?) -> Void] = [:]
        var interrupted = false
        var gone = false
        var columns: Int?
    }
    private let state = Mutex(State())

    init(hello: Hello, send: @escaping @Sendable (SessionFrame) -> Void) {
        isInteractive = hello.interactive
        isTerminal = hello.terminal
        self.send = send
    }

    /// The client terminal's width as of its latest command.
    var columns: Int? { state.withLock { $0.columns } }
    func setColumns(_ n: Int?) { state.withLock { $0.columns = n } }

    func write(_ text: String) { send(.out(text)) }
    func writeError(_ text: String) { send(.err(text)) }

    func confirm(_ question: String) async -> Bool {
        await ask(.ask, question) { $0?.yes ?? false }
    }

    func readSecret(_ prompt: String) async -> String? {
        await ask(.askSecret, prompt) { $0?.text }
    }

    /// Sends a question and waits for the frame that answers it.
    private func ask<T: Sendable>(_ kind: SessionFrame.Kind, _ text: String, _ answer: @escaping @Sendable (SessionFrame?) -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            let id: Int? = state.withLock { s in
                guard !s.gone else { return nil }
                s.nextQuestion += 1
                s.waiting[s.nextQuestion] = { frame in c.resume(returning: answer(frame)) }
                return s.nextQuestion
            }
            guard let id else { return c.resume(returning: answer(nil)) }
            var f = SessionFrame(kind)
            f.id = id
            f.text = text
            send(f)
        }
    }

    var interrupted: Bool { state.withLock { $0.interrupted } }

    /// A new command begins: an earlier Ctrl-C is spent.
    func beginCommand() { state.withLock { $0.interrupted = false } }
    func interrupt() { state.withLock { $0.interrupted = true } }

    /// The client's `answer` or `secret` frame for a question.
    func answered(_ frame: SessionFrame) {
        guard let id = frame.id else { return }
        state.withLock { $0.waiting.removeValue(forKey: id) }?(frame)
    }

    /// The client went away: whatever waits for it gets "no", and a follow command ends.
    func disconnected() {
        let waiting = state.withLock { s in
            s.gone = true
            s.interrupted = true
            defer { s.waiting = [:] }
            return Array(s.waiting.values)
        }
        waiting.forEach { $0(nil) }
    }
}
