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

    /// Levels stored best last (bids ascending, asks descending): changes happen near the
    /// touch, so inserting or removing there moves few elements.
    var bidLevels: [BookLevel] = []
    var askLevels: [BookLevel] = []
    /// Levels best first.
    public var bids: [BookLevel] { bidLevels.reversed() }
    public var asks: [BookLevel] { askLevels.reversed() }
    /// The version the book is at; nil while it is not in sync.
    public private(set) var version: Int64?
    /// Whether the next diff must straddle `version` rather than follow it exactly.
    var awaitingFirst = false
    var buffer: [DepthDiff] = []
    /// Diffs kept while waiting for a snapshot; the oldest are dropped past this.
    public static let bufferLimit = 1000

    public init() {}

    public var isSynced: Bool { version != nil }
    public var bestBid: BookLevel? { bidLevels.last }
    public var bestAsk: BookLevel? { askLevels.last }

    /// The book's top `depth` levels a side, best first.
    public func book(depth: Int = .max) -> OrderBook {
        OrderBook(bids: bidLevels.suffix(depth).reversed(), asks: askLevels.suffix(depth).reversed())
    }

    /// Forgets the book (a reconnect): diffs are buffered until the next snapshot.
    public mutating func reset() {
        version = nil
        awaitingFirst = false
        bidLevels.removeAll(keepingCapacity: true)
        askLevels.removeAll(keepingCapacity: true)
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
        bidLevels = bids.filter { $0.amount.isPositive }.sorted { $0.price < $1.price }
        askLevels = asks.filter { $0.amount.isPositive }.sorted { $0.price > $1.price }
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
        for level in diff.bids { Self.set(level, in: &bidLevels, descending: false) }
        for level in diff.asks { Self.set(level, in: &askLevels, descending: true) }
    }

    /// Sets one level's absolute quantity, keeping the side sorted (binary search from the best end).
    static func set(_ level: BookLevel, in side: inout [BookLevel], descending: Bool) {
        var low = 0, high = side.count
        while low < high {
            let mid = (low + high) / 2
            let p = side[mid].price
            if descending ? p > level.price : p < level.price { low = mid + 1 } else { high = mid }
        }
        let found = low < side.count && side[low].price == level.price
        if level.amount.isZero || level.amount.isNegative {
            if found { side.remove(at: low) }
        } else if found {
            side[low].amount = level.amount
        } else {
            side.insert(level, at: low)
        }
    }
}
