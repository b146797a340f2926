import MMCore
import MMStrategy

/// The parameters of one simulated MEXC market, read from an instance's `sim.*` settings.
public struct SimMarketConfig: Sendable, Equatable {
    public var mid: Dec
    /// The market's own spread, as a fraction.
    public var spread: Dec
    /// Standard deviation of mid returns per minute, as a fraction.
    public var volatility: Dec
    public var takersPerMinute: Dec
    /// nil: chosen at random when the market starts.
    public var seed: UInt64?
    public var base: Dec
    public var quote: Dec
    public var rules: MarketRules
    /// How often the market moves, in ms: each second for the sim venue; MEXC's 100 ms for
    /// `mmsh sim serve`, whose depth channels publish at that cadence. The mid walks once a
    /// second either way; sub-second steps bring takers and the participants' churn.
    public var stepMs: Int64 = 1000
    /// About how many of the other participants' orders arrive, cancel or move at each step (a
    /// level's size changes, or the level empties), beside the mid's walk. 0: the book changes
    /// only when the mid moves or a taker takes.
    public var churn: Double = 0

    public init(_ s: Settings) {
        mid = s["sim.mid"].decimal!
        spread = s["sim.spread"].fraction!
        volatility = s["sim.volatility"].fraction!
        takersPerMinute = s["sim.takers"].decimal!
        if case .seed(let seed) = s["sim.seed"] { self.seed = seed } else { seed = nil }
        base = s["sim.base"].decimal!
        quote = s["sim.quote"].decimal!
        let step = s["sim.step"].decimal!
        rules = MarketRules(tick: s["sim.tick"].decimal!, step: step, minQuantity: step,
                            minNotional: s["sim.min_notional"].decimal!, makerFee: s["sim.fee"].fraction!)
    }
}

/// The resting book of the simulated market's other participants.
public enum SimBook {
    /// Levels a side.
    public static let depth = 50

    /// The book around `mid`: the best bid and ask `spread` apart (at least a tick), then levels
    /// every 0.02% (at least a tick) whose size thins out away from the touch. The shape depends
    /// only on the mid and the rules, so a still market always shows the same book.
    public static func around(mid: Dec, spread: Dec, rules: MarketRules) -> OrderBook {
        let tick = rules.tick
        let halfSpread = spread.divided(by: 2, scale: 20)
        var bestBid = (mid * (1 - halfSpread)).floored(toMultipleOf: tick)
        var bestAsk = (mid * (1 + halfSpread)).ceiled(toMultipleOf: tick)
        if bestAsk <= bestBid { bestAsk = bestBid + tick }
        if !bestBid.isPositive { bestBid = tick; bestAsk = Swift.max(bestAsk, bestBid + tick) }
        let gap = Swift.max(tick, (mid * Dec("0.0002")).floored(toMultipleOf: tick))
        // About 2,000 quote at the touch, in base.
        let unit = Swift.max(rules.step, Dec(2000).divided(by: mid, scale: 18).floored(toMultipleOf: rules.step))
        var bids: [BookLevel] = [], asks: [BookLevel] = []
        bids.reserveCapacity(depth)
        asks.reserveCapacity(depth)
        for i in 0..<depth {
            let size = Swift.max(rules.step, (unit * thinning[i]).floored(toMultipleOf: rules.step))
            let bid = bestBid - gap * Dec(i)
            if bid.isPositive { bids.append(BookLevel(bid, size)) }
            asks.append(BookLevel(bestAsk + gap * Dec(i), size))
        }
        return OrderBook(bids: bids, asks: asks)
    }

    /// Size factor by level: 1 at the touch, falling by about 4% a level, with a fixed
    /// irregularity so the book does not look machine-made.
    static let thinning: [Dec] = {
        let wobble: [Dec] = ["1.0", "0.8", "1.3", "0.9", "1.15", "0.7", "1.05"]
        var factors: [Dec] = []
        var f: Dec = 1
        for i in 0..<depth {
            factors.append((f * wobble[i % 7]).normalized)
            f = (f * Dec("0.96")).rounded(places: 8, .down)
        }
        return factors
    }()

    /// The account a sim instance starts with.
    public static func startingBalances(_ c: SimMarketConfig) -> Balances {
        Balances(base: AssetBalance(total: c.base, available: c.base), quote: AssetBalance(total: c.quote, available: c.quote))
    }
}
