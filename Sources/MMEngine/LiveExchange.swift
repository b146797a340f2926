import Foundation
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

/// The live venue: one symbol on MEXC spot through the REST API. Market data and fills are
/// polled within the rate limits; orders are placed post-only under our client ids, and an
/// order whose reply was lost is looked up by its client id before anything else is decided.
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
    var lastTrade: (price: Dec, at: Int64)?
    var lastTradesPoll: Int64 = 0
    var lastFillsPoll: Int64 = 0
    /// An order showed more executed than its reported fills: the next fills poll is not skipped.
    var fillsPending = false

    /// How often each kind of data is polled (ms): fills, the account when nothing changed, public trades.
    static let fillsEvery: Int64 = 1000
    static let accountEvery: Int64 = 5000
    static let tradesEvery: Int64 = 5000
    /// Fills are asked again over this much time before the newest seen, so a late one is not missed.
    static let overlap: Int64 = 5000

    /// `fillsSince`: where to start looking for fills (the previous run's start), so fills
    /// made while mmsh was away are recorded too.
    public init(client: MEXCClient, symbol: String, clock: any EngineClock, fillsSince: Int64? = nil) {
        self.client = client
        self.symbol = symbol
        self.clock = clock
        self.fillsSince = fillsSince
    }

    func call<T>(_ body: () async throws(MEXCFailure) -> T) async throws(ExchangeError) -> T {
        do { return try await body() } catch { throw ExchangeError(error) }
    }

    // MARK: Exchange

    /// The symbol's rules from exchangeInfo; refused when it cannot be traded through the API.
    public func rules() async throws(ExchangeError) -> MarketRules {
        if let cachedRules { return cachedRules }
        let client = self.client, symbol = self.symbol
        let notASymbol = ExchangeError(code: -1121, message: "\(symbol) is not a MEXC spot symbol")
        let found: SymbolInfo?
        do { found = try await client.exchangeInfo(symbol: symbol) } catch {
            if case .exchange(-1121, _, _) = error { throw notASymbol }
            throw ExchangeError(error)
        }
        guard let info = found else { throw notASymbol }
        do { try info.checkTradable() } catch { throw ExchangeError(code: 30000, message: error.reason) }
        let apiSymbols = try await call { () async throws(MEXCFailure) in try await client.defaultSymbols() }
        guard apiSymbols.contains(symbol) else {
            throw ExchangeError(code: 10007, message: "\(symbol) cannot be traded through the API (not in defaultSymbols)")
        }
        let rules: MarketRules
        do { rules = try info.rules() } catch { throw ExchangeError(code: -2, message: error.reason) }
        baseAsset = info.baseAsset
        quoteAsset = info.quoteAsset
        if cursor == nil {
            let serverNow = try await call { () async throws(MEXCFailure) in try await client.serverTime() }
            cursor = min(serverNow, fillsSince ?? serverNow)
        }
        cachedRules = rules
        return rules
    }

    public func snapshot() async throws(ExchangeError) -> MarketSnapshot {
        let client = self.client, symbol = self.symbol
        let now = clock.now()
        let depth = try await call { () async throws(MEXCFailure) in try await client.depth(symbol: symbol, limit: 100) }
        let levels = try await call { () async throws(MEXCFailure) in try depth.levels() }
        let book = OrderBook(bids: levels.bids.map { BookLevel($0.0, $0.1) }, asks: levels.asks.map { BookLevel($0.0, $0.1) })
        if accountStale || account.map({ now - $0.at >= Self.accountEvery }) ?? true {
            let info = try await call { () async throws(MEXCFailure) in try await client.account() }
            let quoteAsset = self.quoteAsset, baseAsset = self.baseAsset
            let base = try await call { () async throws(MEXCFailure) in try info.balance(baseAsset) }
            let quote = try await call { () async throws(MEXCFailure) in try info.balance(quoteAsset) }
            account = (Balances(base: AssetBalance(total: base.free + base.locked, available: base.free),
                                quote: AssetBalance(total: quote.free + quote.locked, available: quote.free)), now)
            accountStale = false
        }
        if now - lastTradesPoll >= Self.tradesEvery {
            lastTradesPoll = now
            if let t = try await call({ () async throws(MEXCFailure) in try await client.trades(symbol: symbol, limit: 1) }).last {
                lastTrade = (try await call { () async throws(MEXCFailure) in try t.price.decimal() }, t.time)
            }
        }
        return MarketSnapshot(time: now, book: book, lastTrade: lastTrade?.price, balances: account!.balances,
                              throttled: await client.throttled())
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

    /// New fills from myTrades, oldest first, each reported once (keyed by order and trade id).
    /// All or nothing: when a page cannot be read, nothing is marked as reported, so the same
    /// fills come back at the next call instead of being lost.
    public func newFills() async throws(ExchangeError) -> [ExchangeTrade] {
        let now = clock.now()
        guard fillsPending || now - lastFillsPoll >= Self.fillsEvery else { return [] }
        _ = try await rules()
        let client = self.client, symbol = self.symbol
        var start = cursor ?? 0
        var fresh: [ExchangeTrade] = []
        var seen = reported, orders = known
        // Pages of 100 from the cursor on; a full page means there may be more.
        for _ in 0..<20 {
            let page = try await call { () async throws(MEXCFailure) in try await client.myTrades(symbol: symbol, startTime: start, limit: 100) }
            let sorted = try page.map { t throws(ExchangeError) in (t, try Self.time(t.time)) }.sorted { $0.1 < $1.1 }
            for (t, time) in sorted {
                let key = "\(t.orderId.text)#\(t.id.text)"
                guard seen[key] == nil else { continue }
                guard let trade = try await trade(t, time: time, orders: &orders) else { continue }
                seen[key] = time
                fresh.append(trade)
            }
            guard page.count == 100, let last = sorted.last?.1, last > start else { break }
            start = last
        }
        reported = seen
        known = orders
        lastFillsPoll = now
        fillsPending = false
        if let newest = reported.values.max() { cursor = max(cursor ?? 0, newest - Self.overlap) }
        let horizon = (cursor ?? 0) - 3_600_000
        reported = reported.filter { $0.value >= horizon }
        if !fresh.isEmpty { accountStale = true }
        return fresh
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
    func trade(_ t: AccountTrade, time: Int64, orders: inout [String: Known]) async throws(ExchangeError) -> ExchangeTrade? {
        let orderId = t.orderId.text
        let client = self.client, symbol = self.symbol
        if orders[orderId].map({ $0.clientId.isEmpty || $0.quantity.isZero }) ?? true {
            if let r = try await call({ () async throws(MEXCFailure) in try await client.queryOrder(symbol: symbol, orderId: orderId) }) {
                let clientId = r.clientOrderId ?? r.origClientOrderId ?? t.clientOrderId ?? ""
                orders[orderId] = Known(clientId: clientId, quantity: (try? r.origQty.decimal()) ?? 0, filled: orders[orderId]?.filled ?? 0)
            } else if let c = t.clientOrderId, !c.isEmpty, orders[orderId] == nil {
                orders[orderId] = Known(clientId: c, quantity: 0, filled: 0)
            }
        }
        guard var k = orders[orderId], !k.clientId.isEmpty else { return nil }
        let price: Dec, quantity: Dec, commission: Dec
        do {
            price = try t.price.decimal()
            quantity = try t.qty.decimal()
            commission = try t.commission.decimal()
        } catch { throw ExchangeError(error) }
        k.filled += quantity
        orders[orderId] = k
        // Fees in quote: a fee charged in base is valued at the fill's price; one charged in
        // another asset (MX) does not change the pair's balances.
        let fee = t.commissionAsset == quoteAsset ? commission : t.commissionAsset == baseAsset ? commission * price : 0
        return ExchangeTrade(tradeId: t.id.text, orderId: orderId, clientId: k.clientId, side: t.isBuyer ? .buy : .sell, price: price,
                             quantity: quantity, fee: fee, time: time, isMaker: t.isMaker,
                             orderFilled: k.quantity.isPositive && k.filled >= k.quantity)
    }
}
