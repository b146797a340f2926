import Foundation
import MMCore
import MMMexc
import MMRecording
import MMSim
import MMStrategy
import Synchronization

/// Time of a replay: it moves only when the replay says so (milliseconds since the epoch).
public final class ReplayClock: EngineClock {
    private let t: Mutex<Int64>
    public init(_ start: Int64) { t = Mutex(start) }
    public func now() -> Int64 { t.withLock { $0 } }
    func set(_ ms: Int64) { t.withLock { $0 = max($0, ms) } }
}

/// The backtest venue: a recording replayed on a virtual clock, through the same pieces the
/// live and paper venues use. The book is rebuilt by `LocalBook` from the recorded snapshots and
/// depth diffs, exactly as the live client builds it; the instance's orders are simulated by the
/// paper venue's `PaperMatcher` (they join the back of their level and fill when the volume ahead
/// has traded, when a trade prints through them, or when the book crosses them). A request takes
/// `latency`: the market moves on for that long before an order reaches the book or a cancel
/// takes effect, as a REST round trip would let it. Across a gap in the recording (the streams
/// were lost) the book is unknown: every resting order is cancelled and nothing is placed until
/// the next snapshot.
public actor ReplayExchange: Exchange {
    public nonisolated let clock: ReplayClock
    let reader: RecordingReader
    public nonisolated let meta: RecordingMeta
    let latency: Int64
    /// The end of the window, ms.
    let end: Int64
    let base: Dec, quote: Dec
    var book = LocalBook()
    var info: SymbolInfo?
    var marketRules: MarketRules?
    var matcher: PaperMatcher?
    var next: RecordFrame?
    var pending: [ExchangeTrade] = []
    var tape: [TapeTrade] = []
    var lastTrade: Dec?
    var notes: [(warning: Bool, text: String)] = []
    /// Set when the book moved since the last snapshot taken.
    public private(set) var changed = false
    /// What the replay went through: level changes and trades (as hftbacktest counts events),
    /// and the gaps, with when each began and when the book was back.
    public private(set) var events = 0
    public private(set) var gaps: [ReplayGap] = []
    /// Why the recording could not be read on (damage found mid-way); the replay ends there and
    /// the backtest fails rather than pass a part off as the whole.
    public private(set) var damage: String?

    /// A replay of `reader` up to `to` (ms). `prepare` then builds the book up to the window's
    /// start. Nothing here throws: see `Backtest.replay`.
    public init(reader: RecordingReader, to: Int64?, latency: Int64, base: Dec, quote: Dec) {
        self.reader = reader
        meta = reader.meta
        self.latency = latency
        self.base = base
        self.quote = quote
        clock = ReplayClock(meta.started)
        end = to ?? Int64.max
    }

    /// Builds the book up to the window's start; the instance starts at the first moment after
    /// it with a synced book.
    public func prepare(from: Int64?) throws(RecordingError) {
        let path = reader.path
        next = try reader.next()
        let start = from ?? meta.started
        while let f = next, f.time / 1000 <= start || !book.isSynced || marketRules == nil {
            try apply(f)
            next = try reader.next()
        }
        guard book.isSynced, let rules = marketRules else {
            throw RecordingError("\(path) holds no synced book \(from == nil ? "at all" : "after the window's start"); its span is shown by 'record info'")
        }
        guard let f = next, f.time / 1000 <= end else {
            throw RecordingError("the window holds none of \(path) after its first book; 'record info \(path)' shows its span")
        }
        matcher = PaperMatcher(rules: rules, base: base, quote: quote, quoteAsset: info?.quoteAsset ?? "USDT")
        _ = matcher!.book(book.book(depth: 100), time: clock.now())
        tape = []
        changed = false
    }

    /// How far through the file the replay is, 0 to 1.
    public func progress() -> Double { reader.progress }

    /// The time of the next recorded frame within the window (ms), nil at its end.
    public func nextTime() -> Int64? {
        guard let f = next, f.time / 1000 <= end else { return nil }
        return f.time / 1000
    }

    /// Replays every frame up to `t` (ms) and moves the clock there.
    public func advance(to t: Int64) throws(ExchangeError) {
        do {
            while let f = next, f.time / 1000 <= t, f.time / 1000 <= end {
                try apply(f)
                next = try reader.next()
            }
        } catch {
            damage = damage ?? error.message
            next = nil
            throw ExchangeError(code: -1, message: error.message)
        }
        clock.set(t)
    }

    func apply(_ f: RecordFrame) throws(RecordingError) {
        let ms = f.time / 1000
        clock.set(ms)
        switch f.kind {
        case .meta:
            break
        case .rules:
            guard let exchange = try? decodeMEXC(ExchangeInfo.self, from: Data(f.payload)),
                  let symbol = exchange.symbols.first(where: { $0.symbol == meta.pair }), let rules = try? symbol.rules() else {
                throw RecordingError("\(reader.path): its exchangeInfo at \(TimeText.iso(ms)) does not describe \(meta.pair)")
            }
            info = symbol
            if marketRules == nil { marketRules = rules }
        case .snapshot:
            guard let depth = try? decodeMEXC(Depth.self, from: Data(f.payload)), let levels = try? depth.levels() else {
                notes.append((true, "an unreadable depth snapshot at \(TimeText.iso(ms)) was skipped"))
                return
            }
            _ = book.snapshot(lastUpdateId: depth.lastUpdateId, bids: levels.bids.map { BookLevel($0.0, $0.1) },
                              asks: levels.asks.map { BookLevel($0.0, $0.1) })
            if let i = gaps.indices.last, gaps[i].to == nil, book.isSynced { gaps[i].to = ms }
            events += levels.bids.count + levels.asks.count
            bookMoved(at: ms)
        case .stream:
            guard let event = try? StreamFrames.decode(Data(f.payload)) else { return }
            switch event {
            case .depth(_, let diff):
                let outcome = book.apply(diff)
                events += diff.bids.count + diff.asks.count
                switch outcome {
                case .applied: bookMoved(at: ms)
                case .needsSnapshot(let reason): lost(at: ms, reason: "the depth stream skipped versions (\(reason))")
                default: break
                }
            case .deals(_, let deals):
                for d in deals.sorted(by: { $0.time < $1.time }) {
                    events += 1
                    lastTrade = d.price
                    tape.append(TapeTrade(price: d.price, amount: d.quantity, time: d.time))
                    if matcher != nil, book.isSynced {
                        pending += matcher!.trade(MarketTrade(price: d.price, quantity: d.quantity, takerSide: d.takerSide, time: ms))
                    }
                }
                if tape.count > 1000 { tape.removeFirst(tape.count - 1000) }
            default:
                break
            }
        case .gap:
            let reason = (try? JSONSerialization.jsonObject(with: Data(f.payload)) as? [String: Any])?["reason"] as? String ?? "the streams were lost"
            lost(at: ms, reason: reason)
        }
    }

    func bookMoved(at ms: Int64) {
        changed = true
        guard matcher != nil, book.isSynced else { return }
        pending += matcher!.book(book.book(depth: 100), time: ms)
    }

    /// The book is unknown from here until the next snapshot: no order rests across it.
    func lost(at ms: Int64, reason: String) {
        if gaps.last?.to != nil || gaps.isEmpty { gaps.append(ReplayGap(from: ms, to: nil, reason: reason)) }
        book.reset()
        guard matcher != nil else { return }
        for o in matcher!.openOrders { _ = try? matcher!.cancel(clientId: o.clientId) }
        notes.append((true, "the recording has a gap at \(TimeText.iso(ms)) (\(reason)): orders cancelled until the book is back"))
    }

    /// A request's round trip: the market goes on for `latency` before it takes effect.
    func roundTrip() throws(ExchangeError) {
        guard latency > 0 else { return }
        try advance(to: clock.now() + latency)
    }

    // MARK: Exchange

    public func rules() async throws(ExchangeError) -> MarketRules {
        guard let matcher else { throw ExchangeError(code: -1, message: "the replay has no market rules") }
        return matcher.rules
    }

    public func snapshot() async throws(ExchangeError) -> MarketSnapshot {
        guard let matcher else { throw ExchangeError(code: -1, message: "the replay has no market") }
        guard book.isSynced else { throw ExchangeError(code: -1001, message: "no market data: the recording has a gap here") }
        changed = false
        defer { tape = [] }
        return MarketSnapshot(time: clock.now(), book: matcher.book(depth: 100), lastTrade: lastTrade,
                              balances: matcher.account.asBalances, dataAge: .zero, source: "replay", trades: tape)
    }

    public func place(_ o: OrderRequest) async throws(ExchangeError) -> ExchangeOrder {
        try roundTrip()
        guard matcher != nil else { throw ExchangeError(code: -1, message: "the replay has no market") }
        guard book.isSynced else { throw ExchangeError(code: -1001, message: "no market data: the recording has a gap here") }
        let placed = try matcher!.place(o, at: clock.now())
        pending += matcher!.takeTakerFills()
        return placed
    }

    public func cancel(clientId: String) async throws(ExchangeError) -> ExchangeOrder {
        try roundTrip()
        guard matcher != nil else { throw .unknownOrder }
        return try matcher!.cancel(clientId: clientId)
    }

    public func order(clientId: String) async throws(ExchangeError) -> ExchangeOrder? { matcher?.order(clientId: clientId) }

    public func openOrders() async throws(ExchangeError) -> [ExchangeOrder] { matcher?.openOrders ?? [] }

    public func newFills() async throws(ExchangeError) -> [ExchangeTrade] {
        defer { pending = [] }
        return pending
    }

    public func takeNotes() async -> [(warning: Bool, text: String)] {
        defer { notes = [] }
        return notes
    }
}
