import Foundation
import Metrics
import MMCore
import MMMexc
import MMSim
import MMStrategy

/// MEXC's public market data for one symbol, as the live and paper venues use it: the book kept
/// by the aggregated depth stream (a REST snapshot on every connection and on any break in the
/// versions), trades from the deals stream; while the stream is down, or without one, both are
/// polled over REST instead, and the polling stops when the stream is back.
public actor MarketFeed {
    public let symbol: String
    let client: MEXCClient
    let streamURL: String?
    /// A book older than this is not handed out; the stream pings at half of it.
    let staleAfter: Duration
    /// New public trades, oldest first, as they arrive (stream) or are polled (REST).
    let onTrades: @Sendable ([MarketTrade]) async -> Void
    var stream: StreamConnection?
    var book = LocalBook()
    var resnapshotting = false
    public private(set) var lastTrade: Dec?
    /// REST trades carry no id: the newest seen (time, and the prints at that time) tells new from old.
    var lastPolledTrade: (time: Int64, seen: [String])?
    var lastTradesPoll = ContinuousClock.now - .seconds(3600)
    var notes: [(warning: Bool, text: String)] = []
    var changed: (@Sendable () -> Void)?
    /// How often trades are polled while the stream does not bring them (weight 5 each).
    let tradesEvery: Duration
    /// The newest public trades, for the strategy (Avellaneda–Stoikov's intensity fit), and how
    /// many have arrived in all, so that a reader can ask for those after the ones it has seen.
    var recent: [TapeTrade] = []
    var received = 0
    static let recentKept = 2000

    public init(client: MEXCClient, symbol: String, streamURL: String?, staleAfter: Duration = .seconds(5), tradesEvery: Duration = .seconds(5),
                onTrades: @escaping @Sendable ([MarketTrade]) async -> Void = { _ in }) {
        self.tradesEvery = tradesEvery
        self.client = client
        self.symbol = symbol
        self.streamURL = streamURL
        self.staleAfter = staleAfter
        self.onTrades = onTrades
    }

    public func start() async {
        guard let url = streamURL, stream == nil else { return }
        let s = StreamConnection(channels: ["spot@public.aggre.depth.v3.api.pb@100ms@\(symbol)", "spot@public.aggre.deals.v3.api.pb@100ms@\(symbol)"],
                                 url: { url }) { [weak self] notice in await self?.handle(notice) }
        stream = s
        await s.configure(pingEvery: min(Duration.seconds(30), max(.milliseconds(500), staleAfter / 2)))
        await s.start()
    }

    /// The symbol as exchangeInfo describes it, and its market rules; refused when it is not a
    /// spot symbol, not open, not spot-tradable or one-sided.
    public func symbolInfo() async throws(ExchangeError) -> (SymbolInfo, MarketRules) {
        let notASymbol = ExchangeError(code: -1121, message: "\(symbol) is not a MEXC spot symbol")
        let found: SymbolInfo?
        do { found = try await client.exchangeInfo(symbol: symbol) } catch {
            if case .exchange(-1121, _, _) = error { throw notASymbol }
            throw ExchangeError(error)
        }
        guard let info = found else { throw notASymbol }
        do {
            try info.checkTradable()
            return (info, try info.rules())
        } catch {
            throw ExchangeError(code: 30000, message: error.reason)
        }
    }

    /// Called after each change the stream applies to the book, and each batch of trades.
    public func onChange(_ action: @escaping @Sendable () -> Void) { changed = action }

    public func stop() async {
        await stream?.stop()
        stream = nil
        book.reset()
    }

    func note(_ text: String, warning: Bool = false) {
        notes.append((warning, text))
        if notes.count > 200 { notes.removeFirst(100) }
    }

    public func takeNotes() -> [(warning: Bool, text: String)] {
        defer { notes = [] }
        return notes
    }

    /// The book now, and how old it is: from the stream when it is in sync and its connection
    /// spoke within `staleAfter`, else from REST (age zero). Trades are polled alongside when the
    /// stream does not bring them.
    public func current(depth: Int = 100) async throws(MEXCFailure) -> (book: OrderBook, age: Duration, source: String) {
        if let stream, book.isSynced, let last = await stream.lastMessageAt {
            let age = ContinuousClock.now - last
            if age <= staleAfter { return (book.book(depth: depth), age, "stream") }
        }
        let d = try await client.depth(symbol: symbol, limit: depth)
        let levels = try d.levels()
        if ContinuousClock.now - lastTradesPoll >= tradesEvery { try await pollTrades() }
        return (OrderBook(bids: levels.bids.map { BookLevel($0.0, $0.1) }, asks: levels.asks.map { BookLevel($0.0, $0.1) }), .zero, "rest")
    }

    func pollTrades() async throws(MEXCFailure) {
        lastTradesPoll = .now
        let trades = try await client.trades(symbol: symbol, limit: 100)
        var fresh: [MarketTrade] = []
        var newest = lastPolledTrade
        for t in trades.sorted(by: { $0.time < $1.time }) {
            let key = "\(t.price.text)/\(t.qty.text)/\(t.isBuyerMaker)"
            if let last = lastPolledTrade, t.time < last.time || (t.time == last.time && last.seen.contains(key)) { continue }
            let trade = MarketTrade(price: try t.price.decimal(), quantity: try t.qty.decimal(), takerSide: t.isBuyerMaker ? .sell : .buy, time: t.time)
            if newest.map({ t.time > $0.time }) ?? true { newest = (t.time, [key]) } else { newest?.seen.append(key) }
            fresh.append(trade)
        }
        // The first poll only marks where the market is: older trades are not ours to act on.
        let first = lastPolledTrade == nil
        lastPolledTrade = newest
        if let last = fresh.last { lastTrade = last.price }
        if !first, !fresh.isEmpty {
            keep(fresh)
            await onTrades(fresh)
        }
    }

    func keep(_ trades: [MarketTrade]) {
        recent += trades.map { TapeTrade(price: $0.price, amount: $0.quantity, time: $0.time) }
        received += trades.count
        if recent.count > Self.recentKept { recent.removeFirst(recent.count - Self.recentKept / 2) }
    }

    /// The trades that arrived after the first `seen`, and the count to pass next time.
    public func trades(after seen: Int) -> (trades: [TapeTrade], seen: Int) {
        let new = min(received - seen, recent.count)
        return (new > 0 ? Array(recent.suffix(new)) : [], received)
    }

    func handle(_ notice: StreamNotice) async {
        switch notice {
        case .connected:
            Counter(label: "mmsh_stream_connects_total", dimensions: [("pair", symbol), ("stream", "public")]).increment()
            note("public stream connected")
            book.reset()
            await resnapshot()
        case .disconnected(let reason):
            note("public stream down: \(reason); polling REST meanwhile", warning: true)
            book.reset()
        case .event(.depth(_, let diff)):
            switch book.apply(diff) {
            case .applied: changed?()
            case .needsSnapshot(let reason):
                Counter(label: "mmsh_book_resyncs_total", dimensions: [("pair", symbol)]).increment()
                note("book out of sync (\(reason)); new snapshot")
                await resnapshot()
            default: break
            }
        case .event(.deals(_, let deals)):
            let trades = deals.sorted { $0.time < $1.time }.map { MarketTrade(price: $0.price, quantity: $0.quantity, takerSide: $0.takerSide, time: $0.time) }
            if let last = trades.last {
                lastTrade = last.price
                lastPolledTrade = (last.time, [])
            }
            keep(trades)
            await onTrades(trades)
            changed?()
        case .unreadable(let why):
            note("unreadable frame: \(why)", warning: true)
        default: break
        }
    }

    /// A REST snapshot for the local book; buffered diffs newer than it are applied on top.
    func resnapshot() async {
        guard !resnapshotting else { return }
        resnapshotting = true
        defer { resnapshotting = false }
        guard let depth = try? await client.depth(symbol: symbol, limit: 1000), let levels = try? depth.levels() else { return }
        _ = book.snapshot(lastUpdateId: depth.lastUpdateId, bids: levels.bids.map { BookLevel($0.0, $0.1) },
                          asks: levels.asks.map { BookLevel($0.0, $0.1) })
    }
}
