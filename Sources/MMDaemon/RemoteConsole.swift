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
        var yesNo: [Int: CheckedContinuation<Bool, Never>] = [:]
        var secrets: [Int: CheckedContinuation<String?, Never>] = [:]
        var interrupted = false
        var gone = false
    }
    private let state = Mutex(State())

    init(hello: Hello, send: @escaping @Sendable (SessionFrame) -> Void) {
        isInteractive = hello.interactive
        isTerminal = hello.terminal
        self.send = send
    }

    func write(_ text: String) { send(.out(text)) }
    func writeError(_ text: String) { send(.err(text)) }

    func confirm(_ question: String) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let id: Int? = state.withLock { s in
                guard !s.gone else { return nil }
                s.nextQuestion += 1
                s.yesNo[s.nextQuestion] = c
                return s.nextQuestion
            }
            guard let id else { return c.resume(returning: false) }
            var f = SessionFrame(.ask)
            f.id = id
            f.text = question
            send(f)
        }
    }

    func readSecret(_ prompt: String) async -> String? {
        await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
            let id: Int? = state.withLock { s in
                guard !s.gone else { return nil }
                s.nextQuestion += 1
                s.secrets[s.nextQuestion] = c
                return s.nextQuestion
            }
            guard let id else { return c.resume(returning: nil) }
            var f = SessionFrame(.askSecret)
            f.id = id
            f.text = prompt
            send(f)
        }
    }

    var interrupted: Bool { state.withLock { $0.interrupted } }

    /// A new command begins: an earlier Ctrl-C is spent.
    func beginCommand() { state.withLock { $0.interrupted = false } }
    func interrupt() { state.withLock { $0.interrupted = true } }

    func answer(_ id: Int, yes: Bool) { state.withLock { $0.yesNo.removeValue(forKey: id) }?.resume(returning: yes) }
    func answer(_ id: Int, secret: String?) { state.withLock { $0.secrets.removeValue(forKey: id) }?.resume(returning: secret) }

    /// The client went away: whatever waits for it gets "no", and a follow command ends.
    func disconnected() {
        let (yesNo, secrets) = state.withLock { s in
            s.gone = true
            s.interrupted = true
            defer { s.yesNo = [:]; s.secrets = [:] }
            return (Array(s.yesNo.values), Array(s.secrets.values))
        }
        yesNo.forEach { $0.resume(returning: false) }
        secrets.forEach { $0.resume(returning: nil) }
    }
}
