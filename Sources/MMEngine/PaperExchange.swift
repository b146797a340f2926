import Foundation
import MMCore
import MMMexc
import MMSim
import MMStrategy
import Synchronization

/// Public trades handed from the market feed to the paper venue, taken at its next call.
final class TradeInbox: Sendable {
    private let trades = Mutex<[MarketTrade]>([])
    func add(_ t: [MarketTrade]) { trades.withLock { $0 += t } }
    func take() -> [MarketTrade] { trades.withLock { t in defer { t = [] }; return t } }
}

/// The paper venue: MEXC's real market through its public endpoints and streams (no keys), with
/// the instance's orders simulated by `PaperMatcher`: a resting order fills when a real trade
/// prints at its price after the volume that was there first, or through its price, or when the
/// real book crosses it. Balances start from `sim.base` and `sim.quote`; fees are `sim.fee`.
public actor PaperExchange: Exchange {
    public let symbol: String
    let client: MEXCClient
    let clock: any EngineClock
    let base: Dec, quote: Dec, fee: Dec
    let feed: MarketFeed
    let inbox = TradeInbox()
    var matcher: PaperMatcher?
    var pending: [ExchangeTrade] = []
    /// Public trades of the feed already handed out with a snapshot.
    var tradesSeen = 0

    public init(client: MEXCClient, symbol: String, clock: any EngineClock, base: Dec, quote: Dec, fee: Dec,
                streamURL: String?, staleAfter: Duration = .seconds(5)) {
        self.client = client
        self.symbol = symbol
        self.clock = clock
        self.base = base
        self.quote = quote
        self.fee = fee
        // Trades are what fills paper orders: polled every second while the stream is down.
        let inbox = self.inbox
        feed = MarketFeed(client: client, symbol: symbol, streamURL: streamURL, staleAfter: staleAfter, tradesEvery: .seconds(1)) { trades in
            inbox.add(trades)
        }
    }

    func call<T>(_ body: () async throws(MEXCFailure) -> T) async throws(ExchangeError) -> T {
        do { return try await body() } catch { throw ExchangeError(error) }
    }

    /// The symbol's rules from exchangeInfo, with the paper account's own fee.
    public func rules() async throws(ExchangeError) -> MarketRules {
        if let matcher { return matcher.rules }
        var (info, rules) = try await feed.symbolInfo()
        rules.makerFee = fee
        if let matcher { return matcher.rules }
        matcher = PaperMatcher(rules: rules, base: base, quote: quote, quoteAsset: info.quoteAsset)
        await feed.start()
        return rules
    }

    /// Trades printed since the last call fill what they reach, in the order they printed.
    func matchTrades() {
        guard matcher != nil else { return }
        for t in inbox.take() { pending += matcher!.trade(t) }
    }

    public func snapshot() async throws(ExchangeError) -> MarketSnapshot {
        _ = try await rules()
        let feed = self.feed
        let (real, age, source) = try await call { () async throws(MEXCFailure) in try await feed.current(depth: StrategyConfig.snapshotDepth) }
        matchTrades()
        pending += matcher!.book(real, time: clock.now())
        let (trades, seen) = await feed.trades(after: tradesSeen)
        tradesSeen = seen
        return MarketSnapshot(time: clock.now(), book: matcher!.book(depth: StrategyConfig.snapshotDepth), lastTrade: await feed.lastTrade,
                              balances: matcher!.account.asBalances, dataAge: age, source: source, trades: trades)
    }

    public func place(_ o: OrderRequest) async throws(ExchangeError) -> ExchangeOrder {
        _ = try await rules()
        // Trades that printed before the order reached the book fill what rested then, not it.
        matchTrades()
        let placed = try matcher!.place(o, at: clock.now())
        pending += matcher!.takeTakerFills()
        return placed
    }

    public func cancel(clientId: String) async throws(ExchangeError) -> ExchangeOrder {
        guard matcher != nil else { throw .unknownOrder }
        // Trades that printed before the cancel reached the book still fill the order.
        matchTrades()
        return try matcher!.cancel(clientId: clientId)
    }

    public func order(clientId: String) async throws(ExchangeError) -> ExchangeOrder? { matcher?.order(clientId: clientId) }

    public func openOrders() async throws(ExchangeError) -> [ExchangeOrder] { matcher?.openOrders ?? [] }

    public func newFills() async throws(ExchangeError) -> [ExchangeTrade] {
        matchTrades()
        defer { pending = [] }
        return pending
    }

    public func takeNotes() async -> [(warning: Bool, text: String)] { await feed.takeNotes() }

    public func onMarketChange(_ action: @escaping @Sendable () -> Void) async { await feed.onChange(action) }

    public func close() async { await feed.stop() }
}

extension PaperMatcher {
    /// An order as the paper and backtest venues take it: price and amount floored to the
    /// market's tick and step, as MEXC floors them.
    mutating func place(_ o: OrderRequest, at time: Int64) throws(ExchangeError) -> ExchangeOrder {
        try place(clientId: o.clientId, side: o.side, type: o.type, price: o.price.floored(toMultipleOf: rules.tick),
                  quantity: o.quantity.floored(toMultipleOf: rules.step), time: time)
    }
}
