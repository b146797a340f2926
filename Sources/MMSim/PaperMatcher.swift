import MMCore
import MMStrategy

/// A public trade of the real market, as the paper venue sees it.
public struct MarketTrade: Sendable, Equatable {
    public var price: Dec
    public var quantity: Dec
    public var takerSide: Side
    public var time: Int64
    public init(price: Dec, quantity: Dec, takerSide: Side, time: Int64) {
        self.price = price
        self.quantity = quantity
        self.takerSide = takerSide
        self.time = time
    }
}

/// The paper venue's own orders against a real market they are not part of. A resting order
/// joins the back of its price level: the volume the real book shows there when it is placed is
/// ahead of it, and shrinks as trades print at that price or the level thins. It fills when a
/// real trade prints at its price after the volume ahead is gone, when one prints through its
/// price, or when the real book crosses it. Post-only orders that would take are refused as MEXC
/// refuses them. Balances start from the given amounts; fees are charged in quote. Pure: no I/O.
public struct PaperMatcher: Sendable {
    public let rules: MarketRules
    public let quoteAsset: String
    public private(set) var account: AccountBalances
    public private(set) var market = OrderBook(bids: [], asks: [])

    struct Resting: Sendable {
        var order: ExchangeOrder
        /// Real volume ahead of the order in its level's queue.
        var ahead: Dec
        var sequence: Int
        /// Quote locked for a buy (its value and fee), base for a sell, not yet released.
        var locked: Dec
    }
    var resting: [String: Resting] = [:]
    var closed: [String: ExchangeOrder] = [:]
    var closedOrder: [String] = []
    var sequence = 0
    var nextTrade = 0
    var takerFills: [ExchangeTrade] = []

    public init(rules: MarketRules, base: Dec, quote: Dec, quoteAsset: String = "USDT") {
        self.rules = rules
        self.quoteAsset = quoteAsset
        account = AccountBalances(baseFree: base, quoteFree: quote)
    }

    public var openOrders: [ExchangeOrder] { resting.values.sorted { $0.sequence < $1.sequence }.map(\.order) }

    public func order(clientId: String) -> ExchangeOrder? { resting[clientId]?.order ?? closed[clientId] }

    /// The real book with the account's resting orders added at their levels.
    public func book(depth: Int = 50) -> OrderBook {
        func merge(_ levels: [BookLevel], _ side: Side) -> [BookLevel] {
            // The real book comes best first with one level a price: our few orders are merged
            // into it in one pass (a backtest asks for this book at every decision).
            let better: (Dec, Dec) -> Bool = side == .buy ? { $0 > $1 } : { $0 < $1 }
            var ours: [BookLevel] = []
            for r in resting.values where r.order.side == side { ours.append(BookLevel(r.order.price, r.order.remaining)) }
            if zip(levels, levels.dropFirst()).allSatisfy({ better($0.price, $1.price) }) {
                if ours.isEmpty { return Array(levels.prefix(depth)) }
                ours.sort { better($0.price, $1.price) }
                var out: [BookLevel] = []
                out.reserveCapacity(min(depth, levels.count + ours.count))
                var i = 0, j = 0
                while out.count < depth && (i < levels.count || j < ours.count) {
                    let next: BookLevel
                    if j == ours.count || (i < levels.count && better(levels[i].price, ours[j].price)) {
                        next = levels[i]; i += 1
                    } else if i == levels.count || better(ours[j].price, levels[i].price) {
                        next = ours[j]; j += 1
                    } else {
                        next = BookLevel(levels[i].price, levels[i].amount + ours[j].amount); i += 1; j += 1
                    }
                    if let last = out.last, last.price == next.price { out[out.count - 1].amount += next.amount } else { out.append(next) }
                }
                return out
            }
            var byPrice: [Dec: Dec] = [:]
            for l in levels { byPrice[l.price, default: 0] += l.amount }
            for r in resting.values where r.order.side == side { byPrice[r.order.price, default: 0] += r.order.remaining }
            let sorted = byPrice.map { BookLevel($0.key, $0.value) }.sorted { side == .buy ? $0.price > $1.price : $0.price < $1.price }
            return Array(sorted.prefix(depth))
        }
        return OrderBook(bids: merge(market.bids, .buy), asks: merge(market.asks, .sell))
    }

    static func volume(at price: Dec, in levels: [BookLevel]) -> Dec {
        levels.first { $0.price == price }?.amount ?? 0
    }

    // MARK: The account's orders

    public mutating func place(clientId: String, side: Side, type: OrderType, price p: Dec, quantity q: Dec,
                               time: Int64) throws(ExchangeError) -> ExchangeOrder {
        guard q.isPositive else { throw .amountNotPositive }
        guard q.isMultiple(of: rules.step) else { throw .amountPrecision }
        guard p.isPositive, p.isMultiple(of: rules.tick) else { throw .parameter("price \(p) is not a positive multiple of the tick \(rules.tick)") }
        if q < rules.minQuantity { throw .minimum(rules.minQuantity, "") }
        if p * q < rules.minNotional { throw .minimum(rules.minNotional, quoteAsset) }
        guard resting[clientId] == nil, closed[clientId] == nil else { throw .parameter("duplicate newClientOrderId \(clientId)") }
        let crosses = side == .buy ? market.bestAsk.map { p >= $0 } ?? false : market.bestBid.map { p <= $0 } ?? false
        if type == .immediateOrCancel { return try take(clientId: clientId, side: side, price: p, quantity: q, time: time) }
        guard !crosses else {
            // Only a post-only quote can rest here: a plain limit order that would take is refused too.
            throw type == .limitMaker ? .wouldTake : .parameter("the paper venue rests post-only orders; use IMMEDIATE_OR_CANCEL to take")
        }
        let lock = try account.lock(side: side, price: p, quantity: q, fee: rules.makerFee)
        sequence += 1
        let order = ExchangeOrder(orderId: "paper-\(sequence)", clientId: clientId, side: side, type: type, price: p, quantity: q,
                                  executed: 0, status: .new, time: time)
        let ahead = Self.volume(at: p, in: side == .buy ? market.bids : market.asks)
        resting[clientId] = Resting(order: order, ahead: ahead, sequence: sequence, locked: lock)
        return order
    }

    /// An IMMEDIATE_OR_CANCEL order (a stop loss's liquidation): it takes what the real book
    /// shows up to its price, level by level, at the taker fee (`makerFee` here), and the rest is
    /// cancelled. The real book is not changed: paper volume never leaves the market.
    mutating func take(clientId: String, side: Side, price limit: Dec, quantity q: Dec, time: Int64) throws(ExchangeError) -> ExchangeOrder {
        let levels = side == .buy ? market.asks.filter { $0.price <= limit } : market.bids.filter { $0.price >= limit }
        var left = q, cost = Dec(0), fees = Dec(0)
        var fills: [(price: Dec, amount: Dec, fee: Dec)] = []
        for level in levels where left.isPositive {
            let take = min(left, level.amount).floored(toMultipleOf: rules.step)
            guard take.isPositive else { continue }
            let fee = (level.price * take * rules.makerFee).rounded(places: max(rules.tick.scale, 8), .up)
            fills.append((level.price, take, fee))
            cost += level.price * take
            fees += fee
            left -= take
        }
        let executed = q - left
        if side == .buy {
            guard cost + fees <= account.quoteFree else { throw .insufficientBalance }
            account.quoteFree -= cost + fees
            account.baseFree += executed
        } else {
            guard executed <= account.baseFree else { throw .insufficientPosition }
            account.baseFree -= executed
            account.quoteFree += cost - fees
        }
        sequence += 1
        var order = ExchangeOrder(orderId: "paper-\(sequence)", clientId: clientId, side: side, type: .immediateOrCancel, price: limit,
                                  quantity: q, executed: executed, status: executed == q ? .filled : executed.isZero ? .canceled : .partiallyCanceled,
                                  time: time)
        for (i, f) in fills.enumerated() {
            nextTrade += 1
            takerFills.append(ExchangeTrade(tradeId: "paper-t\(nextTrade)", orderId: order.orderId, clientId: clientId, side: side, price: f.price,
                                            quantity: f.amount, fee: f.fee, time: time, isMaker: false,
                                            orderFilled: i == fills.count - 1 && executed == q))
        }
        order.executed = executed
        close(order)
        return order
    }

    /// Fills of taking orders, handed over once.
    public mutating func takeTakerFills() -> [ExchangeTrade] {
        defer { takerFills = [] }
        return takerFills
    }

    public mutating func cancel(clientId: String) throws(ExchangeError) -> ExchangeOrder {
        guard var r = resting.removeValue(forKey: clientId) else { throw .unknownOrder }
        release(&r)
        r.order.status = r.order.executed.isZero ? .canceled : .partiallyCanceled
        close(r.order)
        return r.order
    }

    mutating func release(_ r: inout Resting) {
        if r.order.side == .buy {
            account.quoteLocked -= r.locked
            account.quoteFree += r.locked
        } else {
            account.baseLocked -= r.locked
            account.baseFree += r.locked
        }
        r.locked = 0
    }

    mutating func close(_ o: ExchangeOrder) {
        closed[o.clientId] = o
        closedOrder.append(o.clientId)
        if closedOrder.count > 2000 {
            for id in closedOrder.prefix(1000) { closed[id] = nil }
            closedOrder.removeFirst(1000)
        }
    }

    // MARK: The real market

    /// The real book moved: a level that thinned leaves less ahead of us; a book that crossed
    /// a resting order fills it (with what the crossing levels hold).
    public mutating func book(_ real: OrderBook, time: Int64) -> [ExchangeTrade] {
        market = real
        var trades: [ExchangeTrade] = []
        for id in priority() {
            guard var r = resting[id] else { continue }
            let p = r.order.price
            let crossing = r.order.side == .buy ? real.asks.filter { $0.price <= p } : real.bids.filter { $0.price >= p }
            if !crossing.isEmpty {
                let available = crossing.reduce(Dec(0)) { $0 + $1.amount }
                trades += fill(&r, min(r.order.remaining, available), time: time)
            } else {
                r.ahead = min(r.ahead, Self.volume(at: p, in: r.order.side == .buy ? real.bids : real.asks))
            }
            store(r)
        }
        return trades
    }

    /// A real trade printed: it fills resting orders it passes through, and at their price, what
    /// is left after the volume ahead of them.
    public mutating func trade(_ t: MarketTrade) -> [ExchangeTrade] {
        var left = t.quantity
        var trades: [ExchangeTrade] = []
        // A taker selling reaches bids, a taker buying reaches asks.
        let side: Side = t.takerSide == .sell ? .buy : .sell
        for id in priority() where left.isPositive {
            guard var r = resting[id], r.order.side == side else { continue }
            let p = r.order.price
            let through = side == .buy ? t.price < p : t.price > p
            let at = t.price == p
            guard through || at else { continue }
            if at {
                let consumed = min(r.ahead, left)
                r.ahead -= consumed
                left -= consumed
            }
            let q = min(r.order.remaining, left)
            if q.isPositive {
                left -= q
                trades += fill(&r, q, time: t.time)
            }
            store(r)
        }
        return trades
    }

    /// Resting orders, best price first, then oldest.
    func priority() -> [String] {
        resting.values.sorted { a, b in
            if a.order.price != b.order.price {
                return a.order.side == .buy ? a.order.price > b.order.price : a.order.price < b.order.price
            }
            return a.sequence < b.sequence
        }.map(\.order.clientId)
    }

    mutating func store(_ r: Resting) {
        if r.order.status.isOpen { resting[r.order.clientId] = r } else { resting[r.order.clientId] = nil }
    }

    /// Fills `q` of a resting order at its own price, as a maker.
    mutating func fill(_ r: inout Resting, _ q: Dec, time: Int64) -> [ExchangeTrade] {
        let q = q.floored(toMultipleOf: rules.step)
        guard q.isPositive else { return [] }
        let p = r.order.price
        let value = p * q
        let fee = (value * rules.makerFee).rounded(places: max(rules.tick.scale, 8), .up)
        if r.order.side == .buy {
            let unlocked = min(r.locked, value * (1 + rules.makerFee))
            r.locked -= unlocked
            account.quoteLocked -= unlocked
            account.quoteFree += unlocked - value - fee
            account.baseFree += q
        } else {
            r.locked -= q
            account.baseLocked -= q
            account.quoteFree += value - fee
        }
        r.order.executed += q
        let done = r.order.executed >= r.order.quantity
        r.order.status = done ? .filled : .partiallyFilled
        if done {
            release(&r)
            close(r.order)
        }
        nextTrade += 1
        return [ExchangeTrade(tradeId: "paper-t\(nextTrade)", orderId: r.order.orderId, clientId: r.order.clientId, side: r.order.side,
                              price: p, quantity: q, fee: fee, time: time, isMaker: true, orderFilled: done)]
    }
}
