import Foundation
import Metrics
import MMCore
import MMMexc
import MMSim
import MMStrategy

extension ExchangeError {
    /// No answer, or a 5xx: whether the request took effect is unknown.
    public static let outcomeUnknownCode = -1
    public var isOutcomeUnknown: Bool { code == Self.outcomeUnknownCode }

    init(_ f: MEXCFailure) {
        switch f {
        case let .exchange(code, message, _): self.init(code: code, message: message)
        case let .client(status, _): self.init(code: status, message: f.description)
        case .server, .network: self.init(code: Self.outcomeUnknownCode, message: f.description)
        case .malformed: self.init(code: -2, message: f.description)
        }
    }
}

/// The live venue: one symbol on MEXC spot. Orders go through the REST API, post-only under our
/// client ids; an order whose reply was lost is looked up by its client id before anything else
/// is decided. With a stream URL, the book is a local copy kept by the aggregated depth stream
/// and fills and balances arrive on the private streams; while a stream is down, REST polling
/// (within the rate limits) takes over, and stops again when it is back.
public actor LiveExchange: Exchange {
    public let symbol: String
    let client: MEXCClient
    let clock: any EngineClock
    var baseAsset = ""
    var quoteAsset = ""
    var cachedRules: MarketRules?

    /// Orders of ours by MEXC order id, with what their fills have executed so far.
    struct Known {
        var clientId: String
        var quantity: Dec
        var filled: Dec
    }
    var known: [String: Known] = [:]
    /// Fills already reported, by trade key, with their time (pruned after an hour).
    var reported: [String: Int64] = [:]
    /// myTrades is asked from this time on (a little before the newest fill seen).
    var cursor: Int64?
    let fillsSince: Int64?

    var account: (balances: Balances, at: Int64)?
    var accountStale = true
    var lastFillsPoll: Int64 = 0
    /// An order showed more executed than its reported fills: the next fills poll is not skipped.
    var fillsPending = false

    // Streams (nil streamURL: REST polling only).
    let streamURL: String?
    /// The book and trades: the public stream, or REST while it is down.
    let feed: MarketFeed
    var privateStream: StreamConnection?
    var privateUp = false
    var listenKey: String?
    /// The private stream went down since its key was last checked.
    var privateDropped = false
    var keepAlive: Task<Void, Never>?
    /// Fills from the private stream not yet handed to the instance.
    var streamFills: [ExchangeTrade] = []
    /// Balances from the private stream, by asset.
    var streamBalances: [String: (free: Dec, locked: Dec)] = [:]
    var notes: [(warning: Bool, text: String)] = []
    /// Public trades of the feed already handed out with a snapshot.
    var tradesSeen = 0
    /// REST fills are still polled while the private stream is up, this often, as a safety net.
    static let fillsEveryWithStream: Int64 = 15_000
    static let listenKeyKeepAlive: Duration = .seconds(30 * 60)

    /// How often each kind of data is polled (ms): fills, and the account when nothing changed.
    static let fillsEvery: Int64 = 1000
    static let accountEvery: Int64 = 5000
    /// Fills are asked again over this much time before the newest seen, so a late one is not missed.
    static let overlap: Int64 = 5000

    /// `fillsSince`: where to start looking for fills (the previous run's start), so fills
    /// made while mmsh was away are recorded too.
    /// `streamURL`: MEXC's WebSocket endpoint (`mexc.ws_url`), or nil to poll REST only.
    public init(client: MEXCClient, symbol: String, clock: any EngineClock, fillsSince: Int64? = nil, streamURL: String? = nil,
                staleAfter: Duration = .seconds(5)) {
        self.client = client
        self.symbol = symbol
        self.clock = clock
        self.fillsSince = fillsSince
        self.streamURL = streamURL
        self.feed = MarketFeed(client: client, symbol: symbol, streamURL: streamURL, staleAfter: staleAfter)
    }

    func call<T>(_ body: () async throws(MEXCFailure) -> T) async throws(ExchangeError) -> T {
        do { return try await body() } catch { throw ExchangeError(error) }
    }

    // MARK: Exchange

    /// The symbol's rules from exchangeInfo; refused when it cannot be traded through the API.
    public func rules() async throws(ExchangeError) -> MarketRules {
        if let cachedRules { return cachedRules }
        let client = self.client, symbol = self.symbol
        let (info, rules) = try await feed.symbolInfo()
        let apiSymbols = try await call { () async throws(MEXCFailure) in try await client.defaultSymbols() }
        guard apiSymbols.contains(symbol) else {
            throw ExchangeError(code: 10007, message: "\(symbol) cannot be traded through the API (not in defaultSymbols)")
        }
        baseAsset = info.baseAsset
        quoteAsset = info.quoteAsset
        if cursor == nil {
            let serverNow = try await call { () async throws(MEXCFailure) in try await client.serverTime() }
            cursor = min(serverNow, fillsSince ?? serverNow)
        }
        cachedRules = rules
        startStreams()
        return rules
    }

    public func snapshot() async throws(ExchangeError) -> MarketSnapshot {
        let client = self.client
        let now = clock.now()
        let feed = self.feed
        let (orderBook, age, source) = try await call { () async throws(MEXCFailure) in try await feed.current(depth: StrategyConfig.snapshotDepth) }
        if privateUp, let base = streamBalances[baseAsset], let quote = streamBalances[quoteAsset],
           account.map({ now - $0.at < 60_000 }) ?? false {
            account = (Self.balances(base, quote), account!.at)
        } else if accountStale || account.map({ now - $0.at >= Self.accountEvery }) ?? true || privateUp {
            let info = try await call { () async throws(MEXCFailure) in try await client.account() }
            let quoteAsset = self.quoteAsset, baseAsset = self.baseAsset
            let base = try await call { () async throws(MEXCFailure) in try info.balance(baseAsset) }
            let quote = try await call { () async throws(MEXCFailure) in try info.balance(quoteAsset) }
            account = (Self.balances(base, quote), now)
            streamBalances = [baseAsset: base, quoteAsset: quote]
            accountStale = false
        }
        let (trades, seen) = await feed.trades(after: tradesSeen)
        tradesSeen = seen
        return MarketSnapshot(time: now, book: orderBook, lastTrade: await feed.lastTrade, balances: account!.balances,
                              throttled: await client.throttled(), dataAge: age, source: source, trades: trades)
    }

    static func balances(_ base: (free: Dec, locked: Dec), _ quote: (free: Dec, locked: Dec)) -> Balances {
        Balances(base: AssetBalance(total: base.free + base.locked, available: base.free),
                 quote: AssetBalance(total: quote.free + quote.locked, available: quote.free))
    }

    public func place(_ o: OrderRequest) async throws(ExchangeError) -> ExchangeOrder {
        let rules = try await rules()
        let price = o.price.floored(toMultipleOf: rules.tick), quantity = o.quantity.floored(toMultipleOf: rules.step)
        let request = NewOrder(symbol: symbol, side: o.side == .buy ? "BUY" : "SELL", type: o.type.rawValue,
                               quantity: quantity.description, price: price.description, clientId: o.clientId)
        accountStale = true
        do {
            let r = try await client.placeOrder(request)
            let orderId = r.orderId.text
            known[orderId] = Known(clientId: o.clientId, quantity: quantity, filled: 0)
            return ExchangeOrder(orderId: orderId, clientId: o.clientId, side: o.side, type: o.type, price: price, quantity: quantity,
                                 executed: 0, status: .new, time: clock.now())
        } catch where error.outcomeUnknown || Self.isDuplicateClientId(error) {
            // The order may exist: ask for it by our client id before deciding anything. A
            // refusal of our client id as a duplicate means an earlier send of this very request
            // went through (libcurl sends a request again, once, when a reused connection turns
            // out dead before any answer): the order is found the same way.
            let found: OrderResponse?
            do { found = try await client.queryOrder(symbol: symbol, clientId: o.clientId) } catch {
                throw ExchangeError(code: ExchangeError.outcomeUnknownCode,
                                    message: "placing \(o.clientId): \(error); it could not be looked up yet")
            }
            guard let found else {
                // MEXC does not know the client id: the order was not placed.
                var code = 0
                if case .server(let status) = error { code = status }
                throw ExchangeError(code: code, message: "not placed (\(error))")
            }
            return try remember(found)
        } catch {
            throw ExchangeError(error)
        }
    }

    static func isDuplicateClientId(_ f: MEXCFailure) -> Bool {
        guard case .exchange(_, let message, _) = f else { return false }
        let m = message.lowercased()
        return m.contains("duplicate") && m.contains("clientorderid")
    }

    public func cancel(clientId: String) async throws(ExchangeError) -> ExchangeOrder {
        accountStale = true
        let client = self.client, symbol = self.symbol
        let r = try await call { () async throws(MEXCFailure) in try await client.cancelOrder(symbol: symbol, clientId: clientId) }
        var o = try remember(r)
        // A 200 means it is cancelled; the reply may still show the state before the cancel.
        if o.status == .new { o.status = .canceled } else if o.status == .partiallyFilled { o.status = .partiallyCanceled }
        return o
    }

    public func order(clientId: String) async throws(ExchangeError) -> ExchangeOrder? {
        let client = self.client, symbol = self.symbol
        guard let r = try await call({ () async throws(MEXCFailure) in try await client.queryOrder(symbol: symbol, clientId: clientId) }) else { return nil }
        return try remember(r)
    }

    public func openOrders() async throws(ExchangeError) -> [ExchangeOrder] {
        let client = self.client, symbol = self.symbol
        let list = try await call { () async throws(MEXCFailure) in try await client.openOrders(symbol: symbol) }
        var out: [ExchangeOrder] = []
        for r in list { out.append(try remember(r)) }
        return out
    }

    /// New fills, oldest first, each reported once (keyed by order and trade id): those the
    /// private stream brought, then those myTrades shows (polled every second without the
    /// stream, as a safety net with it, and at once after it reconnects). A poll is all or
    /// nothing: when a page cannot be read, nothing is marked as seen, so nothing is lost.
    public func newFills() async throws(ExchangeError) -> [ExchangeTrade] {
        let now = clock.now()
        let every = privateUp ? Self.fillsEveryWithStream : Self.fillsEvery
        guard fillsPending || now - lastFillsPoll >= every else { return takeStreamFills() }
        _ = try await rules()
        let client = self.client, symbol = self.symbol
        var start = cursor ?? 0
        var raw: [RawFill] = []
        // Pages of 100 from the cursor on; a full page means there may be more.
        for _ in 0..<20 {
            let page = try await call { () async throws(MEXCFailure) in try await client.myTrades(symbol: symbol, startTime: start, limit: 100) }
            let sorted = try page.map { t throws(ExchangeError) in (t, try Self.time(t.time)) }.sorted { $0.1 < $1.1 }
            for (t, time) in sorted where reported["\(t.orderId.text)#\(t.id.text)"] == nil {
                if let fill = try await rawFill(t, time: time) { raw.append(fill) }
            }
            guard page.count == 100, let last = sorted.last?.1, last > start else { break }
            start = last
        }
        lastFillsPoll = now
        fillsPending = false
        // Taken after the poll: a fill the stream brought while the poll was under way is in
        // `reported` (so the poll skipped it) and must be handed over now.
        let polled = commit(raw)
        let out = (takeStreamFills() + polled).sorted { $0.time < $1.time }
        if let newest = reported.values.max() { cursor = max(cursor ?? 0, newest - Self.overlap) }
        let horizon = (cursor ?? 0) - 3_600_000
        reported = reported.filter { $0.value >= horizon }
        return out
    }

    func takeStreamFills() -> [ExchangeTrade] {
        defer { streamFills = [] }
        return streamFills
    }

    /// Every fill up to now, REST included, whatever the polling interval: for the end of a run,
    /// once every order is cancelled.
    public func finalFills() async throws(ExchangeError) -> [ExchangeTrade] {
        fillsPending = true
        return try await newFills()
    }

    /// A fill as MEXC reported it, from myTrades or the private deals stream.
    struct RawFill {
        var tradeId: String
        var orderId: String
        var clientId: String
        var side: Side
        var price: Dec
        var quantity: Dec
        /// In quote.
        var fee: Dec
        var time: Int64
        var isMaker: Bool
        var key: String { "\(orderId)#\(tradeId)" }
    }

    /// Marks fills as reported, skipping any seen already (the stream and REST both bring them),
    /// and tells for each whether it completed its order. No suspension point: atomic.
    func commit(_ fills: [RawFill]) -> [ExchangeTrade] {
        var out: [ExchangeTrade] = []
        for f in fills.sorted(by: { $0.time < $1.time }) where reported[f.key] == nil {
            reported[f.key] = f.time
            var k = known[f.orderId] ?? Known(clientId: f.clientId, quantity: 0, filled: 0)
            k.filled += f.quantity
            known[f.orderId] = k
            accountStale = true
            out.append(ExchangeTrade(tradeId: f.tradeId, orderId: f.orderId, clientId: f.clientId, side: f.side, price: f.price,
                                     quantity: f.quantity, fee: f.fee, time: f.time, isMaker: f.isMaker,
                                     orderFilled: k.quantity.isPositive && k.filled >= k.quantity))
        }
        return out
    }

    /// A fee in the pair's quote: one charged in base is valued at the fill's price; one
    /// charged in another asset (MX) does not change the pair's balances.
    func feeInQuote(_ amount: Dec, asset: String, price: Dec) -> Dec {
        asset == quoteAsset ? amount : asset == baseAsset ? amount * price : 0
    }

    // MARK: Conversions

    static func time(_ t: FlexibleText) throws(ExchangeError) -> Int64 {
        guard let v = Int64(t.text) else { throw ExchangeError(code: -2, message: "unexpected answer from MEXC: time '\(t.text)'") }
        return v
    }

    /// Converts an order MEXC sent and remembers it as ours.
    func remember(_ r: OrderResponse) throws(ExchangeError) -> ExchangeOrder {
        func dec(_ t: FlexibleText?) throws(ExchangeError) -> Dec {
            guard let t else { return 0 }
            do { return try t.decimal() } catch { throw ExchangeError(error) }
        }
        let clientId = r.clientOrderId ?? r.origClientOrderId ?? known[r.orderId.text]?.clientId ?? ""
        let quantity = try dec(r.origQty)
        let o = ExchangeOrder(orderId: r.orderId.text, clientId: clientId, side: r.side.uppercased() == "BUY" ? .buy : .sell,
                              type: OrderType(rawValue: r.type) ?? .limit, price: try dec(r.price), quantity: quantity,
                              executed: try dec(r.executedQty), status: r.status.flatMap(OrderStatus.init(rawValue:)) ?? .new,
                              time: Int64((r.time ?? r.transactTime)?.text ?? "") ?? clock.now())
        if !clientId.isEmpty, known[o.orderId] == nil { known[o.orderId] = Known(clientId: clientId, quantity: quantity, filled: 0) }
        if o.executed > (known[o.orderId]?.filled ?? 0) { fillsPending = true }
        return o
    }

    /// A fill from myTrades; its client id comes from our records, or from MEXC when it is not
    /// in the fill (MEXC often sends null). Nil for fills of orders that are not ours.
    func rawFill(_ t: AccountTrade, time: Int64) async throws(ExchangeError) -> RawFill? {
        let orderId = t.orderId.text
        let client = self.client, symbol = self.symbol
        if known[orderId].map({ $0.clientId.isEmpty || $0.quantity.isZero }) ?? true {
            // What an order is never changes: safe to remember even if this poll fails later.
            if let r = try await call({ () async throws(MEXCFailure) in try await client.queryOrder(symbol: symbol, orderId: orderId) }) {
                let clientId = r.clientOrderId ?? r.origClientOrderId ?? t.clientOrderId ?? ""
                known[orderId] = Known(clientId: clientId, quantity: (try? r.origQty.decimal()) ?? 0, filled: known[orderId]?.filled ?? 0)
            } else if let c = t.clientOrderId, !c.isEmpty, known[orderId] == nil {
                known[orderId] = Known(clientId: c, quantity: 0, filled: 0)
            }
        }
        guard let k = known[orderId], !k.clientId.isEmpty else { return nil }
        let price: Dec, quantity: Dec, commission: Dec
        do {
            price = try t.price.decimal()
            quantity = try t.qty.decimal()
            commission = try t.commission.decimal()
        } catch { throw ExchangeError(error) }
        return RawFill(tradeId: t.id.text, orderId: orderId, clientId: k.clientId, side: t.isBuyer ? .buy : .sell, price: price,
                       quantity: quantity, fee: feeInQuote(commission, asset: t.commissionAsset, price: price), time: time, isMaker: t.isMaker)
    }

    // MARK: Streams

    func startStreams() {
        guard let base = streamURL, privateStream == nil else { return }
        let privateStream = StreamConnection(channels: ["spot@private.orders.v3.api.pb", "spot@private.deals.v3.api.pb",
                                                        "spot@private.account.v3.api.pb"],
                                             url: { [weak self] in
                                                 guard let self else { throw CancellationError() }
                                                 return base + "?listenKey=" + (try await self.currentListenKey())
                                             }) { [weak self] notice in await self?.handlePrivate(notice) }
        self.privateStream = privateStream
        let feed = self.feed
        Task {
            await feed.start()
            await privateStream.start()
        }
        keepAlive = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.listenKeyKeepAlive)
                guard !Task.isCancelled else { return }
                await self?.keepListenKeyAlive()
            }
        }
    }

    /// The listenKey of the private stream, created when there is none (or the last one failed).
    /// After the private stream went down, the key is checked first (kept alive): MEXC may
    /// have ended it, and its refusal of the connection is not always heard before the close.
    func currentListenKey() async throws -> String {
        if let key = listenKey, privateDropped {
            privateDropped = false
            if (try? await client.keepListenKey(key)) == nil { listenKey = nil }
        }
        if let listenKey { return listenKey }
        let key = try await client.createListenKey()
        listenKey = key
        return key
    }

    func keepListenKeyAlive() async {
        guard let key = listenKey else { return }
        do { try await client.keepListenKey(key) } catch {
            // Expired or refused: the next connection asks for a new one.
            listenKey = nil
            note("listenKey could not be kept alive (\(error)); a new one is made at the next connection", warning: true)
        }
    }

    func note(_ text: String, warning: Bool = false) {
        notes.append((warning, text))
        if notes.count > 200 { notes.removeFirst(100) }
    }

    public func takeNotes() async -> [(warning: Bool, text: String)] {
        defer { notes = [] }
        return await feed.takeNotes() + notes
    }

    public func onMarketChange(_ action: @escaping @Sendable () -> Void) async { await feed.onChange(action) }

    /// Stops the streams and closes the listenKey.
    public func close() async {
        keepAlive?.cancel()
        await feed.stop()
        await privateStream?.stop()
        if let key = listenKey { try? await client.closeListenKey(key) }
        listenKey = nil
        privateUp = false
        // The private stream lags the last cancels: the balances after a stop come from REST.
        accountStale = true
    }

    func handlePrivate(_ notice: StreamNotice) async {
        switch notice {
        case .connected:
            Counter(label: "mmsh_stream_connects_total", dimensions: [("pair", symbol), ("stream", "private")]).increment()
            note("private stream connected")
            privateUp = true
            // Fills made while it was down come from REST, now.
            fillsPending = true
            accountStale = true
        case .disconnected(let reason):
            note("private stream down: \(reason); polling REST meanwhile", warning: true)
            privateUp = false
            privateDropped = true
            if reason.contains("Invalid listen key") { listenKey = nil }
        case .event(.fill(let symbol, let d)) where symbol == self.symbol:
            guard d.clientId.isEmpty == false || known[d.orderId] != nil else { return }
            if known[d.orderId] == nil { known[d.orderId] = Known(clientId: d.clientId, quantity: 0, filled: 0) }
            let clientId = d.clientId.isEmpty ? known[d.orderId]!.clientId : d.clientId
            streamFills += commit([RawFill(tradeId: d.tradeId, orderId: d.orderId, clientId: clientId, side: d.side, price: d.price,
                                           quantity: d.quantity, fee: feeInQuote(d.fee, asset: d.feeAsset, price: d.price),
                                           time: d.time, isMaker: d.isMaker)])
        case .event(.order(let symbol, let o)) where symbol == self.symbol:
            var k = known[o.orderId] ?? Known(clientId: o.clientId, quantity: o.quantity, filled: 0)
            if k.quantity.isZero { k.quantity = o.quantity }
            if k.clientId.isEmpty { k.clientId = o.clientId }
            known[o.orderId] = k
        case .event(.balance(let b)):
            streamBalances[b.asset] = (b.free, b.locked)
        case .unreadable(let why):
            note("unreadable frame: \(why)", warning: true)
        default: break
        }
    }
}
