import MMCore

public enum Side: String, Sendable, Hashable, Codable {
    case buy, sell
    public var opposite: Side { self == .buy ? .sell : .buy }
}

/// A market's trading rules: prices are multiples of `tick`, amounts of `step`.
public struct MarketRules: Sendable, Equatable, Codable {
    public var tick: Dec
    public var step: Dec
    /// Smallest amount accepted.
    public var minQuantity: Dec
    /// Smallest price × amount accepted, in quote.
    public var minNotional: Dec
    /// Maker fee as a fraction.
    public var makerFee: Dec

    public init(tick: Dec, step: Dec, minQuantity: Dec = 0, minNotional: Dec = 0, makerFee: Dec = 0) {
        self.tick = tick
        self.step = step
        self.minQuantity = minQuantity
        self.minNotional = minNotional
        self.makerFee = makerFee
    }

    @inline(__always) public func price(_ p: Dec) -> Dec { p.floored(toMultipleOf: tick) }
    @inline(__always) public func amount(_ a: Dec) -> Dec { a.floored(toMultipleOf: step) }
}

public struct BookLevel: Sendable, Equatable, Codable {
    public var price: Dec
    public var amount: Dec
    public init(_ price: Dec, _ amount: Dec) {
        self.price = price
        self.amount = amount
    }
}

/// A snapshot of the order book: bids best (highest) first, asks best (lowest) first.
public struct OrderBook: Sendable, Equatable, Codable {
    public var bids: [BookLevel]
    public var asks: [BookLevel]
    public init(bids: [BookLevel], asks: [BookLevel]) {
        self.bids = bids
        self.asks = asks
    }

    public var bestBid: Dec? { bids.first?.price }
    public var bestAsk: Dec? { asks.first?.price }
    public var mid: Dec? {
        guard let b = bestBid, let a = bestAsk else { return nil }
        return (b + a).divided(by: 2, scale: max(b.scale, a.scale) + 1)
    }
}

public struct AssetBalance: Sendable, Equatable, Codable {
    public var total: Dec
    public var available: Dec
    public init(total: Dec, available: Dec) {
        self.total = total
        self.available = available
    }
    public var locked: Dec { total - available }
}

public struct Balances: Sendable, Equatable, Codable {
    public var base: AssetBalance
    public var quote: AssetBalance
    public init(base: AssetBalance, quote: AssetBalance) {
        self.base = base
        self.quote = quote
    }
}

/// One of the instance's own orders resting on the book.
public struct LiveOrder: Sendable, Equatable, Codable {
    public var clientId: String
    public var side: Side
    public var price: Dec
    /// What is left to fill.
    public var amount: Dec
    /// Milliseconds since the epoch.
    public var placedAt: Int64
    /// The placement it belongs to and its level there: buy and sell of one level are a pair.
    public var batch: Int
    public var level: Int
    /// A cancel was sent and not yet confirmed.
    public var cancelling: Bool

    public init(clientId: String, side: Side, price: Dec, amount: Dec, placedAt: Int64, batch: Int = 0, level: Int = 0,
                cancelling: Bool = false) {
        self.clientId = clientId
        self.side = side
        self.price = price
        self.amount = amount
        self.placedAt = placedAt
        self.batch = batch
        self.level = level
        self.cancelling = cancelling
    }
}

/// A fill of one of the instance's orders.
public struct OwnFill: Sendable, Equatable {
    public var clientId: String
    public var side: Side
    public var price: Dec
    public var amount: Dec
    public var time: Int64
    /// The order is now completely filled.
    public var complete: Bool

    public init(clientId: String, side: Side, price: Dec, amount: Dec, time: Int64, complete: Bool) {
        self.clientId = clientId
        self.side = side
        self.price = price
        self.amount = amount
        self.time = time
        self.complete = complete
    }
}

/// An order the strategy wants placed.
public struct ProposedOrder: Sendable, Equatable {
    public var side: Side
    public var level: Int
    public var price: Dec
    public var amount: Dec
    public init(side: Side, level: Int, price: Dec, amount: Dec) {
        self.side = side
        self.level = level
        self.price = price
        self.amount = amount
    }
}

/// A trade of the market (anyone's), as the public trades feed (the tape) shows it.
public struct TapeTrade: Sendable, Equatable, Codable {
    public var price: Dec
    public var amount: Dec
    /// Milliseconds since the epoch.
    public var time: Int64
    public init(price: Dec, amount: Dec, time: Int64) {
        self.price = price
        self.amount = amount
        self.time = time
    }
}

/// What the strategy sees at one decision. Everything comes in as values.
public struct MarketView: Sendable {
    /// Milliseconds since the epoch.
    public var now: Int64
    public var book: OrderBook
    /// Price of the market's latest trade, if known.
    public var lastTrade: Dec?
    public var balances: Balances
    public var orders: [LiveOrder]
    public var rules: MarketRules
    /// The market's trades since the last decision, oldest first.
    public var trades: [TapeTrade]

    public init(now: Int64, book: OrderBook, lastTrade: Dec? = nil, balances: Balances, orders: [LiveOrder] = [], rules: MarketRules,
                trades: [TapeTrade] = []) {
        self.trades = trades
        self.now = now
        self.book = book
        self.lastTrade = lastTrade
        self.balances = balances
        self.orders = orders
        self.rules = rules
    }
}
