import Foundation
import MMCore

/// What the strategy remembers between decisions. A value: the engine keeps it, the strategy
/// returns the next one, so a run can be replayed exactly.
public struct StrategyState: Sendable, Equatable {
    /// No new ladder before this time (ms).
    public var createAt: Int64 = 0
    /// No refresh cancel before this time (ms).
    public var cancelAt: Int64 = 0
    /// The placement counter: orders of one placement share a batch.
    public var batch = 0
    /// Moving price band: ceiling, floor and when it resets.
    public var band: (ceiling: Dec, floor: Dec, resetAt: Int64)?
    /// Ping-pong: complete fills per side since the sides were last even.
    public var filledBuys = 0
    public var filledSells = 0
    /// Hanging orders by client id.
    public var hanging: Set<String> = []
    /// Inventory cost basis: base held and what it cost in quote.
    public var costBase: Dec?
    public var costQuote: Dec = 0
    public var lastOwnTrade: Dec?
    /// Mid price once a second, oldest first (seconds since epoch, mid), with the running sums
    /// of the log returns between them.
    public var mids: [(second: Int64, mid: Double)] = []
    public var returnSum: Double = 0
    public var returnSquares: Double = 0
    /// The trading-hours zone's UTC offset, valid from `from` until `until` (ms).
    public var zoneOffset: (zone: String, seconds: Int, from: Int64, until: Int64)?
    /// Portfolio value in quote and base held at the first decision (for the stop loss).
    public var startValue: Dec?
    public var startBase: Dec?
    public var startQuote: Dec?
    /// Whether the last decision was inside trading hours.
    public var insideHours: Bool?
    /// The stop loss fired; nothing more is quoted.
    public var stopped = false
    /// The strategy model's own state (Avellaneda–Stoikov's estimators); nil until its first decision.
    public var model: ModelState?

    public init() {}

    public static func == (a: StrategyState, b: StrategyState) -> Bool {
        a.createAt == b.createAt && a.cancelAt == b.cancelAt && a.batch == b.batch
            && a.band?.ceiling == b.band?.ceiling && a.band?.floor == b.band?.floor && a.band?.resetAt == b.band?.resetAt
            && a.filledBuys == b.filledBuys && a.filledSells == b.filledSells && a.hanging == b.hanging
            && a.costBase == b.costBase && a.costQuote == b.costQuote && a.lastOwnTrade == b.lastOwnTrade
            && a.mids.map(\.second) == b.mids.map(\.second) && a.mids.map(\.mid) == b.mids.map(\.mid)
            && a.startValue == b.startValue && a.startBase == b.startBase && a.startQuote == b.startQuote && a.insideHours == b.insideHours
            && a.stopped == b.stopped && a.model == b.model
    }

    /// Takes a fill into account: ping-pong counters, hanging pairs, fill delay, cost basis.
    /// `orders` are the live orders as they were before the fill.
    public mutating func apply(_ fill: OwnFill, orders: [LiveOrder], config: StrategyConfig) {
        lastOwnTrade = fill.price
        if let base = costBase {
            switch fill.side {
            case .buy:
                costBase = base + fill.amount
                costQuote += fill.amount * fill.price
            case .sell:
                if base > fill.amount, base.isPositive {
                    costQuote -= costQuote * fill.amount.divided(by: base, scale: 18)
                    costBase = base - fill.amount
                } else {
                    costBase = 0
                    costQuote = 0
                }
            }
        } else if fill.side == .buy {
            costBase = fill.amount
            costQuote = fill.amount * fill.price
        }
        guard fill.complete else { return }
        if hanging.remove(fill.clientId) != nil { return }
        // A complete fill of a ladder order.
        if fill.side == .buy { filledBuys += 1 } else { filledSells += 1 }
        if filledBuys == filledSells { filledBuys = 0; filledSells = 0 }
        createAt = fill.time + config.fillDelay
        cancelAt = min(cancelAt, createAt)
        if config.hanging, let own = orders.first(where: { $0.clientId == fill.clientId }),
           let partner = orders.first(where: { $0.batch == own.batch && $0.level == own.level && $0.side != own.side }) {
            hanging.insert(partner.clientId)
        }
    }

    /// The refresh timers after a placement, and after a refresh that kept the live orders
    /// within tolerance (Hummingbot's `set_timers`): a timer that has run out runs for
    /// `refresh` from now, so the next ladder is proposed and compared a refresh later, not at
    /// every decision in between.
    public mutating func setTimers(now: Int64, refresh: Int64) {
        let next = now + refresh
        if createAt <= now { createAt = next }
        if cancelAt <= now { cancelAt = min(createAt, next) }
    }

    /// A hanging order was renewed under a new client id.
    public mutating func renewed(_ old: String, as new: String) {
        if hanging.remove(old) != nil { hanging.insert(new) }
    }

    /// Forgets orders that are no longer live.
    mutating func prune(live orders: [LiveOrder]) {
        guard !hanging.isEmpty, hanging.contains(where: { id in !orders.contains { $0.clientId == id } }) else { return }
        hanging = hanging.filter { id in orders.contains { $0.clientId == id } }
    }
}

/// Across the engine's API, the tuples as objects of their own.
extension StrategyState: Codable {
    enum CodingKeys: String, CodingKey {
        case createAt, cancelAt, batch, band, filledBuys, filledSells, hanging, costBase, costQuote, lastOwnTrade, mids
        case returnSum, returnSquares, zoneOffset, startValue, startBase, startQuote, insideHours, stopped, model
    }
    struct Band: Codable { var ceiling: Dec; var floor: Dec; var resetAt: Int64 }
    struct Mid: Codable { var second: Int64; var mid: Double }
    struct ZoneOffset: Codable { var zone: String; var seconds: Int; var from: Int64; var until: Int64 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        createAt = try c.decode(Int64.self, forKey: .createAt)
        cancelAt = try c.decode(Int64.self, forKey: .cancelAt)
        batch = try c.decode(Int.self, forKey: .batch)
        band = try c.decodeIfPresent(Band.self, forKey: .band).map { ($0.ceiling, $0.floor, $0.resetAt) }
        filledBuys = try c.decode(Int.self, forKey: .filledBuys)
        filledSells = try c.decode(Int.self, forKey: .filledSells)
        hanging = try c.decode(Set<String>.self, forKey: .hanging)
        costBase = try c.decodeIfPresent(Dec.self, forKey: .costBase)
        costQuote = try c.decode(Dec.self, forKey: .costQuote)
        lastOwnTrade = try c.decodeIfPresent(Dec.self, forKey: .lastOwnTrade)
        mids = try c.decode([Mid].self, forKey: .mids).map { ($0.second, $0.mid) }
        returnSum = try c.decode(Double.self, forKey: .returnSum)
        returnSquares = try c.decode(Double.self, forKey: .returnSquares)
        zoneOffset = try c.decodeIfPresent(ZoneOffset.self, forKey: .zoneOffset).map { ($0.zone, $0.seconds, $0.from, $0.until) }
        startValue = try c.decodeIfPresent(Dec.self, forKey: .startValue)
        startBase = try c.decodeIfPresent(Dec.self, forKey: .startBase)
        startQuote = try c.decodeIfPresent(Dec.self, forKey: .startQuote)
        insideHours = try c.decodeIfPresent(Bool.self, forKey: .insideHours)
        stopped = try c.decode(Bool.self, forKey: .stopped)
        model = try c.decodeIfPresent(ModelState.self, forKey: .model)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(createAt, forKey: .createAt)
        try c.encode(cancelAt, forKey: .cancelAt)
        try c.encode(batch, forKey: .batch)
        try c.encodeIfPresent(band.map { Band(ceiling: $0.ceiling, floor: $0.floor, resetAt: $0.resetAt) }, forKey: .band)
        try c.encode(filledBuys, forKey: .filledBuys)
        try c.encode(filledSells, forKey: .filledSells)
        try c.encode(hanging, forKey: .hanging)
        try c.encodeIfPresent(costBase, forKey: .costBase)
        try c.encode(costQuote, forKey: .costQuote)
        try c.encodeIfPresent(lastOwnTrade, forKey: .lastOwnTrade)
        try c.encode(mids.map { Mid(second: $0.second, mid: $0.mid) }, forKey: .mids)
        try c.encode(returnSum, forKey: .returnSum)
        try c.encode(returnSquares, forKey: .returnSquares)
        try c.encodeIfPresent(zoneOffset.map { ZoneOffset(zone: $0.zone, seconds: $0.seconds, from: $0.from, until: $0.until) }, forKey: .zoneOffset)
        try c.encodeIfPresent(startValue, forKey: .startValue)
        try c.encodeIfPresent(startBase, forKey: .startBase)
        try c.encodeIfPresent(startQuote, forKey: .startQuote)
        try c.encodeIfPresent(insideHours, forKey: .insideHours)
        try c.encode(stopped, forKey: .stopped)
        try c.encodeIfPresent(model, forKey: .model)
    }
}
