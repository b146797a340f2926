import Foundation
import MMCore

/// A failed call to MEXC, keeping what MEXC said. A 5xx or a timeout on an order means its
/// outcome is unknown: it must be looked up by client id before being retried or forgotten.
public enum MEXCFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// MEXC answered with its `{code, msg}`.
    case exchange(code: Int, message: String, httpStatus: Int)
    /// A 4xx without MEXC's body (403 is a WAF block, 429 a rate limit).
    case client(httpStatus: Int, retryAfter: Double?)
    /// A 5xx: the server failed; an order's outcome is unknown.
    case server(httpStatus: Int)
    /// No answer: connection refused, reset, or timed out; an order's outcome is unknown.
    case network(String)
    /// An answer that is not what MEXC sends.
    case malformed(String)

    public var description: String {
        switch self {
        case let .exchange(code, message, status): "\(message) (MEXC \(code), HTTP \(status))"
        case let .client(status, retry): "HTTP \(status)" + (retry.map { ", retry after \($0)s" } ?? "")
        case let .server(status): "MEXC server error (HTTP \(status)); outcome unknown"
        case let .network(why): "no answer from MEXC (\(why)); outcome unknown"
        case let .malformed(why): "unexpected answer from MEXC: \(why)"
        }
    }

    /// Whether an order sent with this failure may exist all the same.
    public var outcomeUnknown: Bool {
        switch self {
        case .server, .network: true
        default: false
        }
    }

    /// The failure for an HTTP answer that is not a success.
    public static func from(httpStatus: Int, body: Data, retryAfter: Double? = nil) -> MEXCFailure {
        struct Body: Decodable { var code: FlexibleText; var msg: String }
        if let b = try? JSONDecoder().decode(Body.self, from: body), let code = Int(b.code.text) {
            return .exchange(code: code, message: b.msg, httpStatus: httpStatus)
        }
        if httpStatus >= 500 { return .server(httpStatus: httpStatus) }
        return .client(httpStatus: httpStatus, retryAfter: retryAfter)
    }
}

/// Decodes a MEXC answer; a body that does not fit is `malformed`, never a crash.
public func decodeMEXC<T: Decodable>(_ type: T.Type, from data: Data) throws(MEXCFailure) -> T {
    // The depth snapshot, read most often, straight from its bytes; orders, the account and
    // fills too when they read plainly (`DirectAnswers`), else through JSONDecoder below.
    if T.self == Depth.self { return try Depth.direct(data) as! T }
    if let direct = decodeMEXCDirectly(T.self, from: data) { return direct }
    return try decodeMEXCWithJSONDecoder(type, from: data)
}

/// The answer read by `DirectAnswers`, when its type has a direct reader and it reads plainly.
public func decodeMEXCDirectly<T>(_ type: T.Type, from data: Data) -> T? {
    if T.self == OrderResponse.self { return DirectAnswers.read(data, OrderResponse.direct) as! T? }
    if T.self == [OrderResponse].self { return DirectAnswers.read(data) { try DirectAnswers.array(&$0, OrderResponse.direct) } as! T? }
    if T.self == AccountInfo.self { return DirectAnswers.read(data, AccountInfo.direct) as! T? }
    if T.self == [AccountTrade].self { return DirectAnswers.read(data) { try DirectAnswers.array(&$0, AccountTrade.direct) } as! T? }
    return nil
}

/// `decodeMEXC` without the direct readers: what the `RESTAnswer` fuzz target checks them against.
public func decodeMEXCWithJSONDecoder<T: Decodable>(_ type: T.Type, from data: Data) throws(MEXCFailure) -> T {
    do { return try JSONDecoder().decode(type, from: data) } catch {
        throw .malformed("\(T.self): \(String(describing: error).prefix(200))")
    }
}

public struct ServerTime: Decodable, Sendable {
    public var serverTime: Int64
    enum CodingKeys: CodingKey { case serverTime }
    public init(from decoder: Decoder) throws {
        // A number in the docs; CCXT has seen a string.
        let text = try decoder.container(keyedBy: CodingKeys.self).decode(FlexibleText.self, forKey: .serverTime).text
        guard let t = Int64(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.serverTime], debugDescription: "not a time: \(text)"))
        }
        serverTime = t
    }
}

public struct AccountInfo: Decodable, Sendable, Equatable {
    public struct Balance: Decodable, Sendable, Equatable {
        public var asset: String
        public var free: FlexibleText
        public var locked: FlexibleText
    }
    public var canTrade: Bool?
    public var balances: [Balance]

    /// Free and locked of an asset (zero when absent).
    public func balance(_ asset: String) throws(MEXCFailure) -> (free: Dec, locked: Dec) {
        guard let b = balances.first(where: { $0.asset == asset }) else { return (0, 0) }
        return (try b.free.decimal(), try b.locked.decimal())
    }
}

/// An order as `GET /order`, `GET /openOrders`, `POST /order` and `DELETE /order` return it.
public struct OrderResponse: Decodable, Sendable, Equatable {
    public var symbol: String
    /// Opaque: a string or a number depending on the endpoint.
    public var orderId: FlexibleText
    public var clientOrderId: String?
    public var origClientOrderId: String?
    public var price: FlexibleText
    public var origQty: FlexibleText
    public var executedQty: FlexibleText?
    public var status: String?
    public var type: String
    public var side: String
    public var time: FlexibleText?
    public var transactTime: FlexibleText?
}

/// A fill of ours, from `GET /myTrades`.
public struct AccountTrade: Decodable, Sendable, Equatable {
    public var symbol: String
    public var id: FlexibleText
    public var orderId: FlexibleText
    public var price: FlexibleText
    public var qty: FlexibleText
    public var commission: FlexibleText
    public var commissionAsset: String
    public var time: FlexibleText
    public var isBuyer: Bool
    public var isMaker: Bool
    public var clientOrderId: String?
}

/// `GET /api/v3/depth`: the book's levels as exact decimals, in MEXC's order. Read straight
/// from the answer's bytes (`DirectJSON`); the `Decodable` path reads the same.
public struct Depth: Decodable, Sendable {
    public var lastUpdateId: Int64
    public var bidLevels: [(Dec, Dec)]
    public var askLevels: [(Dec, Dec)]

    init(lastUpdateId: Int64, bidLevels: [(Dec, Dec)], askLevels: [(Dec, Dec)]) {
        self.lastUpdateId = lastUpdateId
        self.bidLevels = bidLevels
        self.askLevels = askLevels
    }

    enum CodingKeys: CodingKey { case lastUpdateId, bids, asks }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // A number in the docs, a string in real captures.
        let id = try c.decode(FlexibleText.self, forKey: .lastUpdateId).text
        guard let n = Int64(id) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.lastUpdateId], debugDescription: "not an update id: \(id)"))
        }
        lastUpdateId = n
        func parse(_ rows: [[FlexibleText]], _ key: CodingKeys) throws -> [(Dec, Dec)] {
            try rows.map { row in
                guard row.count >= 2, let p = Dec(exchange: row[0].text), let q = Dec(exchange: row[1].text) else {
                    throw DecodingError.dataCorrupted(.init(codingPath: [key], debugDescription: "a depth level needs a price and a quantity, as decimals"))
                }
                return (p, q)
            }
        }
        bidLevels = try parse(c.decode([[FlexibleText]].self, forKey: .bids), .bids)
        askLevels = try parse(c.decode([[FlexibleText]].self, forKey: .asks), .asks)
    }

    /// Levels as (price, quantity), in MEXC's order.
    public func levels() throws(MEXCFailure) -> (bids: [(Dec, Dec)], asks: [(Dec, Dec)]) { (bidLevels, askLevels) }
}

public struct BookTicker: Decodable, Sendable {
    public var symbol: String
    public var bidPrice: FlexibleText
    public var bidQty: FlexibleText
    public var askPrice: FlexibleText
    public var askQty: FlexibleText
}

/// A public trade; MEXC sends `id` as null, so trades cannot be told apart by id.
public struct PublicTrade: Decodable, Sendable {
    public var id: FlexibleText?
    public var price: FlexibleText
    public var qty: FlexibleText
    public var time: Int64
    public var isBuyerMaker: Bool
}

/// `{"data": …, "code": 0, "msg": "success"}`, as tradeFee and defaultSymbols answer.
public struct Wrapped<T: Decodable & Sendable>: Decodable, Sendable {
    public var data: T
    public var code: FlexibleText?
    public var msg: String?
}

public struct TradeFee: Decodable, Sendable {
    public var makerCommission: FlexibleText
    public var takerCommission: FlexibleText
}
