import Foundation
import MMCore
import MMMexc
import MMSim
import MMStrategy

/// One HTTP request as the simulator sees it: the raw query string and body, as sent.
public struct SimRequest: Sendable {
    public var method: String
    public var path: String
    public var rawQuery: String
    public var body: String
    public var apiKey: String?
    public init(method: String, path: String, rawQuery: String = "", body: String = "", apiKey: String? = nil) {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.body = body
        self.apiKey = apiKey
    }
}

public struct SimResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: String
    init(_ status: Int, _ json: JSONText, headers: [(String, String)] = []) {
        self.status = status
        self.headers = headers
        self.body = json.rendered
    }
    init(status: Int, text: String, headers: [(String, String)] = []) {
        self.status = status
        self.headers = headers
        self.body = text
    }
}

/// What the simulator server is asked to simulate.
public struct SimServerOptions: Sendable {
    public var port: Int = 0
    public var pairs: [String] = ["BTCUSDT"]
    public var credentials: APICredentials
    public var faults: FaultPlan = .none
    /// `sim.*` settings for every pair's market and account.
    public var settings = Settings()
    /// Weight per 10 s of each of the IP and UID pools.
    public var ipLimit = 500
    public var uidLimit = 500

    public init(credentials: APICredentials) { self.credentials = credentials }

    /// A key and secret of the shape MEXC hands out, chosen at random.
    public static func randomCredentials() -> APICredentials {
        func random(_ n: Int, _ alphabet: String) -> String {
            let a = Array(alphabet)
            return String((0..<n).map { _ in a[Int.random(in: 0..<a.count)] })
        }
        return APICredentials(key: "mx0" + random(15, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                              secret: random(32, "0123456789abcdef"))
    }
}

/// MEXC's spot REST API over the sim venue's markets: the same paths, parameters, JSON shapes,
/// HTTP statuses and error codes, with HMAC verification, recvWindow checks and weights.
/// Each pair has its own market and its own account pocket (its base and its quote); the
/// account lists each base asset and the quote assets summed over pockets.
public actor SimulatedMEXC {
    struct Pair {
        let symbol: String
        let base: String
        let quote: String
        var market: SimMarket
        /// The account's fills, oldest first.
        var fills: [ExchangeTrade] = []
        var updateId: Int64 = 1
        var clientIds: [String: String] = [:]
        var generated = 0
        /// Fills made since the pair opened (`fills` keeps the newest).
        var fillCount = 0
        /// Client ids of orders that changed since the last publish.
        var touched: Set<String> = []
        /// The tape and candles, for the history endpoints.
        var history = MarketHistory()
    }

    var pairs: [String: Pair] = [:]
    let order: [String]
    let credentials: APICredentials
    public private(set) var faults: FaultPlan
    var random: SeededGenerator
    let now: @Sendable () -> Int64
    var ipWindow: WeightWindow
    var uidWindows: [String: WeightWindow] = [:]
    let uidLimit: Int
    /// Requests seen, by outcome, for tests and the server's summary.
    public internal(set) var counts: [String: Int] = [:]
    // The WebSocket side (SimStreams.swift).
    var listenKeys: [String: Int64] = [:]
    var streamSessions: [Int: StreamSession] = [:]
    var nextSessionId = 0
    var published: [String: Published] = [:]
    public internal(set) var refusingStreams = false
    var mutedStreams = false

    public init(options: SimServerOptions, now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws(SettingError) {
        var config = SimMarketConfig(options.settings)
        // MEXC's book changes many times a second and its aggregated channels publish every
        // 100 ms (or 10 ms): the market moves at that cadence, with the other participants'
        // orders coming and going (about ten level changes a step, as on BTCUSDT).
        config.stepMs = 100
        config.churn = 10
        for (what, v) in [("sim.tick", config.rules.tick), ("sim.step", config.rules.step)] {
            let n = v.normalized
            guard n.mantissa == 1, n.scale >= 0 else {
                throw SettingError("\(what) must be a power of ten such as 0.01 (MEXC states precisions as decimal places), not \(v)")
            }
        }
        var seen: [String] = []
        for raw in options.pairs {
            guard let symbol = Units.normalizeSymbol(raw), let assets = Units.assets(of: symbol) else {
                throw SettingError("--pair: '\(raw)' is not a symbol ending in one of \(Units.quoteAssets.joined(separator: ", "))")
            }
            guard !seen.contains(symbol) else { continue }
            seen.append(symbol)
            let seed = config.seed.map { $0 &+ UInt64(seen.count - 1) } ?? UInt64.random(in: 0...UInt64(UInt32.max))
            let start = now()
            pairs[symbol] = Pair(symbol: symbol, base: assets.base, quote: assets.quote,
                                 market: SimMarket(config: config, seed: seed, start: start))
        }
        guard !seen.isEmpty else { throw SettingError("--pair: name at least one symbol") }
        order = seen
        credentials = options.credentials
        faults = options.faults
        random = SeededGenerator(seed: options.faults.seed ?? UInt64.random(in: 0...UInt64.max))
        self.now = now
        ipWindow = WeightWindow(capacity: options.ipLimit)
        uidLimit = options.uidLimit
    }

    public var symbols: [String] { order }

    public func setFaults(_ plan: FaultPlan) {
        faults = plan
        if let seed = plan.seed { random = SeededGenerator(seed: seed) }
    }

    /// The delay and the fault of the next request, drawn from the fault plan.
    public func nextFault(method: String? = nil) -> (delay: Duration?, fault: Fault?) {
        guard !faults.isNone else { return (nil, nil) }
        if let only = faults.methods, let method, !only.contains(method) { return (nil, nil) }
        let delay = random.uniform() < faults.latencyRate ? Duration.milliseconds(faults.latency.milliseconds) : nil
        let fault = faults.fault(for: random.uniform())
        if let fault { counts[fault.rawValue, default: 0] += 1 }
        return (delay, fault)
    }

    // MARK: The account, for tests and the server's summary

    /// The account's balances in the pocket of `symbol`.
    public func balances(_ symbol: String) -> AccountBalances? {
        catchUp(symbol)
        return pairs[symbol]?.market.engine.account
    }

    public func openOrders(_ symbol: String) -> [ExchangeOrder] {
        catchUp(symbol)
        return pairs[symbol]?.market.engine.openOrders ?? []
    }

    /// The whole book of `symbol` (participants and the account), best first.
    public func book(_ symbol: String) -> OrderBook {
        catchUp(symbol)
        return pairs[symbol]?.market.engine.book(depth: 5000) ?? OrderBook(bids: [], asks: [])
    }

    /// The client id of every order placed on `symbol`.
    public func clientIds(_ symbol: String) -> Set<String> {
        Set(pairs[symbol]?.clientIds.values ?? [:].values)
    }

    public func fills(_ symbol: String) -> [ExchangeTrade] {
        catchUp(symbol)
        return pairs[symbol]?.fills ?? []
    }

    func catchUp(_ symbol: String) {
        guard var p = pairs[symbol] else { return }
        let before = p.market.time
        let trades = p.market.advance(to: now())
        if p.market.time != before { p.updateId += 1 }
        p.fills += trades
        p.fillCount += trades.count
        for t in trades { p.touched.insert(t.clientId) }
        p.history.take(from: p.market)
        if p.fills.count > 100_000 { p.fills.removeFirst(p.fills.count - 100_000) }
        pairs[symbol] = p
    }

    // MARK: Requests

    public func handle(_ r: SimRequest) -> SimResponse {
        let endpoint = Endpoint.all.first { $0.method == r.method && $0.path == r.path }
        guard let endpoint else {
            counts["not found", default: 0] += 1
            return SimResponse(404, .object([("code", .int(404)), ("msg", .string("Not Found"))]))
        }
        let params = Self.parameters(r.rawQuery) + Self.parameters(r.body, form: true)
        var p: [String: String] = [:]
        for (k, v) in params where p[k] == nil { p[k] = v }
        let t = now()
        let weight = p["symbol"] == nil ? endpoint.allSymbolsIpWeight ?? endpoint.ipWeight : endpoint.ipWeight
        if let retry = ipWindow.take(weight, at: t) { return tooMany(retry) }
        if endpoint.signed {
            if let failure = authenticate(r, p, at: t) { return failure }
            if endpoint.uidWeight > 0, let retry = uidWindows[r.apiKey!, default: WeightWindow(capacity: uidLimit)].take(endpoint.uidWeight, at: t) {
                return tooMany(retry)
            }
        }
        counts["ok", default: 0] += 1
        counts[r.method + " " + r.path, default: 0] += 1
        do {
            return try route(endpoint, p, at: t)
        } catch {
            return Self.error(error.code, error.message)
        }
    }

    func tooMany(_ retryAfterMs: Int64) -> SimResponse {
        counts["429", default: 0] += 1
        let seconds = max(1, (retryAfterMs + 999) / 1000)
        return SimResponse(429, .object([("code", .int(429)), ("msg", .string("Too Many Requests"))]),
                           headers: [("Retry-After", "\(seconds)")])
    }

    static func error(_ code: Int, _ message: String, status: Int = 400) -> SimResponse {
        SimResponse(status, .object([("code", .int(Int64(code))), ("msg", .string(message))]))
    }

    /// Checks the API key, the signature over the query string and body as sent, and the
    /// timestamp against recvWindow, as MEXC does.
    func authenticate(_ r: SimRequest, _ p: [String: String], at t: Int64) -> SimResponse? {
        guard let key = r.apiKey, !key.isEmpty else { return Self.error(400, "api key required") }
        guard key == credentials.key else { return Self.error(10072, "Api key info invalid") }
        guard let timestamp = p["timestamp"].flatMap({ Int64($0) }) else { return Self.error(700004, "Param 'timestamp' is required") }
        let window = p["recvWindow"].map { Int64($0) ?? -1 } ?? 5000
        guard window > 0, window < 60_000 else { return Self.error(700005, "recvWindow must less than 60000") }
        let total = Self.withoutSignature(r.rawQuery) + Self.withoutSignature(r.body)
        guard let signature = p["signature"], signature == MEXCSigner.signature(total, secret: credentials.secret) else {
            counts["bad signature", default: 0] += 1
            return Self.error(700002, "Signature for this request is not valid.")
        }
        guard timestamp < t + 1000, t - timestamp <= window else {
            return Self.error(700003, "Timestamp for this request is outside of the recvWindow.")
        }
        return nil
    }

    static func withoutSignature(_ raw: String) -> String {
        raw.split(separator: "&", omittingEmptySubsequences: false).filter { !$0.hasPrefix("signature=") }.joined(separator: "&")
    }

    static func parameters(_ raw: String, form: Bool = false) -> [(String, String)] {
        raw.split(separator: "&").compactMap { item in
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            func decode(_ s: String) -> String {
                (form ? s.replacingOccurrences(of: "+", with: " ") : s).removingPercentEncoding ?? s
            }
            return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
        }
    }

    func pair(_ p: [String: String]) throws(ExchangeError) -> Pair {
        guard let s = p["symbol"], !s.isEmpty else { throw ExchangeError(code: 700004, message: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.") }
        guard pairs[s] != nil else { throw ExchangeError(code: -1121, message: "Invalid symbol.") }
        catchUp(s)
        return pairs[s]!
    }

    func route(_ e: Endpoint, _ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        switch (e.method, e.path) {
        case ("GET", "/api/v3/ping"): return SimResponse(200, .object([]))
        case ("GET", "/api/v3/time"): return SimResponse(200, .object([("serverTime", .int(t))]))
        case ("GET", "/api/v3/exchangeInfo"): return try exchangeInfo(p, at: t)
        case ("GET", "/api/v3/defaultSymbols"):
            return SimResponse(200, .object([("code", .int(200)), ("data", .array(order.map { .string($0) })), ("msg", .null)]))
        case ("GET", "/api/v3/depth"): return try depth(p, at: t)
        case ("GET", "/api/v3/ticker/bookTicker"): return try bookTicker(p)
        case ("GET", "/api/v3/trades"): return try trades(p)
        case ("GET", "/api/v3/account"): return account(at: t)
        case ("POST", "/api/v3/order"): return try placeOrder(p, at: t)
        case ("POST", "/api/v3/batchOrders"): return try batchOrders(p, at: t)
        case ("GET", "/api/v3/order"): return try queryOrder(p)
        case ("DELETE", "/api/v3/order"): return try cancelOrder(p)
        case ("DELETE", "/api/v3/openOrders"): return try cancelOpenOrders(p)
        case ("GET", "/api/v3/openOrders"):
            let pair = try pair(p)
            return SimResponse(200, .array(pair.market.engine.openOrders.map { orderJSON($0, pair) }))
        case ("GET", "/api/v3/myTrades"): return try myTrades(p)
        case ("GET", "/api/v3/allOrders"): return try allOrders(p, at: t)
        case ("GET", "/api/v3/ticker/24hr"): return try ticker24hr(p, at: t)
        case ("GET", "/api/v3/ticker/price"): return try tickerPrice(p)
        case ("GET", "/api/v3/avgPrice"): return try avgPrice(p, at: t)
        case ("GET", "/api/v3/aggTrades"): return try aggTrades(p)
        case ("GET", "/api/v3/klines"): return try klines(p)
        case ("POST", "/api/v3/userDataStream"): return createListenKey(at: t)
        case ("PUT", "/api/v3/userDataStream"): return try keepListenKey(p, at: t)
        case ("DELETE", "/api/v3/userDataStream"): return try closeListenKey(p)
        case ("GET", "/api/v3/tradeFee"):
            let fee = try pair(p).market.config.rules.makerFee
            return SimResponse(200, .object([("data", .object([("makerCommission", .number(fee.description)), ("takerCommission", .number(fee.description))])),
                                             ("code", .int(0)), ("msg", .string("success")), ("timestamp", .int(t))]))
        default: return Self.error(404, "Not Found", status: 404)
        }
    }

    // MARK: Market data

    func exchangeInfo(_ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        var wanted = order
        if let one = p["symbol"] { wanted = [one] }
        if let many = p["symbols"] { wanted = many.split(separator: ",").map(String.init) }
        guard wanted.allSatisfy({ pairs[$0] != nil }) else { throw ExchangeError(code: -1121, message: "Invalid symbol.") }
        let symbols: [JSONText] = wanted.map { s in
            let pair = pairs[s]!
            let r = pair.market.config.rules
            return .object([
                ("symbol", .string(s)), ("status", .string("1")), ("baseAsset", .string(pair.base)),
                ("baseAssetPrecision", .int(Int64(r.step.decimalPlaces))), ("quoteAsset", .string(pair.quote)),
                ("quotePrecision", .int(Int64(r.tick.decimalPlaces))), ("quoteAssetPrecision", .int(Int64(r.tick.decimalPlaces))),
                ("baseCommissionPrecision", .int(Int64(r.step.decimalPlaces))), ("quoteCommissionPrecision", .int(Int64(r.tick.decimalPlaces))),
                ("orderTypes", .array(["LIMIT", "LIMIT_MAKER", "IMMEDIATE_OR_CANCEL"].map { .string($0) })),
                ("isSpotTradingAllowed", .bool(true)), ("isMarginTradingAllowed", .bool(false)),
                ("quoteAmountPrecision", .string(r.minNotional.description)), ("baseSizePrecision", .string(r.minQuantity.description)),
                ("permissions", .array([.string("SPOT")])), ("filters", .array([])), ("maxQuoteAmount", .string("2000000")),
                ("makerCommission", .string(r.makerFee.description)), ("takerCommission", .string(r.makerFee.description)),
                ("quoteAmountPrecisionMarket", .string(r.minNotional.description)), ("maxQuoteAmountMarket", .string("100000")),
                ("fullName", .string(pair.base)), ("tradeSideType", .int(1)),
            ])
        }
        return SimResponse(200, .object([("timezone", .string("CST")), ("serverTime", .int(t)), ("rateLimits", .array([])),
                                         ("exchangeFilters", .array([])), ("symbols", .array(symbols))]))
    }

    func depth(_ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        let pair = try pair(p)
        let limit = try Self.limit(p, default: 100, max: 5000)
        let book = pair.market.engine.book(depth: limit)
        servedSnapshot(pair.symbol, book)
        func rows(_ levels: [BookLevel]) -> JSONText { .array(levels.map { .array([.string($0.price.description), .string($0.amount.description)]) }) }
        return SimResponse(200, .object([("lastUpdateId", .int(pair.updateId)), ("bids", rows(book.bids)), ("asks", rows(book.asks)),
                                         ("timestamp", .int(t))]))
    }

    func bookTicker(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        func ticker(_ pair: Pair) -> JSONText {
            let book = pair.market.engine.book(depth: 1)
            return .object([("symbol", .string(pair.symbol)),
                            ("bidPrice", .string(book.bids.first?.price.description ?? "0")), ("bidQty", .string(book.bids.first?.amount.description ?? "0")),
                            ("askPrice", .string(book.asks.first?.price.description ?? "0")), ("askQty", .string(book.asks.first?.amount.description ?? "0"))])
        }
        if p["symbol"] == nil {
            for s in order { catchUp(s) }
            return SimResponse(200, .array(order.map { ticker(pairs[$0]!) }))
        }
        return SimResponse(200, ticker(try pair(p)))
    }

    func trades(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        let pair = try pair(p)
        let limit = try Self.limit(p, default: 500, max: 1000)
        let items: [JSONText] = pair.history.tape.suffix(limit).map { print in
            .object([("id", .null), ("price", .string(print.price.description)), ("qty", .string(print.quantity.description)),
                     ("quoteQty", .string((print.price * print.quantity).description)), ("time", .int(print.time)),
                     ("isBuyerMaker", .bool(print.takerSide == .sell)), ("isBestMatch", .bool(true)),
                     ("tradeType", .string(print.takerSide == .buy ? "BID" : "ASK"))])
        }
        return SimResponse(200, .array(items))
    }

    /// A `limit` beyond the documented maximum is refused, as MEXC refuses it, not cut down.
    static func limit(_ p: [String: String], default d: Int, max m: Int) throws(ExchangeError) -> Int {
        guard let text = p["limit"] else { return d }
        guard let n = Int(text), n > 0 else { throw .parameter("limit must be a positive whole number") }
        guard n <= m else { throw .parameter("limit must be at most \(m)") }
        return n
    }

    // MARK: Market history

    /// `startTime` and `endTime`, in ms; `together`: one without the other is refused.
    static func window(_ p: [String: String], together: Bool) throws(ExchangeError) -> (Int64?, Int64?) {
        func time(_ key: String) throws(ExchangeError) -> Int64? {
            guard let text = p[key] else { return nil }
            guard let t = Int64(text), t >= 0 else { throw .parameter("\(key) must be a time in milliseconds") }
            return t
        }
        let (start, end) = (try time("startTime"), try time("endTime"))
        if together, (start == nil) != (end == nil) { throw .parameter("startTime and endTime must be used at the same time") }
        if let start, let end, start > end { throw .parameter("startTime must not be after endTime") }
        return (start, end)
    }

    func lastPrice(_ pair: Pair) -> Dec { pair.market.lastTrade ?? pair.market.mid }

    func ticker24hr(_ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        func ticker(_ pair: Pair) -> JSONText {
            let day = pair.history.day(before: t)
            let last = lastPrice(pair)
            let open = day.first?.open ?? last
            let book = pair.market.engine.book(depth: 1)
            let change = last - open
            return .object([
                ("symbol", .string(pair.symbol)), ("priceChange", .string(change.description)),
                ("priceChangePercent", .string(open.isPositive ? change.divided(by: open, scale: 8).description : "0")),
                ("prevClosePrice", .string(open.description)), ("lastPrice", .string(last.description)),
                ("bidPrice", .string(book.bids.first?.price.description ?? "")), ("bidQty", .string(book.bids.first?.amount.description ?? "")),
                ("askPrice", .string(book.asks.first?.price.description ?? "")), ("askQty", .string(book.asks.first?.amount.description ?? "")),
                ("openPrice", .string(open.description)), ("highPrice", .string((day.map(\.high).max() ?? last).description)),
                ("lowPrice", .string((day.map(\.low).min() ?? last).description)),
                ("volume", .string(day.reduce(Dec(0)) { $0 + $1.volume }.description)),
                ("quoteVolume", .string(day.reduce(Dec(0)) { $0 + $1.quoteVolume }.description)),
                ("openTime", .int(day.first?.openTime ?? t)), ("closeTime", .int(t)), ("count", .null),
            ])
        }
        if p["symbol"] == nil {
            for s in order { catchUp(s) }
            return SimResponse(200, .array(order.map { ticker(pairs[$0]!) }))
        }
        return SimResponse(200, ticker(try pair(p)))
    }

    func tickerPrice(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        func ticker(_ pair: Pair) -> JSONText {
            .object([("symbol", .string(pair.symbol)), ("price", .string(lastPrice(pair).description))])
        }
        if p["symbol"] == nil {
            for s in order { catchUp(s) }
            return SimResponse(200, .array(order.map { ticker(pairs[$0]!) }))
        }
        return SimResponse(200, ticker(try pair(p)))
    }

    /// The volume-weighted price of the last five minutes' trades (the last price when there were none).
    func avgPrice(_ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        let pair = try pair(p)
        let recent = pair.history.tape.filter { $0.time > t - 5 * MarketHistory.minute }
        let volume = recent.reduce(Dec(0)) { $0 + $1.quantity }
        let value = recent.reduce(Dec(0)) { $0 + $1.price * $1.quantity }
        let price = volume.isPositive ? value.divided(by: volume, scale: 8) : lastPrice(pair)
        return SimResponse(200, .object([("mins", .int(5)), ("price", .string(price.description))]))
    }

    func aggTrades(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        let pair = try pair(p)
        let limit = try Self.limit(p, default: 500, max: 1000)
        let (start, end) = try Self.window(p, together: true)
        let chosen = pair.history.tape.filter { print in
            (start.map { print.time >= $0 } ?? true) && (end.map { print.time <= $0 } ?? true)
        }
        return SimResponse(200, .array(chosen.suffix(limit).map { print in
            .object([("a", .null), ("f", .null), ("l", .null), ("p", .string(print.price.description)),
                     ("q", .string(print.quantity.description)), ("T", .int(print.time)),
                     ("m", .bool(print.takerSide == .sell)), ("M", .bool(true))])
        }))
    }

    func klines(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        let pair = try pair(p)
        guard let interval = p["interval"], !interval.isEmpty else {
            throw ExchangeError(code: 700004, message: "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.")
        }
        guard MarketHistory.intervals[interval] != nil else { throw ExchangeError(code: -1121, message: "Invalid interval.") }
        let limit = try Self.limit(p, default: 500, max: 1000)
        let (start, end) = try Self.window(p, together: false)
        let bars = pair.history.klines(interval: interval, start: start, end: end, limit: limit)
        return SimResponse(200, .array(bars.map { bar, close in
            .array([.int(bar.openTime), .string(bar.open.description), .string(bar.high.description), .string(bar.low.description),
                    .string(bar.close.description), .string(bar.volume.description), .int(close), .string(bar.quoteVolume.description)])
        }))
    }

    /// Every order, open or closed, of the last 24 hours by default and at most the last 7 days, as MEXC answers.
    func allOrders(_ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        let pair = try pair(p)
        let limit = try Self.limit(p, default: 500, max: 1000)
        let (start, end) = try Self.window(p, together: false)
        let from = start ?? t - 24 * 60 * MarketHistory.minute, until = end ?? t
        guard t - from <= 7 * 24 * 60 * MarketHistory.minute else { throw .parameter("startTime can be at most 7 days ago") }
        let chosen = pair.market.engine.allOrders.filter { $0.time >= from && $0.time <= until }
        return SimResponse(200, .array(chosen.suffix(limit).map { orderJSON($0, pair) }))
    }

    // MARK: The account

    func account(at t: Int64) -> SimResponse {
        var amounts: [(String, Dec, Dec)] = []
        func add(_ asset: String, _ free: Dec, _ locked: Dec) {
            if let i = amounts.firstIndex(where: { $0.0 == asset }) {
                amounts[i].1 += free
                amounts[i].2 += locked
            } else {
                amounts.append((asset, free, locked))
            }
        }
        for s in order {
            catchUp(s)
            let pair = pairs[s]!
            let a = pair.market.engine.account
            add(pair.base, a.baseFree, a.baseLocked)
            add(pair.quote, a.quoteFree, a.quoteLocked)
        }
        let balances: [JSONText] = amounts.map {
            .object([("asset", .string($0.0)), ("free", .string($0.1.description)), ("locked", .string($0.2.description))])
        }
        return SimResponse(200, .object([("makerCommission", .null), ("takerCommission", .null), ("buyerCommission", .null),
                                         ("sellerCommission", .null), ("canTrade", .bool(true)), ("canWithdraw", .bool(true)),
                                         ("canDeposit", .bool(true)), ("updateTime", .null), ("accountType", .string("SPOT")),
                                         ("balances", .array(balances)), ("permissions", .array([.string("SPOT")]))]))
    }

    /// Places one order; returns the order or MEXC's error.
    func place(_ p: [String: String], at t: Int64) throws(ExchangeError) -> (Pair, ExchangeOrder) {
        var pair = try pair(p)
        guard let sideText = p["side"], let side = Side(rawValue: sideText.lowercased()) else {
            throw .parameter("side must be BUY or SELL")
        }
        guard let typeText = p["type"] else { throw ExchangeError(code: 44444, message: "Param cannot be null: type") }
        guard let type = OrderType(rawValue: typeText) else {
            throw ExchangeError(code: 30041, message: "current order type can not place order")
        }
        guard let q = p["quantity"], !q.isEmpty else { throw ExchangeError(code: 10095, message: "amount can not be null") }
        guard let quantity = Dec(q) else { throw ExchangeError(code: 10097, message: "amount error") }
        guard let priceText = p["price"], let price = Dec(priceText) else { throw .parameter("price is required for \(typeText)") }
        var clientId = p["newClientOrderId"] ?? ""
        if clientId.isEmpty {
            pair.generated += 1
            clientId = "sim-\(pair.generated)"
        }
        guard clientId.count <= 32, clientId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }) else {
            throw ExchangeError(code: 700008, message: "Illegal characters found in parameter 'newClientOrderId'")
        }
        let (placed, trades) = try pair.market.withEngine { e throws(ExchangeError) in
            try e.place(clientId: clientId, side: side, type: type, price: price, quantity: quantity, time: t)
        }
        pair.fills += trades
        pair.fillCount += trades.count
        pair.updateId += 1
        pair.clientIds[placed.orderId] = clientId
        pair.touched.insert(clientId)
        pairs[pair.symbol] = pair
        return (pair, placed)
    }

    func placeOrder(_ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        let (pair, o) = try place(p, at: t)
        return SimResponse(200, .object([("symbol", .string(pair.symbol)), ("orderId", .string(o.orderId)), ("orderListId", .int(-1)),
                                         ("price", .string(o.price.description)), ("origQty", .string(o.quantity.description)),
                                         ("type", .string(o.type.rawValue)), ("side", .string(o.side.rawValue.uppercased())),
                                         ("transactTime", .int(t))]))
    }

    func batchOrders(_ p: [String: String], at t: Int64) throws(ExchangeError) -> SimResponse {
        guard let text = p["batchOrders"], let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw .parameter("batchOrders must be a JSON array of orders")
        }
        guard (1...20).contains(list.count) else { throw .parameter("batchOrders takes 1 to 20 orders") }
        let items: [[String: String]] = list.map { $0.mapValues { "\($0)" } }
        guard Set(items.map { $0["symbol"] ?? "" }).count == 1 else { throw .parameter("the orders of a batch must share one symbol") }
        var results: [JSONText] = []
        for item in items {
            do {
                let (pair, o) = try place(item, at: t)
                results.append(.object([("symbol", .string(pair.symbol)), ("orderId", .string(o.orderId)),
                                        ("newClientOrderId", .string(o.clientId)), ("orderListId", .int(-1))]))
            } catch {
                results.append(.object([("newClientOrderId", item["newClientOrderId"].map { .string($0) } ?? .null),
                                        ("msg", .string(error.message)), ("code", .int(Int64(error.code)))]))
            }
        }
        return SimResponse(200, .array(results))
    }

    /// The client id named by `origClientOrderId` or `orderId`.
    func clientId(_ p: [String: String], _ pair: Pair) throws(ExchangeError) -> String? {
        if let c = p["origClientOrderId"], !c.isEmpty { return c }
        if let id = p["orderId"], !id.isEmpty { return pair.clientIds[id] }
        throw ExchangeError(code: 700004, message: "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    }

    func queryOrder(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        let pair = try pair(p)
        guard let id = try clientId(p, pair), let o = pair.market.engine.order(clientId: id) else {
            throw ExchangeError(code: -2013, message: "Order does not exist.")
        }
        return SimResponse(200, orderJSON(o, pair))
    }

    func cancelOrder(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        var pair = try pair(p)
        guard let id = try clientId(p, pair) else { throw .unknownOrder }
        let o = try pair.market.withEngine { e throws(ExchangeError) in try e.cancel(clientId: id) }
        pair.updateId += 1
        pair.touched.insert(id)
        pairs[pair.symbol] = pair
        return SimResponse(200, cancelJSON(o, pair))
    }

    func cancelOpenOrders(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        let symbols = (p["symbol"] ?? "").split(separator: ",").map(String.init)
        guard !symbols.isEmpty, symbols.count <= 5 else { throw .parameter("symbol takes 1 to 5 symbols") }
        var out: [JSONText] = []
        for s in symbols {
            var pair = try pair(["symbol": s])
            let cancelled = (try? pair.market.withEngine { e throws(ExchangeError) in e.cancelAll() }) ?? []
            pair.updateId += 1
            for o in cancelled { pair.touched.insert(o.clientId) }
            pairs[s] = pair
            out += cancelled.map { cancelJSON($0, pair) }
        }
        return SimResponse(200, .array(out))
    }

    func myTrades(_ p: [String: String]) throws(ExchangeError) -> SimResponse {
        let pair = try pair(p)
        let limit = try Self.limit(p, default: 100, max: 100)
        let start = p["startTime"].flatMap { Int64($0) } ?? Int64.min
        let end = p["endTime"].flatMap { Int64($0) } ?? Int64.max
        let orderId = p["orderId"]
        let items: [JSONText] = pair.fills.lazy
            .filter { $0.time >= start && $0.time <= end && (orderId == nil || $0.orderId == orderId) }
            .prefix(limit)
            .map { f in
                .object([("symbol", .string(pair.symbol)), ("id", .string(f.tradeId)), ("orderId", .string(f.orderId)),
                         ("orderListId", .int(-1)), ("price", .string(f.price.description)), ("qty", .string(f.quantity.description)),
                         ("quoteQty", .string((f.price * f.quantity).description)), ("commission", .string(f.fee.description)),
                         ("commissionAsset", .string(pair.quote)), ("time", .int(f.time)), ("isBuyer", .bool(f.side == .buy)),
                         ("isMaker", .bool(f.isMaker)), ("isBestMatch", .bool(true)), ("isSelfTrade", .bool(false)),
                         ("clientOrderId", .string(f.clientId))])
            }
        return SimResponse(200, .array(items))
    }

    func orderJSON(_ o: ExchangeOrder, _ pair: Pair) -> JSONText {
        .object([("symbol", .string(pair.symbol)), ("orderId", .string(o.orderId)), ("orderListId", .int(-1)),
                 ("clientOrderId", .string(o.clientId)), ("price", .string(o.price.description)),
                 ("origQty", .string(o.quantity.description)), ("executedQty", .string(o.executed.description)),
                 ("cummulativeQuoteQty", .string((o.executed * o.price).description)), ("status", .string(o.status.rawValue)),
                 ("timeInForce", .null), ("type", .string(o.type.rawValue)), ("side", .string(o.side.rawValue.uppercased())),
                 ("stopPrice", .null), ("icebergQty", .null), ("time", .int(o.time)), ("updateTime", .int(now())),
                 ("isWorking", .bool(true)), ("origQuoteOrderQty", .string((o.quantity * o.price).description))])
    }

    func cancelJSON(_ o: ExchangeOrder, _ pair: Pair) -> JSONText {
        .object([("symbol", .string(pair.symbol)), ("origClientOrderId", .string(o.clientId)), ("orderId", .string(o.orderId)),
                 ("clientOrderId", .string(o.clientId)), ("price", .string(o.price.description)),
                 ("origQty", .string(o.quantity.description)), ("executedQty", .string(o.executed.description)),
                 ("cummulativeQuoteQty", .string((o.executed * o.price).description)), ("status", .string(o.status.rawValue)),
                 ("timeInForce", .null), ("type", .string(o.type.rawValue)), ("side", .string(o.side.rawValue.uppercased()))])
    }
}

/// A sliding window of spent weight that refuses (rather than delays) what does not fit.
struct WeightWindow: Sendable {
    let capacity: Int
    let windowMs: Int64 = 10_000
    var spent: [(at: Int64, weight: Int)] = []
    var total = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Spends `weight`, or returns the milliseconds until it would fit.
    mutating func take(_ weight: Int, at t: Int64) -> Int64? {
        while let first = spent.first, t - first.at >= windowMs {
            total -= first.weight
            spent.removeFirst()
        }
        guard total + weight > capacity else {
            spent.append((t, weight))
            total += weight
            return nil
        }
        var freed = 0
        for entry in spent {
            freed += entry.weight
            if total - freed + weight <= capacity { return entry.at + windowMs - t }
        }
        return windowMs
    }
}
