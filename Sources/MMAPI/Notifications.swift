import Synchronization

/// Lines waiting to be shown; filled by running instances, emptied by the prompt.
public final class NotificationQueue: Sendable {
    private let lines = Mutex<[String]>([])
    private let waker = Mutex<(@Sendable () -> Void)?>(nil)
    public init() {}
    public func append(_ line: String) {
        lines.withLock { $0.append(line) }
        waker.withLock { $0 }?()
    }
    public func take() -> [String] { lines.withLock { l in defer { l = [] }; return l } }
    /// Called after each new line (an attached client is told at once).
    public func onAppend(_ action: @escaping @Sendable () -> Void) { waker.withLock { $0 = action } }
}

/// Sends each instance warning to every attached shell's queue.
public final class NotificationHub: Sendable {
    private let queues = Mutex<[ObjectIdentifier: NotificationQueue]>([:])
    public init() {}
    public func subscribe(_ q: NotificationQueue) { queues.withLock { $0[ObjectIdentifier(q)] = q } }
    public func unsubscribe(_ q: NotificationQueue) { _ = queues.withLock { $0.removeValue(forKey: ObjectIdentifier(q)) } }
    public func publish(_ line: String) {
        for q in queues.withLock({ Array($0.values) }) { q.append(line) }
    }
}
