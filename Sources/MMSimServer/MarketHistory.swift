import Foundation
import MMCore
import MMSim
import MMStrategy

/// What the simulated market has traded, kept for MEXC's history endpoints: the tape (the
/// newest 10,000 prints) and one-minute candles (the newest seven days, MEXC's longest query).
struct MarketHistory: Sendable {
    struct Candle: Sendable, Equatable {
        var openTime: Int64
        var open: Dec, high: Dec, low: Dec, close: Dec
        var volume: Dec = 0
        var quoteVolume: Dec = 0
        var count = 0
    }

    static let minute: Int64 = 60_000
    static let tapeKept = 10_000
    static let candlesKept = 7 * 24 * 60

    private(set) var tape: [MarketPrint] = []
    private(set) var candles: [Candle] = []
    /// The market's prints already taken in.
    var printsSeen = 0

    /// Takes the prints the market made since the last call; minutes without a trade get a flat
    /// candle at the last close, as MEXC's klines have.
    mutating func take(from market: SimMarket) {
        let new = min(market.printCount - printsSeen, market.prints.count)
        printsSeen = market.printCount
        guard new > 0 else { return }
        for p in market.prints.suffix(new) {
            tape.append(p)
            let start = p.time - ((p.time % Self.minute) + Self.minute) % Self.minute
            if let last = candles.last, last.openTime < start {
                // Only the newest `candlesKept` are kept: a longer gap is not filled beyond them.
                var t = max(last.openTime + Self.minute, start - Int64(Self.candlesKept) * Self.minute)
                while t < start {
                    candles.append(Candle(openTime: t, open: last.close, high: last.close, low: last.close, close: last.close))
                    t += Self.minute
                }
            }
            if candles.last?.openTime != start {
                candles.append(Candle(openTime: start, open: p.price, high: p.price, low: p.price, close: p.price))
            }
            var c = candles[candles.count - 1]
            c.high = max(c.high, p.price)
            c.low = min(c.low, p.price)
            c.close = p.price
            c.volume += p.quantity
            c.quoteVolume += p.price * p.quantity
            c.count += 1
            candles[candles.count - 1] = c
        }
        if tape.count > Self.tapeKept { tape.removeFirst(tape.count - Self.tapeKept) }
        if candles.count > Self.candlesKept { candles.removeFirst(candles.count - Self.candlesKept) }
    }

    /// MEXC's kline intervals, with their length in ms (months are calendar months).
    static let intervals: [String: Int64] = [
        "1m": minute, "5m": 5 * minute, "15m": 15 * minute, "30m": 30 * minute, "60m": 60 * minute,
        "4h": 240 * minute, "1d": 1440 * minute, "1W": 7 * 1440 * minute, "1M": 0,
    ]

    /// Where the bar holding `t` opens: UTC boundaries; weeks from Monday; months on the 1st.
    static func barStart(_ t: Int64, interval: String) -> Int64 {
        let day = 1440 * minute
        switch interval {
        case "1W":
            let monday: Int64 = 4 * day   // 1970-01-05 was a Monday
            return t - (((t - monday) % (7 * day)) + 7 * day) % (7 * day)
        case "1M":
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let date = Date(timeIntervalSince1970: Double(t) / 1000)
            let first = calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
            return Int64(first.timeIntervalSince1970 * 1000)
        default:
            let length = intervals[interval]!
            return t - ((t % length) + length) % length
        }
    }

    /// The bars of `interval` whose open time is within [start, end], oldest first, at most `limit` (the newest).
    func klines(interval: String, start: Int64?, end: Int64?, limit: Int) -> [(Candle, closeTime: Int64)] {
        var bars: [Candle] = []
        for c in candles {
            let open = Self.barStart(c.openTime, interval: interval)
            if var last = bars.last, last.openTime == open {
                last.high = max(last.high, c.high)
                last.low = min(last.low, c.low)
                last.close = c.close
                last.volume += c.volume
                last.quoteVolume += c.quoteVolume
                last.count += c.count
                bars[bars.count - 1] = last
            } else {
                var bar = c
                bar.openTime = open
                bars.append(bar)
            }
        }
        let chosen = bars.filter { bar in (start.map { bar.openTime >= $0 } ?? true) && (end.map { bar.openTime <= $0 } ?? true) }
        return chosen.suffix(limit).map { bar in
            let next = interval == "1M" ? Self.barStart(bar.openTime + 32 * 1440 * Self.minute, interval: "1M")
                                        : bar.openTime + Self.intervals[interval]!
            return (bar, next)   // MEXC closes a bar at the next one's open
        }
    }

    /// The candles of the last 24 hours before `now` (since the market opened, if later).
    func day(before now: Int64) -> [Candle] {
        candles.filter { $0.openTime + Self.minute > now - 1440 * Self.minute }
    }
}
