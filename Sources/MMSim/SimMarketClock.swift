import Foundation
import MMCore
import MMStrategy

/// A trade of the market, as the public trades feed shows it.
public struct MarketPrint: Sendable, Equatable {
    public var price: Dec
    public var quantity: Dec
    public var time: Int64
    public var takerSide: Side
}

/// The simulated market of one sim instance, moving in steps of one second: the mid walks
/// randomly with `sim.volatility` per minute, the other participants' book follows it, and
/// takers arrive at `sim.takers` per minute with varied sizes, filling the account's orders
/// when they reach them. Deterministic for a given seed.
public struct SimMarket: Sendable {
    public static let stepMs: Int64 = 1000

    public let config: SimMarketConfig
    public let seed: UInt64
    public private(set) var engine: MatchingEngine
    public private(set) var mid: Dec
    public private(set) var time: Int64
    /// Price of the market's latest trade.
    public private(set) var lastTrade: Dec?
    /// The market's latest trades (the takers' prints at the touch), oldest first, at most 200.
    public private(set) var prints: [MarketPrint] = []
    /// How many prints the market has made since it opened (`prints` keeps the newest).
    public private(set) var printCount = 0
    private var random: SeededGenerator

    /// A market opening at `start` (ms) with `seed` (pick one when `sim.seed` is random).
    public init(config: SimMarketConfig, seed: UInt64, start: Int64) {
        self.config = config
        self.seed = seed
        self.random = SeededGenerator(seed: seed)
        self.mid = config.mid
        self.time = start
        self.engine = MatchingEngine(rules: config.rules, base: config.base, quote: config.quote)
        _ = engine.setParticipants(book, time: start)
    }

    /// The participants' book around the current mid.
    var book: OrderBook { SimBook.around(mid: mid, spread: config.spread, rules: config.rules) }

    /// Moves the market forward to `until` (ms) in whole steps. Returns the account's fills.
    public mutating func advance(to until: Int64) -> [ExchangeTrade] {
        var trades: [ExchangeTrade] = []
        while time + Self.stepMs <= until {
            time += Self.stepMs
            trades += step()
        }
        return trades
    }

    private mutating func step() -> [ExchangeTrade] {
        var trades: [ExchangeTrade] = []
        let sigma = config.volatility.doubleValue * (Double(Self.stepMs) / 60_000).squareRoot()
        if sigma > 0 {
            let next = mid.doubleValue * exp(sigma * random.normal())
            let ticks = max(1, (next / config.rules.tick.doubleValue).rounded())
            mid = Dec(Int(ticks)) * config.rules.tick
            trades += engine.setParticipants(book, time: time)
        }
        let arrivals = random.poisson(config.takersPerMinute.doubleValue * Double(Self.stepMs) / 60_000)
        for _ in 0..<arrivals {
            let side: Side = random.next() & 1 == 0 ? .buy : .sell
            // Sizes spread around 500 quote, from a few quote to a few thousand.
            let value = 500 * exp(0.9 * random.normal())
            let size = Dec(Int((value / mid.doubleValue / config.rules.step.doubleValue).rounded(.down))) * config.rules.step
            guard size.isPositive else { continue }
            // A taker that sweeps several levels prints at each, as MEXC's deals do.
            let book = engine.book(depth: 20)
            var left = size
            for level in side == .buy ? book.asks : book.bids where left.isPositive {
                let take = Swift.min(left, level.amount)
                left -= take
                if prints.count == 200 { prints.removeFirst(100) }
                prints.append(MarketPrint(price: level.price, quantity: take, time: time, takerSide: side))
                printCount += 1
                lastTrade = level.price
            }
            trades += engine.takerOrder(side: side, quantity: size, time: time)
        }
        if arrivals > 0 {
            // What the takers took is replenished around the mid at the next step; top up now
            // so the book never stays empty on a side.
            if engine.bestBid == nil || engine.bestAsk == nil { trades += engine.setParticipants(book, time: time) }
        }
        return trades
    }

    /// The account's side of the market: place and cancel go to the engine.
    public mutating func withEngine<R>(_ body: (inout MatchingEngine) throws(ExchangeError) -> R) throws(ExchangeError) -> R {
        try body(&engine)
    }
}
