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

/// The simulated market of one sim instance, moving in steps (`config.stepMs`): the mid walks
/// randomly with `sim.volatility` per minute, the other participants' book follows it (their
/// orders arriving, cancelling and moving as `config.churn` says), and takers arrive at
/// `sim.takers` per minute with varied sizes, filling the account's orders when they reach
/// them. Deterministic for a given seed.
public struct SimMarket: Sendable {
    public let config: SimMarketConfig
    var stepMs: Int64 { config.stepMs }
    /// How often the mid walks, in ms.
    static let midEveryMs: Int64 = 1000
    /// The participants' size at each level from the touch, as a factor of the book's shape
    /// (1: as `SimBook.around` has it, 0: nobody there). Moves with the mid.
    private var bidFactors = [Dec](repeating: 1, count: SimBook.depth)
    private var askFactors = [Dec](repeating: 1, count: SimBook.depth)
    static let churnFactors: [Dec] = [0, "0.25", "0.5", "0.75", 1, "1.25", "1.5", 2, 3]
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
    var book: OrderBook {
        let shape = SimBook.around(mid: mid, spread: config.spread, rules: config.rules)
        guard config.churn > 0 && config.volatility.isPositive else { return shape }
        func sized(_ levels: [BookLevel], _ factors: [Dec]) -> [BookLevel] {
            levels.enumerated().compactMap { i, level in
                let f = factors[i]
                if f == 1 { return level }
                let amount = (level.amount * f).floored(toMultipleOf: config.rules.step)
                return amount.isPositive ? BookLevel(level.price, amount) : nil
            }
        }
        return OrderBook(bids: sized(shape.bids, bidFactors), asks: sized(shape.asks, askFactors))
    }

    /// Moves the market forward to `until` (ms) in whole steps. Returns the account's fills.
    public mutating func advance(to until: Int64) -> [ExchangeTrade] {
        var trades: [ExchangeTrade] = []
        while time + stepMs <= until {
            time += stepMs
            trades += step()
        }
        return trades
    }

    private mutating func step() -> [ExchangeTrade] {
        var trades: [ExchangeTrade] = []
        // The mid walks once a second whatever the step: between its moves (sub-second steps)
        // only the participants' orders and the takers move the book, as on a real one, where
        // a 100 ms batch changes a few levels rather than all of them.
        let walks = time / SimMarket.midEveryMs != (time - stepMs) / SimMarket.midEveryMs
        let sigma = walks ? config.volatility.doubleValue * (Double(SimMarket.midEveryMs) / 60_000).squareRoot() : 0
        var moved = false
        if sigma > 0 {
            let next = mid.doubleValue * exp(sigma * random.normal())
            let ticks = max(1, (next / config.rules.tick.doubleValue).rounded())
            mid = Dec(Int(ticks)) * config.rules.tick
            moved = true
        }
        if config.churn > 0 && config.volatility.isPositive {
            // Other participants at work: a level's size changes (orders arrive or cancel), or
            // the level empties; nearer the touch more often, as on a real book. A still market
            // (sim.volatility 0) stays still: its book changes only through the account and takers.
            for _ in 0..<random.poisson(config.churn) {
                let level = min(SimBook.depth - 1, Int(Double(SimBook.depth) * pow(random.uniform(), 2)))
                let factor = Self.churnFactors[Int(random.next() % UInt64(Self.churnFactors.count))]
                if random.next() & 1 == 0 { bidFactors[level] = factor } else { askFactors[level] = factor }
                moved = true
            }
        }
        if moved { trades += engine.setParticipants(book, time: time) }
        let arrivals = random.poisson(config.takersPerMinute.doubleValue * Double(stepMs) / 60_000)
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
