import MMCore
import MMStrategy

/// An error as MEXC reports it: its code and message.
public struct ExchangeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(message) (MEXC \(code))" }

    public static func minimum(_ value: Dec, _ asset: String) -> ExchangeError {
        ExchangeError(code: 30002, message: "The minimum transaction volume cannot be less than:\(value)\(asset)")
    }
    public static let insufficientBalance = ExchangeError(code: 10101, message: "Insufficient balance")
    public static let insufficientPosition = ExchangeError(code: 30004, message: "Insufficient position")
    public static let unknownOrder = ExchangeError(code: -2011, message: "Unknown order sent.")
    /// MEXC documents no code for a post-only order that would take; Binance's is used.
    public static let wouldTake = ExchangeError(code: -2010, message: "Order would immediately match and take.")
    public static let amountPrecision = ExchangeError(code: 10096, message: "amount decimal places is too long")
    public static let amountNotPositive = ExchangeError(code: 10102, message: "amount cannot be less than or equal to 0")
    public static func parameter(_ detail: String) -> ExchangeError { ExchangeError(code: 33333, message: "Param error: \(detail)") }
}

public enum OrderType: String, Sendable { case limit = "LIMIT", limitMaker = "LIMIT_MAKER", immediateOrCancel = "IMMEDIATE_OR_CANCEL" }

/// REST status names; the WebSocket numbers them 1–5 in this order.
public enum OrderStatus: String, Sendable {
    case new = "NEW", filled = "FILLED", partiallyFilled = "PARTIALLY_FILLED", canceled = "CANCELED",
         partiallyCanceled = "PARTIALLY_CANCELED"
    public var isOpen: Bool { self == .new || self == .partiallyFilled }
}

/// One of the account's orders as the exchange sees it.
public struct ExchangeOrder: Sendable, Equatable {
    /// MEXC-style id: `C02__` and a number.
    public var orderId: String
    public var clientId: String
    public var side: Side
    public var type: OrderType
    public var price: Dec
    public var quantity: Dec
    public var executed: Dec
    public var status: OrderStatus
    public var time: Int64
    /// Unfilled (most orders: all of it, without a subtraction across scales).
    public var remaining: Dec { executed.isZero ? quantity : quantity - executed }

    public init(orderId: String, clientId: String, side: Side, type: OrderType, price: Dec, quantity: Dec, executed: Dec,
                status: OrderStatus, time: Int64) {
        self.orderId = orderId; self.clientId = clientId; self.side = side; self.type = type; self.price = price
        self.quantity = quantity; self.executed = executed; self.status = status; self.time = time
    }
}

/// A fill of one of the account's orders.
public struct ExchangeTrade: Sendable, Equatable {
    public var tradeId: String
    public var orderId: String
    public var clientId: String
    public var side: Side
    public var price: Dec
    public var quantity: Dec
    /// Fees are charged in quote on both sides.
    public var fee: Dec
    public var time: Int64
    public var isMaker: Bool
    /// The order is now completely filled.
    public var orderFilled: Bool

    public init(tradeId: String, orderId: String, clientId: String, side: Side, price: Dec, quantity: Dec, fee: Dec, time: Int64,
                isMaker: Bool, orderFilled: Bool) {
        self.tradeId = tradeId; self.orderId = orderId; self.clientId = clientId; self.side = side; self.price = price
        self.quantity = quantity; self.fee = fee; self.time = time; self.isMaker = isMaker; self.orderFilled = orderFilled
    }
}

/// The account's balances: free and locked by open orders.
public struct AccountBalances: Sendable, Equatable {
    public var baseFree: Dec
    public var baseLocked: Dec = 0
    public var quoteFree: Dec
    public var quoteLocked: Dec = 0

    /// Locks an order's funds, as MEXC does: a buy its value plus the fee, a sell its quantity.
    /// Returns what was locked.
    @discardableResult
    mutating func lock(side: Side, price p: Dec, quantity q: Dec, fee: Dec) throws(ExchangeError) -> Dec {
        let lock = side == .buy ? p * q * (1 + fee) : q
        if side == .buy {
            guard lock <= quoteFree else { throw .insufficientBalance }
            quoteFree -= lock
            quoteLocked += lock
        } else {
            guard lock <= baseFree else { throw .insufficientPosition }
            baseFree -= lock
            baseLocked += lock
        }
        return lock
    }

    public var asBalances: Balances {
        Balances(base: AssetBalance(total: baseFree + baseLocked, available: baseFree),
                 quote: AssetBalance(total: quoteFree + quoteLocked, available: quoteFree))
    }
}

/// A spot market's matching engine, as MEXC behaves: price-time priority; LIMIT_MAKER rejected
/// when it would take; an open buy locks quote (its fee included) and an open sell locks base;
/// fills move balances and charge the fee. Other participants' resting liquidity sits in the
/// same queues as the account's orders. Prices are kept as whole ticks and amounts as whole
/// steps, so matching is integer work.
public struct MatchingEngine: Sendable {
    public let rules: MarketRules
    public let quoteAsset: String
    public private(set) var account: AccountBalances
    private var bids = BookSide(descending: true)
    private var asks = BookSide(descending: false)
    private var orders: [Int64: OwnOrder] = [:]
    private var byClientId: [String: Int64] = [:]
    private var nextKey: Int64 = 1
    private var nextTradeId: Int64 = 1

    public init(rules: MarketRules, base: Dec, quote: Dec, quoteAsset: String = "USDT") {
        self.rules = rules
        self.quoteAsset = quoteAsset
        self.account = AccountBalances(baseFree: base, quoteFree: quote)
    }

    // MARK: Units

    @inline(__always) func ticks(_ price: Dec) -> Int64? {
        guard price.isMultiple(of: rules.tick) else { return nil }
        return Int64(exactly: price.divided(by: rules.tick, scale: 0).mantissa)
    }
    @inline(__always) func lots(_ quantity: Dec) -> Int64? {
        guard quantity.isMultiple(of: rules.step) else { return nil }
        return Int64(exactly: quantity.divided(by: rules.step, scale: 0).mantissa)
    }
    @inline(__always) func price(_ ticks: Int64) -> Dec { Dec(mantissa: Int128(ticks) * rules.tick.mantissa, scale: rules.tick.scale) }
    @inline(__always) func quantity(_ lots: Int64) -> Dec { Dec(mantissa: Int128(lots) * rules.step.mantissa, scale: rules.step.scale) }

    // MARK: The account's orders

    /// Places an order. A LIMIT_MAKER rests or is rejected; LIMIT and IOC take what they can
    /// first (IOC's remainder is cancelled). Returns the order and the account's fills.
    public mutating func place(clientId: String, side: Side, type: OrderType, price p: Dec, quantity q: Dec,
                               time: Int64) throws(ExchangeError) -> (ExchangeOrder, [ExchangeTrade]) {
        guard q.isPositive else { throw .amountNotPositive }
        guard let lots = lots(q) else { throw .amountPrecision }
        guard p.isPositive, let t = ticks(p) else { throw .parameter("price \(p) is not a positive multiple of the tick \(rules.tick)") }
        if q < rules.minQuantity { throw .minimum(rules.minQuantity, "") }
        if p * q < rules.minNotional { throw .minimum(rules.minNotional, quoteAsset) }
        if byClientId[clientId] != nil { throw .parameter("duplicate newClientOrderId \(clientId)") }
        let crosses = side == .buy ? asks.best.map { t >= $0 } ?? false : bids.best.map { t <= $0 } ?? false
        if type == .limitMaker && crosses { throw .wouldTake }
        try account.lock(side: side, price: p, quantity: q, fee: rules.makerFee)
        let key = nextKey
        nextKey += 1
        var order = OwnOrder(key: key, clientId: clientId, side: side, type: type, ticks: t, lots: lots, executed: 0,
                             status: .new, time: time)
        orders[key] = order
        byClientId[clientId] = key
        var trades: [ExchangeTrade] = []
        if crosses {
            trades = sweep(takerSide: side, lots: lots, limit: t, time: time, taker: key).trades
            order = orders[key]!
        }
        if order.executed < lots {
            if type == .immediateOrCancel {
                finish(key, status: order.executed > 0 ? .partiallyCanceled : .canceled)
            } else {
                let entry = Entry(key: key, lots: lots - order.executed)
                withSide(side) { book in
                    book.withLevel(t) { $0.append(entry) }
                    book.ensure(t)
                }
            }
        }
        return (exchangeOrder(orders[key]!), trades)
    }

    /// Cancels an open order by client id, releasing what it locked.
    public mutating func cancel(clientId: String) throws(ExchangeError) -> ExchangeOrder {
        guard let key = byClientId[clientId], let order = orders[key], order.status.isOpen else { throw .unknownOrder }
        withSide(order.side) { $0.remove(key: key, at: order.ticks) }
        finish(key, status: order.executed > 0 ? .partiallyCanceled : .canceled)
        return exchangeOrder(orders[key]!)
    }

    /// Cancels every open order of the account.
    public mutating func cancelAll() -> [ExchangeOrder] {
        let open = orders.values.filter { $0.status.isOpen }.sorted { $0.key < $1.key }
        return open.compactMap { try? cancel(clientId: $0.clientId) }
    }

    public func order(clientId: String) -> ExchangeOrder? {
        byClientId[clientId].flatMap { orders[$0] }.map(exchangeOrder)
    }

    /// Every order still remembered, open or closed, oldest first.
    public var allOrders: [ExchangeOrder] {
        orders.values.sorted { $0.key < $1.key }.map(exchangeOrder)
    }

    public var openOrders: [ExchangeOrder] {
        orders.values.filter { $0.status.isOpen }.sorted { $0.key < $1.key }.map(exchangeOrder)
    }

    /// Forgets closed orders, keeping the newest `keep` (memory stays bounded in long runs).
    public mutating func pruneClosed(keep: Int) {
        let closed = orders.values.filter { !$0.status.isOpen }.map(\.key).sorted()
        for key in closed.dropLast(keep) {
            if let o = orders.removeValue(forKey: key) { byClientId[o.clientId] = nil }
        }
    }

    // MARK: Other participants

    /// Replaces the other participants' resting liquidity with `book`. Where a new bid reaches
    /// the account's asks (or a new ask its bids), that volume trades first, as a market moving
    /// through a quote does. Returns the account's fills.
    public mutating func setParticipants(_ book: OrderBook, time: Int64) -> [ExchangeTrade] {
        var trades: [ExchangeTrade] = []
        bids.clearParticipants()
        asks.clearParticipants()
        for level in book.bids {
            guard let t = ticks(level.price), var l = lots(level.amount), l > 0 else { continue }
            if let best = asks.best, t >= best {
                let r = sweep(takerSide: .buy, lots: l, limit: t, time: time, taker: nil)
                trades += r.trades
                l = r.left
            }
            if l > 0 { bids.addParticipant(t, l) }
        }
        for level in book.asks {
            guard let t = ticks(level.price), var l = lots(level.amount), l > 0 else { continue }
            if let best = bids.best, t <= best {
                let r = sweep(takerSide: .sell, lots: l, limit: t, time: time, taker: nil)
                trades += r.trades
                l = r.left
            }
            if l > 0 { asks.addParticipant(t, l) }
        }
        return trades
    }

    /// A taker of another participant buying or selling `quantity`, sweeping the book from the
    /// touch with price-time priority (down to `limit` if given). Returns the account's fills.
    public mutating func takerOrder(side: Side, quantity q: Dec, limit: Dec? = nil, time: Int64) -> [ExchangeTrade] {
        guard let l = lots(q.floored(toMultipleOf: rules.step)), l > 0 else { return [] }
        let bound = limit.flatMap { ticks($0.floored(toMultipleOf: rules.tick)) } ?? (side == .buy ? Int64.max : 0)
        return sweep(takerSide: side, lots: l, limit: bound, time: time, taker: nil).trades
    }

    /// The whole book: participants and the account's orders together, best first.
    public func book(depth: Int = Int.max) -> OrderBook {
        OrderBook(bids: bids.levels(depth).map { BookLevel(price($0.0), quantity($0.1)) },
                  asks: asks.levels(depth).map { BookLevel(price($0.0), quantity($0.1)) })
    }

    public var bestBid: Dec? { bids.best.map(price) }
    public var bestAsk: Dec? { asks.best.map(price) }

    // MARK: Matching

    private mutating func withSide<R>(_ side: Side, _ body: (inout BookSide) -> R) -> R {
        side == .buy ? body(&bids) : body(&asks)
    }

    /// Takes up to `lots` from the side opposite `takerSide`, best price first and in time
    /// order within a price, not beyond `limit`. `taker` is the account's order taking, if any.
    /// Returns the account's fills and the lots left untaken.
    private mutating func sweep(takerSide: Side, lots: Int64, limit: Int64, time: Int64,
                                taker: Int64?) -> (trades: [ExchangeTrade], left: Int64) {
        var left = lots
        var trades: [ExchangeTrade] = []
        while left > 0 {
            let bestTicks = takerSide == .buy ? asks.best : bids.best
            guard let t = bestTicks, takerSide == .buy ? t <= limit : t >= limit else { break }
            var fills: [(key: Int64, lots: Int64)] = []
            let emptied = withSide(takerSide.opposite) { $0.withLevel(t) { level -> Bool in
                var i = 0
                while left > 0 && i < level.count {
                    let take = min(left, level[i].lots)
                    left -= take
                    level[i].lots -= take
                    fills.append((level[i].key, take))
                    if level[i].lots == 0 { i += 1 }
                }
                level.removeFirst(i)
                return level.isEmpty
            } }
            if emptied { withSide(takerSide.opposite) { $0.dropLevel(t) } }
            var taken: Int64 = 0
            for fill in fills {
                taken += fill.lots
                if fill.key != 0 { trades.append(applyFill(fill.key, lots: fill.lots, ticks: t, time: time, maker: true)) }
            }
            if let taker, taken > 0 { trades.append(applyFill(taker, lots: taken, ticks: t, time: time, maker: false)) }
        }
        return (trades, left)
    }

    /// Moves balances for a fill of the account's order at `ticks`.
    private mutating func applyFill(_ key: Int64, lots: Int64, ticks t: Int64, time: Int64, maker: Bool) -> ExchangeTrade {
        var order = orders[key]!
        let q = quantity(lots), p = price(t)
        let value = p * q
        let fee = value * rules.makerFee
        if order.side == .buy {
            // The order locked its own price plus fee; a fill at a better price frees the difference.
            let locked = price(order.ticks) * q * (1 + rules.makerFee)
            account.quoteLocked -= locked
            account.quoteFree += locked - value - fee
            account.baseFree += q
        } else {
            account.baseLocked -= q
            account.quoteFree += value - fee
        }
        order.executed += lots
        let filled = order.executed == order.lots
        order.status = filled ? .filled : .partiallyFilled
        orders[key] = order
        let trade = ExchangeTrade(tradeId: String(nextTradeId), orderId: OwnOrder.orderId(key), clientId: order.clientId, side: order.side,
                                  price: p, quantity: q, fee: fee, time: time, isMaker: maker, orderFilled: filled)
        nextTradeId += 1
        return trade
    }

    /// Closes an order, releasing what its unfilled part locked.
    private mutating func finish(_ key: Int64, status: OrderStatus) {
        var order = orders[key]!
        let rest = quantity(order.lots - order.executed)
        if order.side == .buy {
            let locked = price(order.ticks) * rest * (1 + rules.makerFee)
            account.quoteLocked -= locked
            account.quoteFree += locked
        } else {
            account.baseLocked -= rest
            account.baseFree += rest
        }
        order.status = status
        orders[key] = order
    }

    private func exchangeOrder(_ o: OwnOrder) -> ExchangeOrder {
        ExchangeOrder(orderId: OwnOrder.orderId(o.key), clientId: o.clientId, side: o.side, type: o.type, price: price(o.ticks),
                      quantity: quantity(o.lots), executed: quantity(o.executed), status: o.status, time: o.time)
    }
}

private struct OwnOrder: Sendable {
    var key: Int64
    var clientId: String
    var side: Side
    var type: OrderType
    var ticks: Int64
    var lots: Int64
    var executed: Int64
    var status: OrderStatus
    var time: Int64

    static func orderId(_ key: Int64) -> String { "C02__\(key)" }
}

/// A resting quantity: the account's order `key`, or another participant's (key 0).
struct Entry: Sendable {
    var key: Int64
    var lots: Int64
}

/// One side of the book: a queue per price and the prices in order.
struct BookSide: Sendable {
    let descending: Bool
    private var queues: [Int64: [Entry]] = [:]
    /// Active prices, ascending.
    private var prices: [Int64] = []

    init(descending: Bool) { self.descending = descending }

    var best: Int64? { descending ? prices.last : prices.first }

    mutating func withLevel<R>(_ t: Int64, _ body: (inout [Entry]) -> R) -> R {
        body(&queues[t, default: []])
    }

    /// Records `t` among the active prices if it is not there yet.
    mutating func ensure(_ t: Int64) {
        let i = insertionIndex(t)
        if i == prices.count || prices[i] != t { prices.insert(t, at: i) }
    }

    mutating func dropLevel(_ t: Int64) {
        queues[t] = nil
        let i = insertionIndex(t)
        if i < prices.count && prices[i] == t { prices.remove(at: i) }
    }

    mutating func remove(key: Int64, at t: Int64) {
        let empty = withLevel(t) { level -> Bool in
            level.removeAll { $0.key == key }
            return level.isEmpty
        }
        if empty { dropLevel(t) }
    }

    /// Participants' volume at `t`, behind the orders already there.
    mutating func addParticipant(_ t: Int64, _ lots: Int64) {
        withLevel(t) { $0.append(Entry(key: 0, lots: lots)) }
        ensure(t)
    }

    /// Removes every participant's volume, keeping the account's orders in their order.
    mutating func clearParticipants() {
        var kept: [Int64] = []
        for t in prices {
            let empty = withLevel(t) { level -> Bool in
                level.removeAll { $0.key == 0 }
                return level.isEmpty
            }
            if empty { queues[t] = nil } else { kept.append(t) }
        }
        prices = kept
    }

    func levels(_ depth: Int) -> [(Int64, Int64)] {
        let ordered = descending ? Array(prices.reversed().prefix(depth)) : Array(prices.prefix(depth))
        return ordered.map { t in (t, queues[t]!.reduce(0) { $0 + $1.lots }) }
    }

    private func insertionIndex(_ t: Int64) -> Int {
        var lo = 0, hi = prices.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if prices[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
