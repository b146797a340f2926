import Foundation
import MMCore

/// The risk supervisor: a state per instance, moved by its limits (pure: figures in, state out).
///
/// - **active**: quoting as configured.
/// - **reducing**: only orders that bring the inventory back towards its target (sells while the
///   base share is above the target, buys while it is below); the other side is cancelled.
/// - **halted**: everything cancelled, nothing placed.
///
/// Loss limits reduce at `risk.reduce_at` of the limit and halt at the limit; the inventory
/// deviation reduces; too many orders in a minute halts. A halt by a limit, by `pause` or by
/// `halt all` holds until `resume`, or until `risk.resume_after` has passed and the limits allow.
/// The dead-man's switch halts while market data or MEXC's answers are missing and lifts itself
/// when both are back.
public enum RiskMode: String, Sendable, Equatable, Codable {
    case active, reducing, halted
}

/// The limit that holds an instance in its state, with the figures in words.
public struct RiskBinding: Sendable, Equatable, Codable {
    /// The setting's key (`risk.daily_loss`, …), `pause` (by hand) or `halt` (`halt all`).
    public var limit: String
    public var message: String
    public init(_ limit: String, _ message: String) {
        self.limit = limit
        self.message = message
    }

    public static let deadman = "risk.deadman"
    /// Halts that hold until resumed (the dead-man's switch lifts itself).
    var holds: Bool { limit != Self.deadman }
}

public struct RiskConfig: Sendable, Equatable {
    public var dailyLoss: Dec?
    public var drawdown: Dec?
    /// Share of a loss limit at which the instance starts reducing.
    public var reduceAt: Dec
    public var inventoryDeviation: Dec?
    public var openNotional: Dec?
    public var orderRate: Int?
    public var resumeAfter: Int64?
    public var deadman: Int64?
    public var timeZone: TimeZone

    public init(_ s: Settings) {
        dailyLoss = s["risk.daily_loss"].decimal
        drawdown = s["risk.drawdown"].decimal
        reduceAt = s["risk.reduce_at"].fraction ?? 1
        inventoryDeviation = s["risk.inventory_deviation"].fraction
        openNotional = s["risk.open_notional"].decimal
        orderRate = s["risk.order_rate"].integer
        resumeAfter = s["risk.resume_after"].duration.map { Int64($0.milliseconds) }
        deadman = s["risk.deadman"].duration.map { Int64($0.milliseconds) }
        timeZone = TimeZone(identifier: s["hours.tz"].text ?? "UTC") ?? TimeZone(identifier: "UTC")!
    }

    /// Whether any limit is set (status shows the risk line then).
    public var any: Bool {
        dailyLoss != nil || drawdown != nil || inventoryDeviation != nil || openNotional != nil || orderRate != nil || deadman != nil
    }
}

/// What the supervisor remembers between decisions.
public struct RiskState: Sendable, Equatable, Codable {
    public var mode: RiskMode = .active
    public var binding: RiskBinding?
    /// When the current mode began (ms).
    public var since: Int64 = 0
    /// Halted by hand (`pause`, `halt all`): only `resume` lifts it.
    public var paused: RiskBinding?
    /// The peak of net P&L since the start or the last resume (the drawdown counts from it).
    public var peak: Dec?
    /// The local day (days since 1970 in `hours.tz`) and the run's net P&L when it began.
    public var day: Int64?
    public var dayOpen: Dec = 0
    /// Net P&L of earlier runs of the instance on `carriedDay`.
    public var carried: Dec = 0
    public var carriedDay: Int64?
    /// Today's net P&L and the drawdown from the peak, as of the last assessment.
    public var dayPnL: Dec = 0
    public var drawdown: Dec = 0
    /// Times (ms) of the orders placed in the last minute, oldest first.
    public var placements: [Int64] = []

    public init() {}
}

/// What the supervisor is told at each decision.
public struct RiskFigures: Sendable {
    public var now: Int64
    /// Value now less the value of holding the starting balances, both at the mid (fees paid are in it).
    public var netPnL: Dec
    /// The base share of the portfolio's value, when there is a price.
    public var share: Dec?
    public var target: Dec
    /// Milliseconds since the last fresh book, and since the venue last answered.
    public var marketAge: Int64
    public var venueAge: Int64
    public init(now: Int64, netPnL: Dec, share: Dec?, target: Dec, marketAge: Int64, venueAge: Int64) {
        self.now = now
        self.netPnL = netPnL
        self.share = share
        self.target = target
        self.marketAge = marketAge
        self.venueAge = venueAge
    }
}

/// A change of state, for the log, the alerts and the prompt.
public struct RiskChange: Sendable, Equatable {
    public var from: RiskMode
    public var to: RiskMode
    public var binding: RiskBinding?
    /// The binding that held the instance before, when it is lifted.
    public var lifted: RiskBinding?
}

public enum Risk {
    static let minute: Int64 = 60_000

    /// The local day number of `now` in the zone.
    public static func day(_ now: Int64, timeZone: TimeZone) -> Int64 {
        let offset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(now) / 1000)))
        let local = Int64((Double(now) / 1000).rounded(.down)) + offset
        return local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
    }

    /// The first millisecond of `now`'s local day (for the earlier runs' share of it).
    public static func dayStart(_ now: Int64, timeZone: TimeZone) -> Int64 {
        let d = day(now, timeZone: timeZone)
        let offset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(now) / 1000)))
        return (d * 86_400 - offset) * 1000
    }

    /// Updates the running figures (day, peak) and moves the state; returns the change, if any.
    public static func assess(_ f: RiskFigures, config c: RiskConfig, state s: inout RiskState) -> RiskChange? {
        let today = day(f.now, timeZone: c.timeZone)
        if s.day != today {
            s.day = today
            s.dayOpen = f.netPnL
            if s.carriedDay != today { s.carried = 0 }
        }
        s.peak = Swift.max(s.peak ?? f.netPnL, f.netPnL)
        s.dayPnL = s.carried + f.netPnL - s.dayOpen
        s.drawdown = s.peak! - f.netPnL

        let (halt, reduce) = bindings(f, config: c, state: s)
        var next: (RiskMode, RiskBinding?)
        if s.mode == .halted, let held = s.binding, held.holds {
            // A halt holds until resumed, by hand or after the cooldown when the limits allow.
            next = (.halted, held)
            if s.paused == nil, let after = c.resumeAfter, f.now - s.since >= after {
                // After the cooldown the drawdown counts from here; a daily loss still at its limit holds.
                var trial = s
                trial.peak = f.netPnL
                trial.drawdown = 0
                trial.placements = []
                let (h, r) = bindings(f, config: c, state: trial)
                if h == nil {
                    s = trial
                    next = r.map { (.reducing, $0) } ?? (.active, nil)
                }
            }
        } else {
            next = halt.map { (.halted, $0) } ?? reduce.map { (.reducing, $0) } ?? (.active, nil)
        }
        return move(&s, to: next.0, binding: next.1, at: f.now)
    }

    /// The limits that bind now: the first that halts, and the first that reduces.
    static func bindings(_ f: RiskFigures, config c: RiskConfig, state s: RiskState) -> (halt: RiskBinding?, reduce: RiskBinding?) {
        var halt: RiskBinding?, reduce: RiskBinding?
        if let paused = s.paused { halt = paused }
        if halt == nil, let deadman = c.deadman {
            if f.venueAge > deadman {
                halt = RiskBinding(RiskBinding.deadman, "no answer from MEXC for \(seconds(f.venueAge)) (risk.deadman \(seconds(deadman)))")
            } else if f.marketAge > deadman {
                halt = RiskBinding(RiskBinding.deadman, "no fresh market data for \(seconds(f.marketAge)) (risk.deadman \(seconds(deadman)))")
            }
        }
        if let limit = c.dailyLoss {
            let loss = -s.dayPnL
            if loss >= limit {
                halt = halt ?? RiskBinding("risk.daily_loss", "today's net P&L \(money(s.dayPnL)) reached the daily loss limit of \(money(limit))")
            } else if loss >= limit * c.reduceAt {
                reduce = reduce ?? RiskBinding("risk.daily_loss", "today's net P&L \(money(s.dayPnL)) is past \(Steps.pct(c.reduceAt)) of the daily loss limit of \(money(limit))")
            }
        }
        if let limit = c.drawdown {
            if s.drawdown >= limit {
                halt = halt ?? RiskBinding("risk.drawdown", "net P&L \(money(f.netPnL)) is \(money(s.drawdown)) below its peak \(money(s.peak ?? 0)), at the drawdown limit of \(money(limit))")
            } else if s.drawdown >= limit * c.reduceAt {
                reduce = reduce ?? RiskBinding("risk.drawdown", "net P&L \(money(f.netPnL)) is \(money(s.drawdown)) below its peak, past \(Steps.pct(c.reduceAt)) of the drawdown limit of \(money(limit))")
            }
        }
        if let limit = c.inventoryDeviation, let share = f.share {
            let deviation = (share - f.target).magnitude
            if deviation > limit {
                reduce = reduce ?? RiskBinding("risk.inventory_deviation", "inventory share \(Steps.pct(share.rounded(places: 6))) is \(Steps.pct(deviation.rounded(places: 6))) from the target \(Steps.pct(f.target)), beyond \(Steps.pct(limit))")
            }
        }
        return (halt, reduce)
    }

    static func move(_ s: inout RiskState, to mode: RiskMode, binding: RiskBinding?, at now: Int64) -> RiskChange? {
        let old = s.binding
        guard mode != s.mode || binding?.limit != old?.limit else {
            s.binding = binding     // the figures in words stay current
            return nil
        }
        let change = RiskChange(from: s.mode, to: mode, binding: binding, lifted: old)
        s.mode = mode
        s.binding = binding
        s.since = now
        return change
    }

    /// Placing `count` orders now: refused (and the instance halted) when the minute would hold
    /// more than `risk.order_rate`.
    public static func admit(_ count: Int, now: Int64, config c: RiskConfig, state s: inout RiskState) -> RiskChange? {
        s.placements.removeAll { $0 <= now - minute }
        guard count > 0 else { return nil }
        if let rate = c.orderRate, s.placements.count + count > rate {
            let b = RiskBinding("risk.order_rate", "\(s.placements.count) orders placed in the last minute and \(count) more due, above risk.order_rate \(rate) a minute")
            return move(&s, to: .halted, binding: b, at: now)
        }
        s.placements.append(contentsOf: repeatElement(now, count: count))
        return nil
    }

    /// Halts by hand (`pause`, `halt all`).
    public static func pause(_ s: inout RiskState, binding: RiskBinding, at now: Int64) -> RiskChange? {
        s.paused = binding
        return move(&s, to: .halted, binding: binding, at: now)
    }

    /// Lifts a halt by hand. The drawdown counts again from the current net P&L. Refused, with
    /// the state unchanged, while today's loss is still at its limit: returns why.
    public static func resume(_ s: inout RiskState, figures f: RiskFigures?, config c: RiskConfig, at now: Int64) -> Result<RiskChange?, RiskRefusal> {
        var next = s
        next.paused = nil
        if let f {
            next.peak = f.netPnL
            next.drawdown = 0
        }
        next.placements = []
        if let f, let halt = bindings(f, config: c, state: next).halt, halt.limit == "risk.daily_loss" {
            return .failure(RiskRefusal(message: "\(halt.message); it resumes when the day ends in \(c.timeZone.identifier), or when risk.daily_loss is raised or set off"))
        }
        next.mode = .active
        next.binding = nil
        let change = s.mode == .active ? nil : RiskChange(from: s.mode, to: .active, binding: nil, lifted: s.binding)
        next.since = now
        s = next
        return .success(change)
    }

    /// The decision as the state allows it: halted cancels everything and places nothing;
    /// reducing keeps only the side that brings the inventory back; `risk.open_notional` drops
    /// the deeper levels that would take the open orders' value above it. The stop loss's own
    /// orders and its stop are left as they are.
    public static func filter(_ d: inout Decision, state s: RiskState, config c: RiskConfig, live: [LiveOrder],
                              share: Dec?, target: Dec) {
        switch s.mode {
        case .halted:
            let reason = "halted: \(s.binding?.message ?? "by hand")"
            var cancelling = Set(d.cancels.map(\.clientId))
            for o in live where !o.cancelling && !cancelling.contains(o.clientId) {
                d.cancels.append(CancelRequest(clientId: o.clientId, reason: reason))
                cancelling.insert(o.clientId)
            }
            for o in d.buys + d.sells { d.dropped.append(DroppedOrder(order: o, reason: reason)) }
            d.buys = []
            d.sells = []
            d.place = false
            d.renewals = []
            return
        case .reducing:
            // Too much base: only sells; too little: only buys; on the target: neither.
            let keep: Side? = share.map { $0 > target ? .sell : $0 < target ? .buy : nil } ?? nil
            let reason = "reducing: \(s.binding?.message ?? "")"
            let cancelling = Set(d.cancels.map(\.clientId))
            for o in live where o.side != keep && !o.cancelling && !cancelling.contains(o.clientId) {
                d.cancels.append(CancelRequest(clientId: o.clientId, reason: reason))
            }
            d.renewals.removeAll { $0.side != keep }
            if keep != .buy { for o in d.buys { d.dropped.append(DroppedOrder(order: o, reason: reason)) }; d.buys = [] }
            if keep != .sell { for o in d.sells { d.dropped.append(DroppedOrder(order: o, reason: reason)) }; d.sells = [] }
        case .active:
            break
        }
        if let limit = c.openNotional {
            let cancelling = Set(d.cancels.map(\.clientId))
            var open: Dec = 0
            for o in live where !o.cancelling && !cancelling.contains(o.clientId) { open += o.amount * o.price }
            var buys: [ProposedOrder] = [], sells: [ProposedOrder] = []
            // Innermost first, alternating sides, so the tightest quotes on both sides stay.
            for level in 0..<Swift.max(d.buys.count, d.sells.count) {
                for (side, list) in [(Side.buy, d.buys), (.sell, d.sells)] where level < list.count {
                    let o = list[level], value = o.amount * o.price
                    if open + value <= limit {
                        open += value
                        if side == .buy { buys.append(o) } else { sells.append(o) }
                    } else {
                        d.dropped.append(DroppedOrder(order: o, reason: "open orders would be worth \(money(open + value)), above risk.open_notional \(money(limit))"))
                    }
                }
            }
            d.buys = buys
            d.sells = sells
        }
        if d.buys.isEmpty && d.sells.isEmpty { d.place = false }
    }

    static func money(_ d: Dec) -> String { d.rounded(places: 8).description }
    static func seconds(_ ms: Int64) -> String { "\(ms / 1000) s" }
}

public struct RiskRefusal: Error, Sendable, Equatable {
    public var message: String
}
