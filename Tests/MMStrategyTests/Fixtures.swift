import MMCore
@testable import MMStrategy

/// Settings with some keys changed, as a strategy config.
func config(_ changes: [String: String] = [:]) -> StrategyConfig {
    var s = Settings()
    for (k, v) in changes { s.set(k, try! Catalog.lookup(k).parse(v)) }
    try! s.validate()
    return StrategyConfig(s)
}

let rules = MarketRules(tick: "0.01", step: "0.001")

func balances(base: Dec, quote: Dec) -> Balances {
    Balances(base: AssetBalance(total: base, available: base), quote: AssetBalance(total: quote, available: quote))
}

/// A book with one level a side.
func book(bid: Dec, ask: Dec, bidAmount: Dec = 10, askAmount: Dec = 10) -> OrderBook {
    OrderBook(bids: [BookLevel(bid, bidAmount)], asks: [BookLevel(ask, askAmount)])
}

func view(now: Int64 = 1_000_000, book: OrderBook = book(bid: "99.99", ask: "100.01"), base: Dec = 100, quote: Dec = 100_000,
          orders: [LiveOrder] = [], rules: MarketRules = rules, lastTrade: Dec? = nil) -> MarketView {
    MarketView(now: now, book: book, lastTrade: lastTrade, balances: balances(base: base, quote: quote), orders: orders, rules: rules)
}

func ladder(_ orders: [ProposedOrder]) -> [String] { orders.map { "\($0.price)×\($0.amount)" } }

/// The orders a decision places, as live orders placed at `now`.
func placed(_ d: Decision, now: Int64, batch: Int) -> [LiveOrder] {
    (d.buys + d.sells).map {
        LiveOrder(clientId: "\($0.side.rawValue)-\(batch)-\($0.level)", side: $0.side, price: $0.price, amount: $0.amount,
                  placedAt: now, batch: batch, level: $0.level)
    }
}
