import Synchronization

/// Wakes an instance's loop early: the market changed, so the next decision should not wait for
/// the timer. Signals coalesce; a signal with nobody waiting is kept for the next wait.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: Int, continuation: CheckedContinuation<Void, Never>)?
        /// A wait whose timeout or cancellation came before it began waiting: it returns at once.
        var ended: Int?
        var next = 0
    }
    private let state = Mutex(State())

    func signal() {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else { s.pending = true; return nil }
            s.waiter = nil
            return w.continuation
        }
        c?.resume()
    }

    /// Returns at the first signal, after `timeout`, or when the task is cancelled.
    func wait(upTo timeout: Duration) async {
        let id = state.withLock { s -> Int in s.next += 1; return s.next }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.pending { s.pending = false; return true }
                    if s.ended == id { return true }
                    s.waiter = (id, c)
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            self.resume(id)
        }
        timer.cancel()
    }

    private func resume(_ id: Int) {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter, w.id == id else {
                s.ended = id
                return nil
            }
            s.waiter = nil
            return w.continuation
        }
        c?.resume()
    }
}
