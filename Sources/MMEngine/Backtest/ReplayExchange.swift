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
/// live and paper venues use. The book is the one `LocalBook` rebuilt from the recorded snapshots
/// and depth diffs, exactly as the live client builds it, read from the recording's replay form
/// (`ReplayForm`: decoded once, kept beside the file); the instance's orders are simulated by the
/// paper venue's `PaperMatcher` (they join the back of their level and fill when the volume ahead
/// has traded, when a trade prints through them, or when the book crosses them). A request takes
/// `latency`: the market moves on for that long before an order reaches the book or a cancel
/// takes effect, as a REST round trip would let it. Across a gap in the recording (the streams
/// were lost) the book is unknown: every resting order is cancelled and nothing is placed until
/// the next snapshot.
public actor ReplayExchange: Exchange {
    /// The executor the replay runs on, lent to the backtest's runner and loop.
    public nonisolated let host = ExecutorHost()
    public nonisolated var unownedExecutor: UnownedSerialExecutor { host.unownedExecutor }
    public nonisolated let clock: ReplayClock
    public nonisolated let meta: RecordingMeta
    let latency: Int64
    var state: ReplayState

    /// What the replay went through: level changes and trades (as hftbacktest counts events),
    /// and the gaps, with when each began and when the book was back.
    public var events: Int { state.events }
    public var gaps: [ReplayGap] { state.gaps }
    /// Why the recording could not be read on (damage found mid-way); the replay ends there and
    /// the backtest fails rather than pass a part off as the whole.
    public var damage: String? { state.damage }

    /// A replay of the recording at `path` (its header `meta`, its replay form `form`) up to `to`
    /// (ms). `prepare` then builds the book up to the window's start. Nothing here throws: see
    /// `Backtest.replay`.
    init(path: String, meta: RecordingMeta, form: ReplayFormReader, to: Int64?, latency: Int64, base: Dec, quote: Dec) {
        self.meta = meta
        self.latency = latency
        clock = ReplayClock(meta.started)
        state = ReplayState(path: path, pair: meta.pair, reader: form, end: to ?? Int64.max, base: base, quote: quote, now: meta.started)
    }

    /// A replay of the recording at `path`, its replay form built first if need be.
    public static func open(_ path: String, to: Int64?, latency: Int64, base: Dec, quote: Dec) throws(RecordingError) -> ReplayExchange {
        let recording = try RecordingReader.open(path)
        let (form, _) = try ReplayForm.open(path)
        return ReplayExchange(path: path, meta: recording.meta, form: form, to: to, latency: latency, base: base, quote: quote)
    }

    /// Builds the book up to the window's start; the instance starts at the first moment after
    /// it with a synced book.
    public func prepare(from: Int64?) throws(RecordingError) {
        try state.prepare(from: from, recordingStart: meta.started)
        clock.set(state.now)
    }

    /// Levels a side in the snapshot's book: the backtest sets what its strategy reads
    /// (`StrategyConfig.bookDepth`).
    public func readBook(depth: Int) { state.bookDepth = max(1, depth) }

    /// How far through the file the replay is, 0 to 1.
    public func progress() -> Double { state.reader.progress }

    /// Replays every event up to `t` (ms) and moves the clock there.
    public func advance(to t: Int64) throws(ExchangeError) {
        do { try state.apply(through: t) } catch {
            state.damage = state.damage ?? error.message
            state.finished = true
            throw ExchangeError(code: -1, message: error.message)
        }
        clock.set(t)
    }

    /// One step of a backtest's loop, in one call: replays to the next event's time or `due`,
    /// whichever comes first. Nil at the end of the window (or at damage, which `damage` says);
    /// else whether the market changed since the last snapshot.
    public func step(due: Int64) -> Bool? {
        guard let next = state.nextTime() else { return nil }
        do { try advance(to: min(next, due)) } catch { return nil }
        return state.changed
    }

    /// A request's round trip: the market goes on for `latency` before it takes effect.
    func roundTrip() throws(ExchangeError) {
        guard latency > 0 else { return }
        try advance(to: clock.now() + latency)
    }

    // MARK: Exchange

    public func rules() async throws(ExchangeError) -> MarketRules {
        guard state.ready else { throw ExchangeError(code: -1, message: "the replay has no market rules") }
        return state.matcher.rules
    }

    public func snapshot() async throws(ExchangeError) -> MarketSnapshot {
        guard state.ready else { throw ExchangeError(code: -1, message: "the replay has no market") }
        guard state.synced else { throw ExchangeError(code: -1001, message: "no market data: the recording has a gap here") }
        return state.snapshot(at: clock.now())
    }

    public func place(_ o: OrderRequest) async throws(ExchangeError) -> ExchangeOrder {
        try roundTrip()
        guard state.ready else { throw ExchangeError(code: -1, message: "the replay has no market") }
        guard state.synced else { throw ExchangeError(code: -1001, message: "no market data: the recording has a gap here") }
        return try state.place(o, at: clock.now())
    }

    public func cancel(clientId: String) async throws(ExchangeError) -> ExchangeOrder {
        try roundTrip()
        guard state.ready else { throw .unknownOrder }
        return try state.matcher.cancel(clientId: clientId)
    }

    public func order(clientId: String) async throws(ExchangeError) -> ExchangeOrder? { state.ready ? state.matcher.order(clientId: clientId) : nil }

    public func openOrders() async throws(ExchangeError) -> [ExchangeOrder] { state.ready ? state.matcher.openOrders : [] }

    public func newFills() async throws(ExchangeError) -> [ExchangeTrade] {
        defer { state.pending = [] }
        return state.pending
    }

    public func takeNotes() async -> [(warning: Bool, text: String)] {
        defer { state.notes = [] }
        return state.notes
    }
}

/// Everything a replay holds, in one value: the actor applies events through one mutating call
/// (one exclusive access for a whole run of events, not one for each property it touches).
struct ReplayState {
    let path: String
    let pair: String
    var reader: ReplayFormReader
    /// The end of the window, ms.
    let end: Int64
    let base: Dec, quote: Dec
    /// The replay's time, ms: the last event's.
    var now: Int64
    /// The instance's orders and the book. Not optional: the replay's inner loop reaches it at
    /// every event, and reaching into an optional copied it whole. Until the market rules are
    /// known (`ready`) it only keeps the book, under stand-in rules.
    var matcher = PaperMatcher(rules: MarketRules(tick: 1, step: 1, minQuantity: 0, minNotional: 0, makerFee: 0), base: 0, quote: 0)
    var ready = false
    var bookDepth = StrategyConfig.snapshotDepth
    var info: SymbolInfo?
    var marketRules: MarketRules?
    var synced = false
    var changed = false
    var finished = false
    var pending: [ExchangeTrade] = []
    var tape: [TapeTrade] = []
    var lastTrade: Dec?
    var notes: [(warning: Bool, text: String)] = []
    var events = 0
    var gaps: [ReplayGap] = []
    var damage: String?

    init(path: String, pair: String, reader: ReplayFormReader, end: Int64, base: Dec, quote: Dec, now: Int64) {
        self.path = path; self.pair = pair; self.reader = reader; self.end = end
        self.base = base; self.quote = quote; self.now = now
    }

    mutating func prepare(from: Int64?, recordingStart: Int64) throws(RecordingError) {
        let start = from ?? recordingStart
        var last: Int64?
        // Whole frames: a frame's events share its time.
        while let e = try reader.peek(), e.time / 1000 <= start || !synced || marketRules == nil || e.time == last {
            reader.take()
            last = e.time
            try apply(e)
        }
        guard synced, let rules = marketRules else {
            throw RecordingError("\(path) holds no synced book \(from == nil ? "at all" : "after the window's start"); its span is shown by 'record info'")
        }
        guard nextTime() != nil else {
            throw RecordingError("the window holds none of \(path) after its first book; 'record info \(path)' shows its span")
        }
        matcher = PaperMatcher(rules: rules, base: base, quote: quote, quoteAsset: info?.quoteAsset ?? "USDT", market: matcher.market)
        ready = true
        tape = []
        pending = []
        changed = false
    }

    mutating func nextTime() -> Int64? {
        guard !finished else { return nil }
        guard let e = try? reader.peek(), e.time / 1000 <= end else { return nil }
        return e.time / 1000
    }

    /// Applies every event up to `t` (ms) within the window: the replay's inner loop.
    mutating func apply(through t: Int64) throws(RecordingError) {
        let limit = min(t, end)
        while !finished, let e = try reader.peek() {
            guard e.time / 1000 <= limit else { break }
            reader.take()
            try apply(e)
        }
    }

    @inline(__always)
    mutating func apply(_ e: ReplayEvent) throws(RecordingError) {
        let ms = e.time / 1000
        now = ms
        switch e.kindByte {
        case ReplayEvent.Kind.bid.rawValue:
            level(.buy, e)
        case ReplayEvent.Kind.ask.rawValue:
            level(.sell, e)
        case ReplayEvent.Kind.moved.rawValue:
            changed = true
            if synced, matcher.hasOpenOrders { pending += matcher.settle(time: ms) }
        case ReplayEvent.Kind.buyTrade.rawValue, ReplayEvent.Kind.sellTrade.rawValue:
            events += 1
            // A trade is news, as the live feed takes it: the instance decides on it too.
            changed = true
            let price = ReplayEvent.unpack(e.a), amount = ReplayEvent.unpack(e.b)
            lastTrade = price
            tape.append(TapeTrade(price: price, amount: amount, time: e.aux))
            if tape.count > 2000 { tape.removeFirst(tape.count - 1000) }
            if synced, matcher.hasOpenOrders {
                let taker: Side = e.kindByte == ReplayEvent.Kind.buyTrade.rawValue ? .buy : .sell
                pending += matcher.trade(MarketTrade(price: price, quantity: amount, takerSide: taker, time: ms))
            }
        case ReplayEvent.Kind.clear.rawValue:
            synced = false
            clearBook()
        case ReplayEvent.Kind.synced.rawValue:
            synced = true
            if matcher.hasOpenOrders { matcher.marketReplaced() }
            if let i = gaps.indices.last, gaps[i].to == nil { gaps[i].to = ms }
        case ReplayEvent.Kind.rules.rawValue:
            guard let exchange = try? decodeMEXC(ExchangeInfo.self, from: Data(reader.blob(e))),
                  let symbol = exchange.symbols.first(where: { $0.symbol == pair }), let rules = try? symbol.rules() else {
                throw RecordingError("\(path): its exchangeInfo at \(TimeText.iso(ms)) does not describe \(pair)")
            }
            info = symbol
            if marketRules == nil { marketRules = rules }
        case ReplayEvent.Kind.lost.rawValue:
            lost(at: ms, reason: String(decoding: reader.blob(e), as: UTF8.self))
        case ReplayEvent.Kind.note.rawValue:
            notes.append((true, String(decoding: reader.blob(e), as: UTF8.self)))
        case ReplayEvent.Kind.damage.rawValue:
            throw RecordingError(String(decoding: reader.blob(e), as: UTF8.self))
        default:
            throw RecordingError("\(reader.path) holds an event of an unknown kind \(e.kindByte): delete it and run the backtest again")
        }
    }

    @inline(__always)
    mutating func level(_ side: Side, _ e: ReplayEvent) {
        events += 1
        let price = ReplayEvent.unpack(e.a), amount = ReplayEvent.unpack(e.b)
        matcher.level(side, price, amount)
    }

    mutating func clearBook() {
        matcher.clearMarket()
    }

    /// The book is unknown from here until the next snapshot: no order rests across it.
    mutating func lost(at ms: Int64, reason: String) {
        if gaps.last?.to != nil || gaps.isEmpty { gaps.append(ReplayGap(from: ms, to: nil, reason: reason)) }
        synced = false
        clearBook()
        guard ready else { return }
        for o in matcher.openOrders { _ = try? matcher.cancel(clientId: o.clientId) }
        notes.append((true, "the recording has a gap at \(TimeText.iso(ms)) (\(reason)): orders cancelled until the book is back"))
    }

    /// The market as the instance sees it now; the trades printed since the last snapshot are
    /// handed out with it. Mutating, so that the matcher is read in place (a read of the actor's
    /// state to call one of the matcher's methods copied it whole).
    mutating func snapshot(at time: Int64) -> MarketSnapshot {
        changed = false
        defer { tape = [] }
        return MarketSnapshot(time: time, book: matcher.book(depth: bookDepth), lastTrade: lastTrade, balances: matcher.account.asBalances,
                              dataAge: .zero, source: "replay", trades: tape.count > 1000 ? Array(tape.suffix(1000)) : tape)
    }

    mutating func place(_ o: OrderRequest, at time: Int64) throws(ExchangeError) -> ExchangeOrder {
        let placed = try matcher.place(o, at: time)
        pending += matcher.takeTakerFills()
        return placed
    }
}
