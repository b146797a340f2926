import Foundation

/// The newest `capacity` values, oldest overwritten first.
struct Ring: Sendable, Equatable, Codable {
    private(set) var storage: [Double] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { storage.count }
    var isFull: Bool { storage.count == capacity }

    mutating func append(_ x: Double) {
        if storage.count < capacity {
            storage.append(x)
        } else {
            storage[next] = x
            next = (next + 1) % capacity
        }
    }

    /// The oldest value kept.
    var oldest: Double? { storage.isEmpty ? nil : isFull ? storage[next] : storage[0] }
    var newest: Double? { storage.isEmpty ? nil : isFull ? storage[(next + capacity - 1) % capacity] : storage.last }
}

/// σ: how much the mid moves from one second to the next, as a fraction of itself. The mid is
/// sampled at most once a second; a change over a longer gap is scaled to one second (÷ √gap).
/// σ is the root mean square of the changes, not their deviation from their mean: a trend is
/// not volatility, and the buffer's length must not change σ when the market does not (as in
/// the reference's instant volatility).
public struct VolatilityEstimator: Sendable, Equatable, Codable {
    var changes: Ring
    var lastSecond: Int64?
    var lastMid: Double?

    public init(samples: Int) { changes = Ring(capacity: samples) }

    /// An estimator holding these changes already (tests, replays).
    init(changes: [Double], lastSecond: Int64, lastMid: Double) {
        self.changes = Ring(capacity: changes.count)
        for c in changes { self.changes.append(c) }
        self.lastSecond = lastSecond
        self.lastMid = lastMid
    }

    /// Takes the mid at `now` (ms); a second already sampled is skipped.
    public mutating func sample(mid: Double, now: Int64) {
        let second = now >= 0 ? now / 1000 : (now - 999) / 1000
        if let last = lastSecond, second <= last { return }
        if let previous = lastMid, let last = lastSecond, previous > 0, mid > 0 {
            changes.append((mid - previous) / previous / Double(second - last).squareRoot())
        }
        lastSecond = second
        lastMid = mid
    }

    /// Samples still needed before σ is known.
    public var needed: Int { changes.capacity - changes.count }
    public var isReady: Bool { changes.isFull }
    public var samples: Int { changes.count }

    /// Per second, as a fraction of the mid; nil until the buffer is full.
    public var sigma: Double? {
        guard isReady else { return nil }
        var squares = 0.0
        for x in changes.storage { squares += x * x }
        return (squares / Double(changes.count)).squareRoot()
    }
}

/// The order-arrival intensity λ(δ) = α·e^(−κδ): how often a trade reaches a distance δ from the
/// mid (a fraction of it), per second. Fitted from the public trades' distances to the mid
/// before them: for each distance seen, the trades at it or farther, per second of the buffer,
/// and ln λ = ln α − κδ by least squares, weighted by those counts (a count's logarithm is
/// surer the larger the count). A fit that fails keeps the previous one.
public struct IntensityEstimator: Sendable, Equatable {
    var distances: Ring
    var times: Ring
    /// Trades taken since the last fit, and that fit's time (ms).
    var sinceFit = 0
    var fittedAt: Int64 = .min
    public private(set) var alpha: Double?
    public private(set) var kappa: Double?
    /// Trades and distinct distances behind the current fit.
    public private(set) var fittedOn: (trades: Int, levels: Int) = (0, 0)
    /// Why the latest fit failed, when it did (the previous fit, if any, is kept).
    public private(set) var failure: String?

    public init(trades: Int) {
        distances = Ring(capacity: trades)
        times = Ring(capacity: trades)
    }

    /// An estimator with a fit already made on a full buffer (tests, replays).
    init(trades: Int, alpha: Double, kappa: Double, fittedAt: Int64, levels: Int = 10) {
        self.init(trades: trades)
        for _ in 0..<trades { distances.append(1 / kappa); times.append(Double(fittedAt)) }
        self.alpha = alpha
        self.kappa = kappa
        self.fittedAt = fittedAt
        fittedOn = (trades, levels)
    }

    public static func == (a: IntensityEstimator, b: IntensityEstimator) -> Bool {
        a.distances == b.distances && a.times == b.times && a.sinceFit == b.sinceFit && a.fittedAt == b.fittedAt
            && a.alpha == b.alpha && a.kappa == b.kappa && a.failure == b.failure
    }

    public mutating func add(distance: Double, time: Int64) {
        guard distance.isFinite, distance >= 0 else { return }
        distances.append(distance)
        times.append(Double(time))
        sinceFit += 1
    }

    public var needed: Int { distances.capacity - distances.count }
    public var isFull: Bool { distances.isFull }
    public var isReady: Bool { kappa != nil }

    /// Fits again when the buffer is full and a tenth of it is new, or a minute has passed with
    /// anything new: often enough to follow the market, rarely enough to cost little per decision.
    public mutating func refitIfDue(now: Int64) {
        guard isFull, sinceFit > 0, sinceFit >= max(1, distances.capacity / 10) || now - fittedAt >= 60_000 || kappa == nil else { return }
        sinceFit = 0
        fittedAt = now
        let span = max(1, ((times.newest ?? 0) - (times.oldest ?? 0)) / 1000)
        switch Self.fit(distances: distances.storage, seconds: span) {
        case .success(let f):
            alpha = f.alpha
            kappa = f.kappa
            fittedOn = (distances.count, f.levels)
            failure = nil
        case .failure(let why):
            failure = why.message
        }
    }

    public struct FitFailure: Error, Equatable { public var message: String }

    /// The weighted least-squares fit of ln λ(δ) = ln α − κδ over the trades' distances.
    public static func fit(distances: [Double], seconds: Double) -> Result<(alpha: Double, kappa: Double, levels: Int), FitFailure> {
        guard distances.count >= 2, seconds > 0 else { return .failure(FitFailure(message: "fewer than two trades")) }
        let sorted = distances.sorted()
        let n = sorted.count
        var sw = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0, levels = 0
        var i = 0
        while i < n {
            let d = sorted[i]
            // The trades at this distance or farther.
            let reaching = Double(n - i)
            let y = log(reaching / seconds)
            let w = reaching
            sw += w; sx += w * d; sy += w * y; sxx += w * d * d; sxy += w * d * y
            levels += 1
            while i < n && sorted[i] == d { i += 1 }
        }
        guard levels >= 2 else {
            return .failure(FitFailure(message: "all \(n) trades at the same distance from the mid; κ cannot be told"))
        }
        let denominator = sw * sxx - sx * sx
        let slope = (sw * sxy - sx * sy) / denominator
        let kappa = -slope
        let alpha = exp((sy + kappa * sx) / sw)
        guard denominator > 0, kappa.isFinite, alpha.isFinite, kappa > 0 else {
            return .failure(FitFailure(message: "the trades do not thin out with distance from the mid (κ would be \(String(format: "%.4g", kappa)))"))
        }
        return .success((alpha, kappa, levels))
    }
}

extension IntensityEstimator: Codable {
    enum CodingKeys: String, CodingKey { case distances, times, sinceFit, fittedAt, alpha, kappa, fittedOnTrades, fittedOnLevels, failure }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        distances = try c.decode(Ring.self, forKey: .distances)
        times = try c.decode(Ring.self, forKey: .times)
        sinceFit = try c.decode(Int.self, forKey: .sinceFit)
        fittedAt = try c.decode(Int64.self, forKey: .fittedAt)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
        kappa = try c.decodeIfPresent(Double.self, forKey: .kappa)
        fittedOn = (try c.decode(Int.self, forKey: .fittedOnTrades), try c.decode(Int.self, forKey: .fittedOnLevels))
        failure = try c.decodeIfPresent(String.self, forKey: .failure)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(distances, forKey: .distances)
        try c.encode(times, forKey: .times)
        try c.encode(sinceFit, forKey: .sinceFit)
        try c.encode(fittedAt, forKey: .fittedAt)
        try c.encodeIfPresent(alpha, forKey: .alpha)
        try c.encodeIfPresent(kappa, forKey: .kappa)
        try c.encode(fittedOn.trades, forKey: .fittedOnTrades)
        try c.encode(fittedOn.levels, forKey: .fittedOnLevels)
        try c.encodeIfPresent(failure, forKey: .failure)
    }
}
