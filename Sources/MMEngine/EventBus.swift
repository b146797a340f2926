import Foundation
import MMStorage
import Synchronization

/// Every log entry of every instance as it happens, to whoever follows (`log --tail`,
/// `status --watch`): a typed stream, not the database polled. Entries are published whether or
/// not the store took them (their id is nil when it did not).
public final class EventBus: Sendable {
    private let subscribers = Mutex<[UInt64: AsyncStream<EventRecord>.Continuation]>([:])
    private let next = Atomic<UInt64>(0)

    public init() {}

    public func publish(_ event: EventRecord) {
        for c in subscribers.withLock({ Array($0.values) }) { c.yield(event) }
    }

    /// A stream of the entries published from now on; it ends when `end` is called with its id.
    /// A follower that falls far behind loses the oldest entries, never the engine its memory.
    public func subscribe() -> (id: UInt64, events: AsyncStream<EventRecord>) {
        let id = next.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<EventRecord>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        return (id, stream)
    }

    public func end(_ id: UInt64) {
        subscribers.withLock { $0.removeValue(forKey: id) }?.finish()
    }

    public var followers: Int { subscribers.withLock { $0.count } }
}
