import MMCore
import MMStrategy

/// The local copy of a symbol's order book, kept as MEXC specifies for its aggregated depth
/// stream: diffs are buffered until a REST snapshot arrives; diffs the snapshot already holds
/// are dropped; the first one applied must straddle the snapshot's version; after that each
/// diff must start right after the previous one ends. A gap, a duplicate or a regression drops
/// the book and asks for a new snapshot. Quantities are absolute: 0 removes a level. Pure: no I/O.
public struct LocalBook: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The book changed and is in sync.
        case applied
        /// No snapshot yet (or a new one is awaited): the diff is kept for later.
        case buffered
        /// The diff is older than the book (already in the snapshot): nothing changed.
        case stale
        /// The versions do not follow on: the book is dropped until a new snapshot.
        case needsSnapshot(reason: String)
    }

    /// The levels, kept best last so that changes near the touch move few elements.
    public private(set) var levels = DepthBook()
    /// Levels best first.
    public var bids: [BookLevel] { levels.bidLevels.reversed() }
    public var asks: [BookLevel] { levels.askLevels.reversed() }
    /// The version the book is at; nil while it is not in sync.
    public private(set) var version: Int64?
    /// Whether the next diff must straddle `version` rather than follow it exactly.
    var awaitingFirst = false
    var buffer: [DepthDiff] = []
    /// Diffs kept while waiting for a snapshot; the oldest are dropped past this.
    public static let bufferLimit = 1000

    public init() {}

    public var isSynced: Bool { version != nil }
    public var bestBid: BookLevel? { levels.bestBid }
    public var bestAsk: BookLevel? { levels.bestAsk }

    /// The book's top `depth` levels a side, best first.
    public func book(depth: Int = .max) -> OrderBook { levels.book(depth: depth) }

    /// Forgets the book (a reconnect): diffs are buffered until the next snapshot.
    public mutating func reset() {
        version = nil
        awaitingFirst = false
        levels.removeAll()
        buffer.removeAll()
    }

    /// A diff from the stream.
    public mutating func apply(_ diff: DepthDiff) -> Outcome {
        guard diff.fromVersion <= diff.toVersion else {
            return desync("diff \(diff.fromVersion)…\(diff.toVersion) runs backwards", keep: nil)
        }
        guard let v = version else {
            buffer.append(diff)
            if buffer.count > Self.bufferLimit { buffer.removeFirst(buffer.count - Self.bufferLimit) }
            return .buffered
        }
        if awaitingFirst {
            if diff.toVersion <= v { return .stale }
            guard diff.fromVersion <= v + 1 else { return desync("gap after the snapshot: \(v) then \(diff.fromVersion)…\(diff.toVersion)", keep: diff) }
            awaitingFirst = false
        } else if diff.fromVersion != v + 1 {
            let what = diff.toVersion <= v ? "a duplicate or an older diff" : "a gap"
            return desync("\(what): at \(v), got \(diff.fromVersion)…\(diff.toVersion)", keep: diff.toVersion > v ? diff : nil)
        }
        set(diff)
        version = diff.toVersion
        return .applied
    }

    /// A REST snapshot (`GET /depth`): its `lastUpdateId` and levels, best first. Buffered
    /// diffs it already holds are dropped and the rest applied.
    public mutating func snapshot(lastUpdateId: Int64, bids: [BookLevel], asks: [BookLevel]) -> Outcome {
        levels = DepthBook(OrderBook(bids: bids, asks: asks))
        version = lastUpdateId
        awaitingFirst = true
        let pending = buffer.filter { $0.toVersion > lastUpdateId }
        buffer.removeAll()
        for diff in pending {
            let outcome = apply(diff)
            if case .needsSnapshot = outcome { return outcome }
        }
        return .applied
    }

    mutating func desync(_ reason: String, keep diff: DepthDiff?) -> Outcome {
        reset()
        if let diff { buffer.append(diff) }
        return .needsSnapshot(reason: reason)
    }

    mutating func set(_ diff: DepthDiff) {
        for level in diff.bids { levels.set(.buy, level.price, level.amount) }
        for level in diff.asks { levels.set(.sell, level.price, level.amount) }
    }
}
