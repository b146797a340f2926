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
    /// The real market, level by level.
    public private(set) var market = DepthBook()

    struct Resting: Sendable {
        var order: ExchangeOrder
        /// Real volume ahead of the order in its level's queue.
        var ahead: Dec
        var sequence: Int
        /// Quote locked for a buy (its value and fee), base for a sell, not yet released.
        var locked: Dec
    }
    /// The resting orders, oldest first: an instance's ladder, a few, so an array searched
    /// through beats a dictionary on every level change a replay applies.
    var resting: [Resting] = []
    /// The lowest and highest price of the resting buys and of the resting sells: most level
    /// changes a replay applies are outside them and need not look at the orders.
    var buySpan: ClosedRange<Dec>?
    var sellSpan: ClosedRange<Dec>?
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

    /// A matcher over a market already built (a replay's book before its rules were known).
    public init(rules: MarketRules, base: Dec, quote: Dec, quoteAsset: String = "USDT", market: DepthBook) {
        self.init(rules: rules, base: base, quote: quote, quoteAsset: quoteAsset)
        self.market = market
    }

    public var openOrders: [ExchangeOrder] { resting.map(\.order) }
    public var hasOpenOrders: Bool { !resting.isEmpty }

    func index(of clientId: String) -> Int? { resting.firstIndex { $0.order.clientId == clientId } }

    public func order(clientId: String) -> ExchangeOrder? { index(of: clientId).map { resting[$0].order } ?? closed[clientId] }

    /// The real book's top `depth` levels with the account's resting orders added at their levels.
    public func book(depth: Int = 50) -> OrderBook {
        OrderBook(bids: merged(.buy, depth: depth), asks: merged(.sell, depth: depth))
    }

    /// One side of the real book with our few orders on it, best first: a backtest asks for
    /// this book at every decision.
    func merged(_ side: Side, depth: Int) -> [BookLevel] {
        // Our levels in a buffer on the stack, read by index: an array of them (and a for-in
        // over the orders, which copies each one) cost more than the book.
        resting.withUnsafeBufferPointer { rs in
            withUnsafeTemporaryAllocation(of: BookLevel.self, capacity: rs.count) { ours in
                var n = 0
                for i in rs.indices where rs[i].order.side == side {
                    ours.initializeElement(at: n, to: BookLevel(rs[i].order.price, rs[i].order.remaining))
                    n += 1
                }
                return market.top(side, depth: depth, adding: UnsafeMutableBufferPointer(rebasing: ours[..<n]))
            }
        }
    }

    // MARK: The account's orders

    public mutating func place(clientId: String, side: Side, type: OrderType, price p: Dec, quantity q: Dec,
                               time: Int64) throws(ExchangeError) -> ExchangeOrder {
        guard q.isPositive else { throw .amountNotPositive }
        guard q.isMultiple(of: rules.step) else { throw .amountPrecision }
        guard p.isPositive, p.isMultiple(of: rules.tick) else { throw .parameter("price \(p) is not a positive multiple of the tick \(rules.tick)") }
        if q < rules.minQuantity { throw .minimum(rules.minQuantity, "") }
        if p * q < rules.minNotional { throw .minimum(rules.minNotional, quoteAsset) }
        guard index(of: clientId) == nil, closed[clientId] == nil else { throw .parameter("duplicate newClientOrderId \(clientId)") }
        if type == .immediateOrCancel { return try take(clientId: clientId, side: side, price: p, quantity: q, time: time) }
        guard !crosses(side, p) else {
            // Only a post-only quote can rest here: a plain limit order that would take is refused too.
            throw type == .limitMaker ? .wouldTake : .parameter("the paper venue rests post-only orders; use IMMEDIATE_OR_CANCEL to take")
        }
        let lock = try account.lock(side: side, price: p, quantity: q, fee: rules.makerFee)
        sequence += 1
        let order = ExchangeOrder(orderId: "paper-\(sequence)", clientId: clientId, side: side, type: type, price: p, quantity: q,
                                  executed: 0, status: .new, time: time)
        resting.append(Resting(order: order, ahead: market.amount(side, at: p), sequence: sequence, locked: lock))
        spanChanged()
        return order
    }

    /// Whether the real book's other side reaches an order of `side` at `price`.
    func crosses(_ side: Side, _ price: Dec) -> Bool {
        Self.crosses(side, price, bid: market.bestBid?.price, ask: market.bestAsk?.price)
    }

    /// The same against the touch read once: called on `self` inside a loop of a mutating
    /// method, the method above copied the whole matcher at each call.
    @inline(__always) static func crosses(_ side: Side, _ price: Dec, bid: Dec?, ask: Dec?) -> Bool {
        side == .buy ? ask.map { price >= $0 } ?? false : bid.map { price <= $0 } ?? false
    }

    /// An IMMEDIATE_OR_CANCEL order (a stop loss's liquidation): it takes what the real book
    /// shows up to its price, level by level, at the taker fee (`makerFee` here), and the rest is
    /// cancelled. The real book is not changed: paper volume never leaves the market.
    mutating func take(clientId: String, side: Side, price limit: Dec, quantity q: Dec, time: Int64) throws(ExchangeError) -> ExchangeOrder {
        var left = q, cost = Dec(0), fees = Dec(0)
        var fills: [(price: Dec, amount: Dec, fee: Dec)] = []
        for level in market.levels(side == .buy ? .sell : .buy, through: limit) where left.isPositive {
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
        guard let i = index(of: clientId) else { throw .unknownOrder }
        var r = resting.remove(at: i)
        spanChanged()
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

    /// The real book, whole (the paper venue's feed): a level that thinned leaves less ahead of
    /// us; a book that crossed a resting order fills it (with what the crossing levels hold).
    public mutating func book(_ real: OrderBook, time: Int64) -> [ExchangeTrade] {
        market = DepthBook(real)
        marketReplaced()
        return settle(time: time)
    }

    /// The real book was replaced whole: no more is ahead of an order than its level now holds.
    public mutating func marketReplaced() {
        for i in resting.indices {
            resting[i].ahead = min(resting[i].ahead, market.amount(resting[i].order.side, at: resting[i].order.price))
        }
    }

    /// One level of the real book changed (its absolute amount; zero removes it), as a replay
    /// applies the depth stream: less is ahead of our orders at that price. `settle` then fills
    /// what the changed book crosses.
    @inline(__always) public mutating func level(_ side: Side, _ price: Dec, _ amount: Dec) {
        market.set(side, price, amount)
        guard let span = side == .buy ? buySpan : sellSpan, span.contains(price) else { return }
        // Through the buffer: the loop runs at every level change, and must not copy the orders.
        resting.withUnsafeMutableBufferPointer { rs in
            for i in rs.indices where rs[i].order.side == side && rs[i].order.price == price && amount < rs[i].ahead {
                rs[i].ahead = max(amount, 0)
            }
        }
    }

    /// Orders came or went: their price spans anew. Called where the set of orders changes, not
    /// on every change of an order (what is ahead of it changes at most level changes).
    mutating func spanChanged() {
        buySpan = nil
        sellSpan = nil
        for i in resting.indices {
            let p = resting[i].order.price
            if resting[i].order.side == .buy {
                buySpan = buySpan.map { Swift.min($0.lowerBound, p)...Swift.max($0.upperBound, p) } ?? p...p
            } else {
                sellSpan = sellSpan.map { Swift.min($0.lowerBound, p)...Swift.max($0.upperBound, p) } ?? p...p
            }
        }
    }

    /// Forgets the real book (a replay's gap); resting orders stay until cancelled.
    public mutating func clearMarket() { market.removeAll() }

    /// After the book changed: the orders it crosses fill with what the crossing levels hold.
    public mutating func settle(time: Int64) -> [ExchangeTrade] {
        // The touch read once and a loop over the buffer: a closure over `self` (or a method of
        // it called in the loop) copied the whole matcher at every book change a backtest replays.
        let bid = market.bestBid?.price, ask = market.bestAsk?.price
        let crossed = resting.withUnsafeBufferPointer { rs in
            for i in rs.indices where Self.crosses(rs[i].order.side, rs[i].order.price, bid: bid, ask: ask) { return true }
            return false
        }
        guard crossed else { return [] }
        var trades: [ExchangeTrade] = []
        for i in priority() {
            let side = resting[i].order.side, p = resting[i].order.price
            guard crosses(side, p) else { continue }
            let available = market.levels(side == .buy ? .sell : .buy, through: p).reduce(Dec(0)) { $0 + $1.amount }
            var r = resting[i]
            trades += fill(&r, min(r.order.remaining, available), time: time)
            resting[i] = r
        }
        resting.removeAll { !$0.order.status.isOpen }
        spanChanged()
        return trades
    }

    /// A real trade printed: it fills resting orders it passes through, and at their price, what
    /// is left after the volume ahead of them.
    public mutating func trade(_ t: MarketTrade) -> [ExchangeTrade] {
        guard !resting.isEmpty else { return [] }
        var left = t.quantity
        var trades: [ExchangeTrade] = []
        // A taker selling reaches bids, a taker buying reaches asks.
        let side: Side = t.takerSide == .sell ? .buy : .sell
        for i in priority() where left.isPositive {
            guard resting[i].order.side == side else { continue }
            let p = resting[i].order.price
            let through = side == .buy ? t.price < p : t.price > p
            let at = t.price == p
            guard through || at else { continue }
            if at {
                let consumed = min(resting[i].ahead, left)
                resting[i].ahead -= consumed
                left -= consumed
            }
            let q = min(resting[i].order.remaining, left)
            if q.isPositive {
                left -= q
                var r = resting[i]
                trades += fill(&r, q, time: t.time)
                resting[i] = r
            }
        }
        resting.removeAll { !$0.order.status.isOpen }
        spanChanged()
        return trades
    }

    /// The resting orders' indices, best price first, then oldest.
    func priority() -> [Int] {
        // The closure compares through a local copy of the array: one capturing `self` copied
        // the whole matcher at every call.
        let rs = resting
        return rs.indices.sorted { i, j in
            if rs[i].order.price != rs[j].order.price {
                return rs[i].order.side == .buy ? rs[i].order.price > rs[j].order.price : rs[i].order.price < rs[j].order.price
            }
            return rs[i].sequence < rs[j].sequence
        }
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
