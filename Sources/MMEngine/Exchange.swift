import Foundation
import MMCore
import MMSim
import MMStrategy

/// What an instance needs from a venue: the sim venue and the live venue (MEXC's REST API)
/// implement it.
public protocol Exchange: Sendable {
    /// The market's rules (tick, step, minimums, maker fee).
    func rules() async throws(ExchangeError) -> MarketRules
    /// The book, the latest trade and the account's balances, as of now.
    func snapshot() async throws(ExchangeError) -> MarketSnapshot
    func place(_ order: OrderRequest) async throws(ExchangeError) -> ExchangeOrder
    func cancel(clientId: String) async throws(ExchangeError) -> ExchangeOrder
    func order(clientId: String) async throws(ExchangeError) -> ExchangeOrder?
    func openOrders() async throws(ExchangeError) -> [ExchangeOrder]
    /// Fills of the account's orders since the last call, oldest first, each reported once.
    func newFills() async throws(ExchangeError) -> [ExchangeTrade]
    /// Every fill not yet reported, asked of the venue's authoritative record: for the end of a run.
    func finalFills() async throws(ExchangeError) -> [ExchangeTrade]
    /// Ends the venue's connections (streams) when the instance stops.
    func close() async
    /// What happened to the venue's connections since the last call (a stream down or back, a
    /// book resynchronised), for the instance's log; `warning` marks trouble.
    func takeNotes() async -> [(warning: Bool, text: String)]
    /// Calls `action` whenever the market changes between two snapshots (a stream applied a
    /// change); venues without streams never call it.
    func onMarketChange(_ action: @escaping @Sendable () -> Void) async
}

extension Exchange {
    public func takeNotes() async -> [(warning: Bool, text: String)] { [] }
    public func onMarketChange(_ action: @escaping @Sendable () -> Void) async {}
    public func finalFills() async throws(ExchangeError) -> [ExchangeTrade] { try await newFills() }
    public func close() async {}
}

public struct MarketSnapshot: Sendable, Codable {
    public var time: Int64
    public var book: OrderBook
    public var lastTrade: Dec?
    public var balances: Balances
    /// Requests to the venue are being held back by its rate limits.
    public var throttled = false
    /// How old the book is: zero when just fetched, the time since its stream last spoke otherwise.
    public var dataAge: Duration = .zero
    /// Where the book came from: "stream" or "rest" on MEXC's venues; nil for the sim venue.
    public var source: String?
    /// The market's public trades since the previous snapshot, oldest first.
    public var trades: [TapeTrade] = []
}

public struct OrderRequest: Sendable, Equatable {
    public var clientId: String
    public var side: Side
    public var type: OrderType
    public var price: Dec
    public var quantity: Dec
}

/// Milliseconds since the epoch, injectable so that tests drive time.
public protocol EngineClock: Sendable {
    func now() -> Int64
}

public struct WallClock: EngineClock {
    public init() {}
    public func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// The sim venue: the instance's own simulated market, moved forward to the clock's time on
/// every call.
public actor SimExchange: Exchange {
    private var market: SimMarket
    private var pending: [ExchangeTrade] = []
    private let clock: any EngineClock
    /// The market's prints already handed out with a snapshot.
    private var printsSeen = 0

    public init(config: SimMarketConfig, seed: UInt64, clock: any EngineClock) {
        self.clock = clock
        self.market = SimMarket(config: config, seed: seed, start: clock.now())
    }

    public var seed: UInt64 { market.seed }

    private func catchUp() {
        pending += market.advance(to: clock.now())
    }

    public func rules() -> MarketRules { market.config.rules }

    public func snapshot() -> MarketSnapshot {
        catchUp()
        var s = MarketSnapshot(time: clock.now(), book: market.engine.book(depth: 1000), lastTrade: market.lastTrade,
                               balances: market.engine.account.asBalances)
        let new = min(market.printCount - printsSeen, market.prints.count)
        if new > 0 { s.trades = market.prints.suffix(new).map { TapeTrade(price: $0.price, amount: $0.quantity, time: $0.time) } }
        printsSeen = market.printCount
        return s
    }

    public func place(_ o: OrderRequest) throws(ExchangeError) -> ExchangeOrder {
        catchUp()
        let now = clock.now()
        let (order, trades) = try market.withEngine { e throws(ExchangeError) in
            try e.place(clientId: o.clientId, side: o.side, type: o.type, price: o.price, quantity: o.quantity, time: now)
        }
        pending += trades
        return order
    }

    public func cancel(clientId: String) throws(ExchangeError) -> ExchangeOrder {
        catchUp()
        return try market.withEngine { e throws(ExchangeError) in try e.cancel(clientId: clientId) }
    }

    public func order(clientId: String) -> ExchangeOrder? {
        catchUp()
        return market.engine.order(clientId: clientId)
    }

    public func openOrders() -> [ExchangeOrder] {
        catchUp()
        return market.engine.openOrders
    }

    public func newFills() -> [ExchangeTrade] {
        catchUp()
        // Closed orders are kept for queries by client id, the newest thousand: memory stays
        // bounded however long the instance runs.
        try? market.withEngine { e throws(ExchangeError) in e.pruneClosed(keep: 1000) }
        defer { pending = [] }
        return pending
    }
}

/// An actor that only lends its executor: actors that return its `unownedExecutor` as theirs run
/// on one serial executor, and a call between them is a plain call, not a switch (a backtest's
/// runner, venue and loop make several for each of the hundreds of thousands of decisions).
public actor ExecutorHost {
    public init() {}
}
