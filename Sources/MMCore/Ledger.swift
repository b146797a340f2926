import Foundation

/// One fill as the ledger reads it.
public struct LedgerFill: Sendable, Equatable, Codable {
    public var time: Int64
    public var isBuy: Bool
    public var price: Dec
    public var amount: Dec
    public var fee: Dec
    /// The fee was taken in the base asset (else in the quote asset).
    public var feeInBase: Bool
    public var maker: Bool?
    /// The mid when the fill happened; nil when not known (its spread capture is then zero).
    public var mid: Dec?

    public init(time: Int64, isBuy: Bool, price: Dec, amount: Dec, fee: Dec, feeInBase: Bool = false, maker: Bool? = nil, mid: Dec? = nil) {
        self.time = time
        self.isBuy = isBuy
        self.price = price
        self.amount = amount
        self.fee = fee
        self.feeInBase = feeInBase
        self.maker = maker
        self.mid = mid
    }
}

/// What a set of fills made, marked at one mid. Every figure is exact; these hold to the last unit:
/// - net = realized + unrealized − fees = spread capture + inventory − fees
///   = (base now − base before)·mark + (quote now − quote before): the value now less the value
///   of holding what was there before the fills, at the same mid.
public struct LedgerSummary: Sendable, Equatable, Codable {
    /// The mid everything is valued at.
    public var mark: Dec
    /// By average cost: what closing trades earned against the cost of what they closed.
    public var realized: Dec = 0
    /// The position the fills left (base, long or short against the start) at the mark, less its cost.
    public var unrealized: Dec = 0
    /// The base the fills left the instance holding beyond (or short of) what it had before.
    public var position: Dec = 0
    /// Its average cost (nil when flat).
    public var averageCost: Dec?
    public var feesBase: Dec = 0
    public var feesQuote: Dec = 0
    /// Fees, the base part valued at the mark.
    public var fees: Dec = 0
    /// After fees.
    public var net: Dec = 0
    /// What the fills earned against the mid at their time (buys below it, sells above it).
    public var spreadCapture: Dec = 0
    /// What holding what the fills bought or sold earned as the mid moved from each fill's time to the mark.
    public var inventory: Dec = 0
    public var fills = 0
    public var buys = 0
    public var sells = 0
    public var boughtBase: Dec = 0
    public var boughtQuote: Dec = 0
    public var soldBase: Dec = 0
    public var soldQuote: Dec = 0
    public var makerFills = 0
    /// Fills whose maker flag is known.
    public var flaggedFills = 0

    public init(mark: Dec) { self.mark = mark }

    public var volumeBase: Dec { boughtBase + soldBase }
    public var volumeQuote: Dec { boughtQuote + soldQuote }
    public var averageBuy: Dec? { boughtBase.isPositive ? boughtQuote.divided(by: boughtBase, scale: 12) : nil }
    public var averageSell: Dec? { soldBase.isPositive ? soldQuote.divided(by: soldBase, scale: 12) : nil }
    public var makerShare: Dec? { flaggedFills > 0 ? Dec(makerFills).divided(by: Dec(flaggedFills), scale: 6) : nil }
}

/// The P&L ledger's arithmetic: pure, exact, value in and value out.
public enum Ledger {
    /// Scale of the average cost carried between fills (the rounding of a partial close lands in
    /// the split between realized and unrealized, never in their sum).
    static let costScale = 18

    /// Fills in time order, valued at `mark`.
    public static func summarize(_ fills: [LedgerFill], mark: Dec) -> LedgerSummary {
        var a = LedgerAccumulator()
        for f in fills { a.add(f) }
        return a.summary(mark: mark)
    }

    /// The fills by hour, day or week (UTC, or at `offset` seconds from it), each bucket valued at `mark`.
    public static func buckets(_ fills: [LedgerFill], by size: BucketSize, mark: Dec, offset: Int = 0) -> [(start: Int64, summary: LedgerSummary)] {
        var tally = LedgerTally(by: size, offset: offset)
        for f in fills { tally.add(f) }
        return tally.buckets.map { ($0.start, $0.fills.summary(mark: mark)) }
    }

    public enum BucketSize: String, Sendable, CaseIterable, Codable {
        case hour, day, week
        public var milliseconds: Int64 { self == .hour ? 3_600_000 : self == .day ? 86_400_000 : 7 * 86_400_000 }
        /// Where the bucket holding `t` starts; weeks start on Monday.
        public func start(of t: Int64, offset: Int) -> Int64 {
            let shift = Int64(offset) * 1000 - (self == .week ? 4 * 86_400_000 : 0)   // 1970-01-05 was a Monday
            let local = t + shift
            let size = milliseconds
            return local - ((local % size) + size) % size - shift
        }
    }

    /// Risk figures of a net P&L series (time, net P&L, value of holding at that time), oldest first.
    public static func risk(_ series: [(time: Int64, net: Dec, hold: Dec)], period: BucketSize) -> LedgerRisk {
        var r = LedgerRisk()
        var peak: Dec?
        for p in series {
            peak = peak.map { Swift.max($0, p.net) } ?? p.net
            r.maxDrawdown = Swift.max(r.maxDrawdown, peak! - p.net)
        }
        // Returns per period: the change of net P&L from one period's end to the next, as a
        // share of what holding was worth at the later one.
        var ends: [(bucket: Int64, net: Dec, hold: Dec)] = []
        for p in series {
            let bucket = period.start(of: p.time, offset: 0)
            if ends.last?.bucket == bucket { ends[ends.count - 1] = (bucket, p.net, p.hold) } else { ends.append((bucket, p.net, p.hold)) }
        }
        var returns: [Double] = []
        for (a, b) in zip(ends, ends.dropFirst()) where b.hold.isPositive {
            returns.append((b.net - a.net).doubleValue / b.hold.doubleValue)
        }
        r.returns = returns
        guard returns.count >= 2 else { return r }
        let n = Double(returns.count)
        let mean = returns.reduce(0, +) / n
        let sd = (returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
        let downside = (returns.reduce(0) { $0 + min($1, 0) * min($1, 0) } / n).squareRoot()
        let perYear = period == .hour ? 8760.0 : period == .day ? 365.0 : 52.0
        r.sharpe = sd > 0 ? mean / sd * perYear.squareRoot() : nil
        r.sortino = downside > 0 ? mean / downside * perYear.squareRoot() : nil
        return r
    }
}

/// The ledger's risk figures. Sharpe = mean / standard deviation of the period returns × √(periods
/// a year); Sortino the same with the downside deviation (the root mean square of the negative
/// returns); a return is the period's change of net P&L over the value of holding.
public struct LedgerRisk: Sendable, Equatable {
    public var maxDrawdown: Dec = 0
    public var returns: [Double] = []
    public var sharpe: Double?
    public var sortino: Double?
}

extension Dec {
    /// self × part ÷ whole, rounded down at `scale` decimals, without the intermediate overflowing
    /// as often as multiplying first would.
    func multiplied(byRatio part: Dec, of whole: Dec, scale: Int) -> Dec {
        (self * part).divided(by: whole, scale: scale)
    }
}

/// Fills taken one at a time, in time order, so that a million of them are summed as they are
/// read, never held: everything but what depends on the mark, which `summary(mark:)` adds.
/// `summary` gives what `Ledger.summarize` of the same fills gives, to the last unit.
public struct LedgerAccumulator: Sendable, Equatable, Codable {
    var s = LedgerSummary(mark: 0)
    /// The position (base) and what it cost (quote; negative for a short: what it brought in).
    var x: Dec = 0, cost: Dec = 0, cash: Dec = 0
    /// Σ signed amount × the mid at its fill: the inventory part is mark·position less this.
    var signedAtMid: Dec = 0
    /// The newest fill taken: what a window with no market price is valued at.
    public private(set) var last: LedgerFill?

    public init() {}

    public mutating func add(_ f: LedgerFill) {
        last = f
        s.fills += 1
        if let maker = f.maker {
            s.flaggedFills += 1
            if maker { s.makerFills += 1 }
        }
        let notional = f.price * f.amount
        if f.feeInBase { s.feesBase += f.fee } else { s.feesQuote += f.fee }
        let signed = f.isBuy ? f.amount : -f.amount
        if f.isBuy {
            s.buys += 1
            s.boughtBase += f.amount
            s.boughtQuote += notional
            cash -= notional
        } else {
            s.sells += 1
            s.soldBase += f.amount
            s.soldQuote += notional
            cash += notional
        }
        let mid = f.mid ?? f.price
        s.spreadCapture += f.isBuy ? f.amount * (mid - f.price) : f.amount * (f.price - mid)
        signedAtMid += signed * mid
        // Average cost: a fill that adds to the position adds its notional to the cost; one
        // that reduces it takes out its share of the cost; one that flips it does both.
        if x.isZero || x.isNegative == signed.isNegative {
            cost += signed * f.price
            x += signed
        } else {
            let closing = Swift.min(f.amount, x.magnitude)
            let remaining = x.magnitude - closing
            let keptCost = remaining.isZero ? Dec(0) : cost.multiplied(byRatio: remaining, of: x.magnitude, scale: Ledger.costScale)
            let opening = f.amount - closing
            x += signed
            cost = keptCost + (opening.isPositive ? (f.isBuy ? opening : -opening) * f.price : 0)
        }
    }

    /// What the fills made, valued at `mark`.
    public func summary(mark: Dec) -> LedgerSummary {
        var s = self.s
        s.mark = mark
        // Σ signed·(mark − mid) = mark·Σ signed − Σ signed·mid, and Σ signed is the position.
        s.inventory = mark * x - signedAtMid
        s.position = x
        s.averageCost = x.isZero ? nil : cost.divided(by: x, scale: 12)
        s.unrealized = x * mark - cost
        s.realized = cash + cost
        s.fees = s.feesBase * mark + s.feesQuote
        s.net = s.realized + s.unrealized - s.fees
        return s
    }
}

/// A window's fills summed whole and, with `by`, per hour, day or week (UTC, or at `offset`
/// seconds from it), as they are read.
public struct LedgerTally: Sendable {
    public var by: Ledger.BucketSize?
    public var offset: Int
    public private(set) var whole = LedgerAccumulator()
    public private(set) var buckets: [(start: Int64, fills: LedgerAccumulator)] = []

    public init(by: Ledger.BucketSize? = nil, offset: Int = 0) {
        self.by = by
        self.offset = offset
    }

    public mutating func add(_ f: LedgerFill) {
        whole.add(f)
        guard let by else { return }
        let start = by.start(of: f.time, offset: offset)
        if buckets.last?.start != start { buckets.append((start, LedgerAccumulator())) }
        buckets[buckets.count - 1].fills.add(f)
    }
}

extension LedgerTally: Codable {
    struct Bucket: Codable { var start: Int64; var fills: LedgerAccumulator }
    enum CodingKeys: String, CodingKey { case by, offset, whole, buckets }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        by = try c.decodeIfPresent(Ledger.BucketSize.self, forKey: .by)
        offset = try c.decode(Int.self, forKey: .offset)
        whole = try c.decode(LedgerAccumulator.self, forKey: .whole)
        buckets = try c.decode([Bucket].self, forKey: .buckets).map { ($0.start, $0.fills) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(by, forKey: .by)
        try c.encode(offset, forKey: .offset)
        try c.encode(whole, forKey: .whole)
        try c.encode(buckets.map { Bucket(start: $0.start, fills: $0.fills) }, forKey: .buckets)
    }
}
