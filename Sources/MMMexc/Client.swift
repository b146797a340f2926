import Foundation
import Metrics

/// An API key and its secret. The secret is never part of a description, a log or an error.
public struct APICredentials: Sendable, CustomStringConvertible {
    public var key: String
    public var secret: String
    public init(key: String, secret: String) {
        self.key = key
        self.secret = secret
    }
    public var description: String { "APICredentials(\(key.prefix(4))…)" }
}

/// A MEXC spot v3 endpoint with its rate-limit weights.
public struct Endpoint: Sendable {
    public var method: String
    public var path: String
    public var signed: Bool
    public var ipWeight: Int
    public var uidWeight: Int
    /// The weight when no symbol is given and every symbol is answered, where MEXC documents one.
    public var allSymbolsIpWeight: Int?

    public init(method: String, path: String, signed: Bool, ipWeight: Int, uidWeight: Int, allSymbolsIpWeight: Int? = nil) {
        self.method = method
        self.path = path
        self.signed = signed
        self.ipWeight = ipWeight
        self.uidWeight = uidWeight
        self.allSymbolsIpWeight = allSymbolsIpWeight
    }

    public static let ping = Endpoint(method: "GET", path: "/api/v3/ping", signed: false, ipWeight: 1, uidWeight: 0)
    public static let time = Endpoint(method: "GET", path: "/api/v3/time", signed: false, ipWeight: 1, uidWeight: 0)
    public static let exchangeInfo = Endpoint(method: "GET", path: "/api/v3/exchangeInfo", signed: false, ipWeight: 10, uidWeight: 0)
    public static let defaultSymbols = Endpoint(method: "GET", path: "/api/v3/defaultSymbols", signed: false, ipWeight: 1, uidWeight: 0)
    public static let depth = Endpoint(method: "GET", path: "/api/v3/depth", signed: false, ipWeight: 1, uidWeight: 0)
    public static let bookTicker = Endpoint(method: "GET", path: "/api/v3/ticker/bookTicker", signed: false, ipWeight: 1, uidWeight: 0)
    public static let trades = Endpoint(method: "GET", path: "/api/v3/trades", signed: false, ipWeight: 5, uidWeight: 0)
    public static let account = Endpoint(method: "GET", path: "/api/v3/account", signed: true, ipWeight: 10, uidWeight: 0)
    public static let placeOrder = Endpoint(method: "POST", path: "/api/v3/order", signed: true, ipWeight: 1, uidWeight: 1)
    public static let queryOrder = Endpoint(method: "GET", path: "/api/v3/order", signed: true, ipWeight: 2, uidWeight: 0)
    public static let cancelOrder = Endpoint(method: "DELETE", path: "/api/v3/order", signed: true, ipWeight: 1, uidWeight: 0)
    public static let cancelOpenOrders = Endpoint(method: "DELETE", path: "/api/v3/openOrders", signed: true, ipWeight: 1, uidWeight: 0)
    public static let openOrders = Endpoint(method: "GET", path: "/api/v3/openOrders", signed: true, ipWeight: 3, uidWeight: 0)
    public static let myTrades = Endpoint(method: "GET", path: "/api/v3/myTrades", signed: true, ipWeight: 10, uidWeight: 0)
    public static let batchOrders = Endpoint(method: "POST", path: "/api/v3/batchOrders", signed: true, ipWeight: 1, uidWeight: 1)
    public static let tradeFee = Endpoint(method: "GET", path: "/api/v3/tradeFee", signed: true, ipWeight: 20, uidWeight: 0)
    public static let ticker24hr = Endpoint(method: "GET", path: "/api/v3/ticker/24hr", signed: false, ipWeight: 1, uidWeight: 0,
                                            allSymbolsIpWeight: 40)
    public static let tickerPrice = Endpoint(method: "GET", path: "/api/v3/ticker/price", signed: false, ipWeight: 1, uidWeight: 0,
                                             allSymbolsIpWeight: 2)
    public static let avgPrice = Endpoint(method: "GET", path: "/api/v3/avgPrice", signed: false, ipWeight: 1, uidWeight: 0)
    public static let aggTrades = Endpoint(method: "GET", path: "/api/v3/aggTrades", signed: false, ipWeight: 1, uidWeight: 0)
    public static let klines = Endpoint(method: "GET", path: "/api/v3/klines", signed: false, ipWeight: 1, uidWeight: 0)
    public static let allOrders = Endpoint(method: "GET", path: "/api/v3/allOrders", signed: true, ipWeight: 10, uidWeight: 0)

    public static let createListenKey = Endpoint(method: "POST", path: "/api/v3/userDataStream", signed: true, ipWeight: 1, uidWeight: 0)
    public static let keepListenKey = Endpoint(method: "PUT", path: "/api/v3/userDataStream", signed: true, ipWeight: 1, uidWeight: 0)
    public static let closeListenKey = Endpoint(method: "DELETE", path: "/api/v3/userDataStream", signed: true, ipWeight: 1, uidWeight: 0)

    public static let all: [Endpoint] = [ping, time, exchangeInfo, defaultSymbols, depth, bookTicker, trades, account, placeOrder,
                                         queryOrder, cancelOrder, cancelOpenOrders, openOrders, myTrades, batchOrders, tradeFee,
                                         createListenKey, keepListenKey, closeListenKey, ticker24hr, tickerPrice, avgPrice, aggTrades,
                                         klines, allOrders]
}

/// An order to place: prices and quantities as plain decimal strings, already floored to the
/// symbol's tick and step.
public struct NewOrder: Sendable, Equatable {
    public var symbol: String
    public var side: String
    public var type: String
    public var quantity: String
    public var price: String
    public var clientId: String
    public init(symbol: String, side: String, type: String, quantity: String, price: String, clientId: String) {
        self.symbol = symbol
        self.side = side
        self.type = type
        self.quantity = quantity
        self.price = price
        self.clientId = clientId
    }
    var parameters: [(String, String)] {
        [("symbol", symbol), ("side", side), ("type", type), ("quantity", quantity), ("price", price), ("newClientOrderId", clientId)]
    }
}

/// A client of MEXC's spot REST API: signs, keeps the server-time offset, spends weight from
/// the IP and UID pools before each request, and honours 429s.
public actor MEXCClient {
    public let baseURL: String
    let transport: any HTTPTransport
    let credentials: APICredentials?
    /// The secret, keyed for HMAC once.
    let signingKey: SigningKey?
    let ipPool: WeightPool
    let uidPool: WeightPool
    public var recvWindow = 5000
    /// serverTime − local time, in ms; measured before the first signed request and after 700003.
    public private(set) var timeOffset: Int64 = 0
    var timeSynced = false
    /// How many times a request is sent again after a 429.
    static let rateLimitRetries = 4
    /// How many times an idempotent GET is sent again after a 5xx or no answer.
    static let readRetries = 2

    public init(baseURL: String, credentials: APICredentials?, transport: any HTTPTransport = CurlTransport(),
                ipPool: WeightPool = WeightPool(), uidPool: WeightPool = WeightPool()) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.transport = transport
        self.credentials = credentials
        signingKey = credentials.map { SigningKey(secret: $0.secret) }
        self.ipPool = ipPool
        self.uidPool = uidPool
    }

    /// Whether requests have been held back by the rate limits lately.
    public func throttled() async -> Bool {
        let ip = await ipPool.throttled()
        let uid = await uidPool.throttled()
        return ip || uid
    }

    static func localTime() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Measures the offset to the server's clock from the middle of a `GET /time` round trip.
    public func syncTime() async throws(MEXCFailure) {
        let before = Self.localTime()
        let t = try await request(.time, [], as: ServerTime.self)
        let after = Self.localTime()
        timeOffset = t.serverTime - (before + after) / 2
        timeSynced = true
    }

    /// Sends a request and decodes its answer, retrying what is safe to retry.
    public func request<T: Decodable>(_ endpoint: Endpoint, _ parameters: [(String, String)], as type: T.Type) async throws(MEXCFailure) -> T {
        let body = try await send(endpoint, parameters)
        return try decodeMEXC(T.self, from: body)
    }

    func send(_ endpoint: Endpoint, _ parameters: [(String, String)]) async throws(MEXCFailure) -> Data {
        if endpoint.signed && !timeSynced { try await syncTime() }
        var rateLimited = 0, unanswered = 0, resynced = false
        while true {
            await ipPool.acquire(endpoint.ipWeight)
            if endpoint.uidWeight > 0 { await uidPool.acquire(endpoint.uidWeight) }
            let request = try makeRequest(endpoint, parameters)
            let failure: MEXCFailure
            do {
                let response = try await transport.send(request)
                if (200..<300).contains(response.status) {
                    Self.count(endpoint, "ok")
                    return response.body
                }
                Self.count(endpoint, response.status == 429 || response.status == 418 ? "rate_limited"
                           : response.status >= 500 ? "server_error" : "refused")
                let retryAfter = response.headers["retry-after"].flatMap(Double.init)
                if (response.status == 429 || response.status == 418) && rateLimited < Self.rateLimitRetries {
                    // Not processed: safe to send again once the pools have reopened.
                    rateLimited += 1
                    let wait = retryAfter.map { Duration.milliseconds(Int64($0 * 1000)) } ?? .seconds(1 << (rateLimited - 1))
                    await ipPool.close(for: wait)
                    if endpoint.uidWeight > 0 { await uidPool.close(for: wait) }
                    continue
                }
                failure = MEXCFailure.from(httpStatus: response.status, body: response.body, retryAfter: retryAfter)
            } catch {
                Self.count(endpoint, "no_answer")
                failure = error
            }
            if case .exchange(700003, _, _) = failure, endpoint.signed, !resynced {
                resynced = true
                try await syncTime()
                continue
            }
            // A read that got no answer is safe to send again; an order is looked up by its client id instead.
            if failure.outcomeUnknown && endpoint.method == "GET" && unanswered < Self.readRetries {
                unanswered += 1
                try? await Task.sleep(for: .milliseconds(100 << unanswered))
                continue
            }
            throw failure
        }
    }

    /// Every request MEXC was sent, by path and outcome (ok, refused, rate_limited for its 429 and
    /// 418, server_error, no_answer), for `/metrics`.
    static func count(_ endpoint: Endpoint, _ outcome: String) {
        Counter(label: "mmsh_rest_requests_total", dimensions: [("path", endpoint.path), ("outcome", outcome)]).increment()
    }

    func makeRequest(_ endpoint: Endpoint, _ parameters: [(String, String)]) throws(MEXCFailure) -> HTTPRequest {
        var headers = [("Content-Type", "application/json")]
        let query: String
        if endpoint.signed {
            guard let credentials else { throw .client(httpStatus: 401, retryAfter: nil) }
            headers.append(("X-MEXC-APIKEY", credentials.key))
            query = MEXCSigner.signedQuery(parameters, timestamp: Self.localTime() + timeOffset, recvWindow: recvWindow,
                                           key: signingKey ?? SigningKey(secret: credentials.secret))
        } else {
            query = MEXCSigner.query(parameters)
        }
        return HTTPRequest(method: endpoint.method, url: baseURL + endpoint.path + (query.isEmpty ? "" : "?" + query), headers: headers)
    }

    // MARK: Public endpoints

    /// An endpoint's answer as MEXC sent it (a recording keeps the bytes), with the same limits,
    /// retries and errors as a decoded call.
    public func raw(_ endpoint: Endpoint, _ parameters: [(String, String)]) async throws(MEXCFailure) -> Data {
        try await send(endpoint, parameters)
    }

    public func ping() async throws(MEXCFailure) { _ = try await send(.ping, []) }

    public func serverTime() async throws(MEXCFailure) -> Int64 { try await request(.time, [], as: ServerTime.self).serverTime }

    public func exchangeInfo(symbol: String) async throws(MEXCFailure) -> SymbolInfo? {
        try await request(.exchangeInfo, [("symbol", symbol)], as: ExchangeInfo.self).symbols.first { $0.symbol == symbol }
    }

    /// The symbols that may be traded through the API.
    public func defaultSymbols() async throws(MEXCFailure) -> [String] {
        try await request(.defaultSymbols, [], as: Wrapped<[String]>.self).data
    }

    public func depth(symbol: String, limit: Int = 100) async throws(MEXCFailure) -> Depth {
        try await request(.depth, [("symbol", symbol), ("limit", "\(limit)")], as: Depth.self)
    }

    public func bookTicker(symbol: String) async throws(MEXCFailure) -> BookTicker {
        try await request(.bookTicker, [("symbol", symbol)], as: BookTicker.self)
    }

    public func trades(symbol: String, limit: Int = 1) async throws(MEXCFailure) -> [PublicTrade] {
        try await request(.trades, [("symbol", symbol), ("limit", "\(limit)")], as: [PublicTrade].self)
    }

    // MARK: Signed endpoints

    public func account() async throws(MEXCFailure) -> AccountInfo { try await request(.account, [], as: AccountInfo.self) }

    public func placeOrder(_ order: NewOrder) async throws(MEXCFailure) -> OrderResponse {
        try await request(.placeOrder, order.parameters, as: OrderResponse.self)
    }

    /// Up to 20 orders of one symbol in one request; one result per order, in order.
    public func batchOrders(_ orders: [NewOrder]) async throws(MEXCFailure) -> [BatchOrderResult] {
        guard !orders.isEmpty else { return [] }
        guard orders.count <= 20, Set(orders.map(\.symbol)).count == 1 else {
            throw .malformed("batchOrders takes 1 to 20 orders of one symbol")
        }
        return try await request(.batchOrders, [("batchOrders", Self.batchJSON(orders))], as: [BatchOrderResult].self)
    }

    static func batchJSON(_ orders: [NewOrder]) -> String {
        func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "[" + orders.map { o in
            "{" + o.parameters.map { "\(quoted($0.0)):\(quoted($0.1))" }.joined(separator: ",") + "}"
        }.joined(separator: ",") + "]"
    }

    /// The order with our client id; nil when MEXC does not know it (-2011).
    public func queryOrder(symbol: String, clientId: String) async throws(MEXCFailure) -> OrderResponse? {
        do {
            return try await request(.queryOrder, [("symbol", symbol), ("origClientOrderId", clientId)], as: OrderResponse.self)
        } catch {
            if case .exchange(let code, _, _) = error, code == -2011 || code == -2013 { return nil }
            throw error
        }
    }

    public func queryOrder(symbol: String, orderId: String) async throws(MEXCFailure) -> OrderResponse? {
        do {
            return try await request(.queryOrder, [("symbol", symbol), ("orderId", orderId)], as: OrderResponse.self)
        } catch {
            if case .exchange(let code, _, _) = error, code == -2011 || code == -2013 { return nil }
            throw error
        }
    }

    public func cancelOrder(symbol: String, clientId: String) async throws(MEXCFailure) -> OrderResponse {
        try await request(.cancelOrder, [("symbol", symbol), ("origClientOrderId", clientId)], as: OrderResponse.self)
    }

    /// Cancels every open order of the account on `symbol` (ours and anyone else's).
    public func cancelOpenOrders(symbol: String) async throws(MEXCFailure) -> [OrderResponse] {
        try await request(.cancelOpenOrders, [("symbol", symbol)], as: [OrderResponse].self)
    }

    public func openOrders(symbol: String) async throws(MEXCFailure) -> [OrderResponse] {
        try await request(.openOrders, [("symbol", symbol)], as: [OrderResponse].self)
    }

    /// The account's fills on `symbol` from `startTime` on, oldest first, at most `limit` (≤ 100).
    public func myTrades(symbol: String, startTime: Int64? = nil, limit: Int = 100) async throws(MEXCFailure) -> [AccountTrade] {
        var parameters = [("symbol", symbol)]
        if let startTime { parameters.append(("startTime", "\(startTime)")) }
        parameters.append(("limit", "\(min(100, max(1, limit)))"))
        return try await request(.myTrades, parameters, as: [AccountTrade].self)
    }

    // MARK: User data streams

    struct ListenKey: Decodable { var listenKey: String }

    /// A listenKey for the private channels, valid 60 minutes.
    public func createListenKey() async throws(MEXCFailure) -> String {
        try await request(.createListenKey, [], as: ListenKey.self).listenKey
    }

    /// Extends a listenKey by 60 minutes (MEXC advises every 30).
    public func keepListenKey(_ key: String) async throws(MEXCFailure) {
        _ = try await send(.keepListenKey, [("listenKey", key)])
    }

    public func closeListenKey(_ key: String) async throws(MEXCFailure) {
        _ = try await send(.closeListenKey, [("listenKey", key)])
    }

    public func tradeFee(symbol: String) async throws(MEXCFailure) -> TradeFee {
        try await request(.tradeFee, [("symbol", symbol)], as: Wrapped<TradeFee>.self).data
    }
}

/// One order's result in a batchOrders answer: placed (with its order id) or refused.
public struct BatchOrderResult: Decodable, Sendable {
    public var newClientOrderId: String?
    public var orderId: FlexibleText?
    public var code: FlexibleText?
    public var msg: String?

    public var failure: MEXCFailure? {
        guard orderId == nil else { return nil }
        return .exchange(code: code.flatMap { Int($0.text) } ?? 0, message: msg ?? "refused", httpStatus: 200)
    }
}
