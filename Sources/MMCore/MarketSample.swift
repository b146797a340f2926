/// What an instance's market looked like over a short span (about a second while it runs; a
/// minute once downsampled): the mid at the span's end with its high and low, the touch, our best
/// quotes, the holding and net P&L, what the market traded and how long we quoted both sides.
/// Exact decimals; what `chart` and `market` read.
public struct MarketSample: Sendable, Equatable, Codable {
    /// Milliseconds since the epoch at the span's end.
    public var time: Int64
    /// The milliseconds the sample covers (its span ends at `time`).
    public var span: Int64
    public var run: Int64?
    public var mid: Dec
    /// The mid's extremes over the span (the mid itself for a raw sample).
    public var high: Dec
    public var low: Dec
    /// The market's best bid and ask at `time`.
    public var bid: Dec?
    public var ask: Dec?
    /// Our best resting bid and ask at `time` (nil: none on that side).
    public var ourBid: Dec?
    public var ourAsk: Dec?
    public var base: Dec
    public var quote: Dec
    /// Net P&L of the run so far (the value now less holding its starting balances, after fees).
    public var net: Dec
    /// The market's traded base and quote during the span (our fills included).
    public var volume: Dec
    public var turnover: Dec
    /// Milliseconds of the span with a bid and an ask of ours resting.
    public var quoted: Int64
    /// How many raw samples this one stands for, and how many of them had quotes of ours (the
    /// weights of the averages below).
    public var count: Int
    public var quotedCount: Int
    /// Means over the quoted raw samples: the distance of our quotes from the mid, and our
    /// quoted spread, as fractions of the mid; and the market's spread over all of them.
    public var distance: Dec?
    public var ourSpread: Dec?
    public var marketSpread: Dec?

    public init(time: Int64, span: Int64, run: Int64? = nil, mid: Dec, high: Dec? = nil, low: Dec? = nil, bid: Dec?, ask: Dec?,
                ourBid: Dec?, ourAsk: Dec?, base: Dec, quote: Dec, net: Dec, volume: Dec = 0, turnover: Dec = 0, quoted: Int64 = 0,
                count: Int = 1, quotedCount: Int? = nil, distance: Dec? = nil, ourSpread: Dec? = nil, marketSpread: Dec? = nil) {
        self.time = time; self.span = span; self.run = run; self.mid = mid
        self.high = high ?? mid; self.low = low ?? mid
        self.bid = bid; self.ask = ask; self.ourBid = ourBid; self.ourAsk = ourAsk
        self.base = base; self.quote = quote; self.net = net; self.volume = volume; self.turnover = turnover; self.quoted = quoted
        self.count = count
        let measured = Self.measure(mid: mid, bid: bid, ask: ask, ourBid: ourBid, ourAsk: ourAsk)
        self.distance = distance ?? measured.distance
        self.ourSpread = ourSpread ?? measured.ourSpread
        self.marketSpread = marketSpread ?? measured.marketSpread
        self.quotedCount = quotedCount ?? (self.distance == nil ? 0 : 1)
    }

    /// Fractions of the mid are kept to this many places: they are statistics, not money.
    public static let places = 10

    /// The distance of our quotes from the mid (the mean of both sides', or the one side's),
    /// our spread (both sides only) and the market's, as fractions of the mid.
    static func measure(mid: Dec, bid: Dec?, ask: Dec?, ourBid: Dec?, ourAsk: Dec?) -> (distance: Dec?, ourSpread: Dec?, marketSpread: Dec?) {
        guard mid.isPositive else { return (nil, nil, nil) }
        func share(_ x: Dec) -> Dec { x.divided(by: mid, scale: places) }
        var distance: Dec?
        switch (ourBid, ourAsk) {
        case let (b?, a?): distance = share(a - b).divided(by: 2, scale: places)
        case let (b?, nil): distance = share(mid - b)
        case let (nil, a?): distance = share(a - mid)
        default: distance = nil
        }
        let ours = ourBid.flatMap { b in ourAsk.map { share($0 - b) } }
        let market = bid.flatMap { b in ask.map { share($0 - b) } }
        return (distance, ours, market)
    }

    /// Samples merged into one per `bucket` milliseconds (buckets aligned to the epoch) and run:
    /// the last one's mid, touch, quotes, holding and net; the extremes of the mid; volumes and
    /// quoted time added up; averages weighted by what they average over. Oldest first in and out.
    public static func downsample(_ samples: [MarketSample], bucket: Int64) -> [MarketSample] {
        var out: [MarketSample] = []
        var key: (Int64, Int64?)?
        var group: [MarketSample] = []
        func flush() {
            guard let last = group.last else { return }
            var merged = last
            merged.span = group.reduce(0) { $0 + $1.span }
            merged.high = group.map(\.high).max()!
            merged.low = group.map(\.low).min()!
            merged.volume = group.reduce(0) { $0 + $1.volume }
            merged.turnover = group.reduce(0) { $0 + $1.turnover }
            merged.quoted = group.reduce(0) { $0 + $1.quoted }
            merged.count = group.reduce(0) { $0 + $1.count }
            merged.quotedCount = group.reduce(0) { $0 + $1.quotedCount }
            merged.distance = mean(group, \.distance, weight: \.quotedCount)
            merged.ourSpread = mean(group, \.ourSpread, weight: \.quotedCount)
            merged.marketSpread = mean(group, \.marketSpread, weight: \.count)
            out.append(merged)
            group = []
        }
        for s in samples {
            let k = (floorDiv(s.time, bucket), s.run)
            if let key, key.0 != k.0 || key.1 != k.1 { flush() }
            key = k
            group.append(s)
        }
        flush()
        return out
    }

    /// The weighted mean of an optional figure over the samples that have it.
    static func mean(_ group: [MarketSample], _ figure: KeyPath<MarketSample, Dec?>, weight: KeyPath<MarketSample, Int>) -> Dec? {
        var sum: Dec = 0
        var weights = 0
        for s in group {
            guard let x = s[keyPath: figure] else { continue }
            let w = max(1, s[keyPath: weight])
            sum += x * Dec(w)
            weights += w
        }
        return weights == 0 ? nil : sum.divided(by: Dec(weights), scale: places)
    }

    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}

/// What the market did over a window of samples, and how we took part: `market ID`.
public struct MarketSummary: Sendable, Equatable {
    public var from: Int64
    public var to: Int64
    public var samples = 0
    /// Milliseconds the samples cover (the time the instance ran in the window).
    public var covered: Int64 = 0
    public var open: Dec?
    public var high: Dec?
    public var low: Dec?
    public var last: Dec?
    public var volume: Dec = 0
    public var turnover: Dec = 0
    /// Milliseconds with both sides of ours quoted.
    public var quoted: Int64 = 0
    public var distance: Dec?
    public var ourSpread: Dec?
    public var marketSpread: Dec?

    public var range: Dec? { high.flatMap { h in low.map { h - $0 } } }
    /// The range as a fraction of the low.
    public var rangeShare: Dec? {
        guard let range, let low, low.isPositive else { return nil }
        return range.divided(by: low, scale: 8)
    }
    /// The share of the covered time with both sides quoted.
    public var uptime: Dec? { covered > 0 ? Dec(Int(quoted)).divided(by: Dec(Int(covered)), scale: 6) : nil }

    /// Our traded base as a share of the market's.
    public func share(of ours: Dec) -> Dec? { volume.isPositive ? ours.divided(by: volume, scale: 8) : nil }

    public init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }

    /// Samples oldest first; each counts whole (its span may begin a little before `from`).
    public static func summarize(_ samples: [MarketSample], from: Int64, to: Int64) -> MarketSummary {
        var m = MarketSummary(from: from, to: to)
        guard let first = samples.first, let final = samples.last else { return m }
        m.samples = samples.count
        m.open = first.mid
        m.last = final.mid
        m.high = samples.map(\.high).max()
        m.low = samples.map(\.low).min()
        for s in samples {
            m.covered += s.span
            m.volume += s.volume
            m.turnover += s.turnover
            m.quoted += min(s.quoted, s.span)
        }
        m.distance = MarketSample.mean(samples, \.distance, weight: \.quotedCount)
        m.ourSpread = MarketSample.mean(samples, \.ourSpread, weight: \.quotedCount)
        m.marketSpread = MarketSample.mean(samples, \.marketSpread, weight: \.count)
        return m
    }
}
