import Foundation
import MMCore
import MMEngine
import MMStorage
import MMStrategy

/// P&L of a run against simply holding what it started with.
struct PnL {
    var valueNow: Dec
    var hold: Dec
    /// valueNow − hold (fees already paid are in it).
    var total: Dec
    var fees: Dec
    /// Matched round trips: matched quantity × (average sell − average buy), less fees.
    var realized: Dec
    var unrealized: Dec
    var returnFraction: Dec
}

/// How a pair's numbers are shown on screen: prices at its tick, amounts at its step, quote
/// values at the tick's decimals (two at least), each asset by its name. JSON keeps full precision.
struct Readable {
    var base: String
    var quote: String
    var pricePlaces: Int
    var amountPlaces: Int
    var quotePlaces: Int

    init(pair: String, rules: MarketRules?) {
        let assets = Units.assets(of: pair)
        base = assets?.base ?? "base"
        quote = assets?.quote ?? "quote"
        pricePlaces = rules?.tick.decimalPlaces ?? 8
        amountPlaces = rules?.step.decimalPlaces ?? 8
        quotePlaces = min(8, max(2, pricePlaces))
    }

    func price(_ d: Dec) -> String { Units.readable(d, places: pricePlaces) }
    /// A mid may fall between two ticks: then one more decimal.
    func mid(_ d: Dec) -> String { Units.readable(d, places: d.decimalPlaces > pricePlaces ? pricePlaces + 1 : pricePlaces) }
    func amount(_ d: Dec) -> String { Units.readable(d, places: amountPlaces) }
    func value(_ d: Dec) -> String { Units.readable(d, places: quotePlaces) }
    func signedValue(_ d: Dec) -> String { (d.isNegative ? "" : "+") + value(d) }
    /// A quote value with the asset's name: `6,012.34 USDT`.
    func money(_ d: Dec) -> String { value(d) + " " + quote }
}

/// Text and JSON for status, orders, fills and the log.
enum StatusView {
    /// The state of this process's runner if it has one, else how the last stored run ended.
    static func state(_ runState: RunState?, lastRun: RunRecord?, risk: RiskMode? = nil) -> String {
        // A running instance that the risk supervisor holds shows that first.
        if let risk, risk != .active, runState == .running || runState == .waiting { return risk.rawValue }
        if let runState { return runState.rawValue }
        switch lastRun?.endState {
        case "stopped_by_stop_loss": return "stopped_by_stop_loss"
        case "failed": return "failed"
        default: return "stopped"
        }
    }

    static func style(_ state: String) -> Style {
        switch state {
        case "running": .green
        case "waiting", "reducing": .yellow
        case "stopped_by_stop_loss", "failed", "halted": .red
        default: .dim
        }
    }

    static func signed(_ d: Dec) -> String { d.isNegative ? d.description : "+\(d)" }

    static func pnl(_ r: InstanceReport) -> PnL? {
        guard let snap = r.snapshot, let mid = snap.book.mid else { return nil }
        let base = snap.balances.base.total, quote = snap.balances.quote.total
        let now = base * mid + quote
        let hold = r.startBase * mid + r.startQuote
        let t = r.tally
        let (fees, bought, boughtValue, sold, soldValue) = (t.fees, t.bought, t.boughtValue, t.sold, t.soldValue)
        let matched = min(bought, sold)
        var realized = -fees
        if matched.isPositive {
            realized += matched * (soldValue.divided(by: sold, scale: 12) - boughtValue.divided(by: bought, scale: 12))
        }
        let total = now - hold
        return PnL(valueNow: now, hold: hold, total: total, fees: fees, realized: realized.rounded(places: 8),
                   unrealized: (total - realized).rounded(places: 8),
                   returnFraction: hold.isPositive ? total.divided(by: hold, scale: 8) : 0)
    }

    static func pnlJSON(_ p: PnL) -> JSON {
        .object([("realized", .string(p.realized.description)), ("unrealized", .string(p.unrealized.description)),
                 ("fees", .string(p.fees.description)), ("total", .string(p.total.description)),
                 ("value", .string(p.valueNow.description)), ("hold_value", .string(p.hold.description)),
                 ("return", .string(p.returnFraction.description))])
    }

    static func orderJSON(_ o: TrackedOrder, hanging: Bool) -> JSON {
        .object([("side", .string(o.side.rawValue)), ("price", .string(o.price.description)), ("amount", .string(o.remaining.description)),
                 ("client_id", .string(o.clientId)), ("level", .int(o.level)), ("hanging", .bool(hanging))])
    }

    static func balanceJSON(_ b: AssetBalance) -> JSON {
        .object([("total", .string(b.total.description)), ("available", .string(b.available.description))])
    }

    static func json(_ r: InstanceRecord, settings s: Settings, state: String, report: InstanceReport?, pnl: PnL?, fills: Int) -> JSON {
        var fields: [(String, JSON)] = [("id", .int(r.id)), ("name", .string(r.name)), ("pair", .string(s.pair)),
                                        ("venue", .string(s.venue)), ("state", .string(state))]
        fields.append(("orders", .array((report?.orders ?? []).map { orderJSON($0, hanging: report?.hanging.contains($0.clientId) ?? false) })))
        fields.append(("fills", .int(fills)))
        if let b = report?.snapshot?.balances {
            fields.append(("balances", .object([("base", balanceJSON(b.base)), ("quote", balanceJSON(b.quote))])))
        } else {
            fields.append(("balances", .null))
        }
        fields.append(("pnl", pnl.map(pnlJSON) ?? .null))
        if let report, let source = report.snapshot?.source {
            fields.append(("data", .object([("source", .string(source)), ("stale", .bool(report.stale)), ("throttled", .bool(report.throttled))])))
        }
        if let report {
            let risk = report.risk
            fields.append(("risk", .object([
                ("state", .string(risk.mode.rawValue)),
                ("limit", risk.binding.map { .string($0.limit) } ?? .null),
                ("message", risk.binding.map { .string($0.message) } ?? .null),
                ("since", risk.mode == .active ? .null : .string(isoTime(risk.since))),
                ("day_pnl", .string(risk.dayPnL.description)),
                ("drawdown", .string(risk.drawdown.description)),
            ])))
            fields.append(("contact", .object([("lost", .bool(report.contactLost != nil)),
                                               ("since", report.contactLostAt.map { .string(isoTime($0)) } ?? .null),
                                               ("reason", report.contactLost.map { .string($0) } ?? .null)])))
            fields.append(("orphans", .int(report.orphans)))
            fields.append(("storage", .object([("failing", report.storageFailure.map { .string($0) } ?? .null),
                                               ("unsaved_fills", .int(report.unsavedFills))])))
        }
        return .object(fields)
    }

    /// `storedFills`: the last run's fill count, read from the store for an instance this engine has not run.
    static func detail(_ r: InstanceRecord, settings s: Settings, report: InstanceReport?, lastRun: RunRecord?,
                       storedFills: Int, now: Int64) -> Output {
        let state = self.state(report?.state, lastRun: lastRun, risk: report?.risk.mode)
        let pnl = report.flatMap { self.pnl($0) }
        let fillCount = report?.tally.count ?? storedFills
        var out = Output(json: json(r, settings: s, state: state, report: report, pnl: pnl, fills: fillCount))
        out.line(Line([("instance \(r.id) '\(r.name)'", .bold), (" · \(s.venue) \(s.pair) · ", .plain), (state, style(state))]))
        guard let report, let snap = report.snapshot else {
            if let lastRun {
                out.line("last run: \(localTime(lastRun.startedAt)) to \(lastRun.stoppedAt.map(localTime) ?? "-"), \(fillCount) fill\(fillCount == 1 ? "" : "s"), ended \(lastRun.endState ?? "-")")
            } else {
                out.line("not started yet; 'start \(r.id)' starts it")
            }
            return out
        }
        let mid = snap.book.mid
        let n = Readable(pair: s.pair, rules: report.rules)
        out.line(Line([("market  ", .bold), ("bid \(snap.book.bestBid.map(n.price) ?? "-")  ask \(snap.book.bestAsk.map(n.price) ?? "-")  mid \(mid.map(n.mid) ?? "-")", .plain)]))
        if let lost = report.contactLost {
            let since = report.contactLostAt.map { " since \(localTime($0)) (\(TimeSpan(milliseconds: max(0, now - $0) / 1000 * 1000)))" } ?? ""
            out.line(Line([("venue   ", .bold), ("no answer from the venue\(since): \(lost); the book, balances and orders below are as last known", .red)]))
        }
        if let source = snap.source {
            // The book's age now: its age when it was read plus the time since.
            let age = Int64((snap.dataAge / .milliseconds(1)).rounded()) + max(0, now - snap.time)
            let when = age < 10_000 ? "\(age) ms ago" : "\(TimeSpan(milliseconds: age / 1000 * 1000)) ago"
            let what = source == "stream" ? "streams (book confirmed \(when))" : "REST polling (the stream is down or off; book read \(when))"
            var notes: [(String, Style)] = [(what, .plain)]
            if report.stale { notes.append(("; stale: quotes cancelled until data is fresh", .red)) }
            if report.throttled { notes.append(("; throttled by the rate limits", .yellow)) }
            out.line(Line([("data    ", .bold)] + notes))
        }
        let risk = report.risk
        if risk.mode != .active {
            let why = risk.binding.map { $0.limit == "pause" || $0.limit == "halt" ? $0.message : "\($0.limit): \($0.message)" } ?? ""
            let what = risk.mode == .halted ? "halted: every order cancelled, nothing placed" : "reducing: only orders that bring the inventory back to its target"
            out.line(Line([("risk    ", .bold), ("\(what) (\(why)) since \(localTime(risk.since))", style(risk.mode.rawValue))]))
        } else if report.riskLimits {
            out.line(Line([("risk    ", .bold), ("active; today's net P&L \(signed(risk.dayPnL.rounded(places: 4))), drawdown from the peak \(risk.drawdown.rounded(places: 4))", .plain)]))
        }
        if let failure = report.storageFailure {
            out.line(Line([("storage ", .bold), ("the database refuses writes (\(failure)); quotes cancelled, \(report.unsavedFills) fill(s) held in memory", .red)]))
        }
        if report.orphans > 0 {
            out.line(Line([("orphans ", .bold), ("\(report.orphans) order\(report.orphans == 1 ? "" : "s") of an earlier run still open on the venue; cancelling", .yellow)]))
        }
        var balances = Table(["ASSET", "TOTAL", "AVAILABLE", "VALUE", "SHARE", "TARGET"], align: [.left, .right, .right, .right, .right, .right])
        if let mid {
            let baseValue = snap.balances.base.total * mid, quoteValue = snap.balances.quote.total
            let total = baseValue + quoteValue
            func share(_ v: Dec) -> String { total.isPositive ? Units.renderPercent(v.divided(by: total, scale: 4)) : "-" }
            balances.add([n.base, n.amount(snap.balances.base.total), n.amount(snap.balances.base.available),
                          n.value(baseValue), share(baseValue), Units.renderPercent(report.target)])
            balances.add([n.quote, n.value(snap.balances.quote.total), n.value(snap.balances.quote.available),
                          n.value(quoteValue), share(quoteValue), Units.renderPercent(1 - report.target)])
            out.table(balances)
        }
        if report.orders.isEmpty {
            out.line(report.contactLost == nil ? "no open orders" : "no open orders as last known")
        } else {
            if report.contactLost != nil { out.line(Line("orders as last known (the venue does not answer):", .yellow)) }
            var orders = Table(["LEVEL", "SIDE", "PRICE", "DISTANCE", "AMOUNT", "AGE", ""], align: [.right, .left, .right, .right, .right, .right, .left])
            for o in report.orders.sorted(by: { $0.price > $1.price }) {
                let distance = mid.map { m in Units.renderPercent((o.price - m).divided(by: m, scale: 6)) } ?? ""
                orders.add(styled: [("\(o.level)", .plain), (o.side.rawValue, o.side == .buy ? .green : .red), (n.price(o.price), .plain),
                                    (distance, .dim), (n.amount(o.remaining), .plain),
                                    (TimeSpan(milliseconds: max(0, now - o.placedAt) / 1000 * 1000).description, .plain),
                                    (report.hanging.contains(o.clientId) ? "hanging" : "", .yellow)])
            }
            out.table(orders)
        }
        if let pnl {
            out.line(Line([("P&L     ", .bold), (n.signedValue(pnl.total) + " " + n.quote, pnl.total.isNegative ? .red : .green),
                           (" against holding (\(signed((pnl.returnFraction * 100).rounded(places: 4)))%), after fees; realized \(n.signedValue(pnl.realized)), unrealized \(n.signedValue(pnl.unrealized)), fees paid \(n.money(pnl.fees))", .plain)]))
        }
        out.line("fills   \(report.fills) this run")
        if report.state == .waiting {
            let why = report.waitingFor ?? "outside trading hours"
            out.line(Line(why == "outside trading hours" ? "warning: outside trading hours; no orders until the window opens" : "waiting: \(why)", .yellow))
        }
        return out
    }

    // MARK: Log

    static func log(_ events: [EventRecord], json: Bool) -> Output {
        var out = Output(json: .object([("events", .array(events.map {
            .object([("time", .string(isoTime($0.time))), ("level", .string($0.level)), ("kind", .string($0.kind)),
                     ("message", .string($0.message))])
        }))]))
        if events.isEmpty && !json { out.line(Line("no log entries", .dim)) }
        for e in events {
            let style: Style = switch e.level {
            case "success": .green
            case "warning": .yellow
            case "error": .red
            default: .plain
            }
            out.line(Line([(localTime(e.time) + " ", .dim), (pad(e.level, 8), style), (e.message, style == .plain ? .plain : style)]))
        }
        return out
    }

    static func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(1, n - s.count)) }

    /// Local time with milliseconds, for screens.
    static func localTime(_ ms: Int64) -> String { TimeText.local(ms) }

    /// UTC, ISO 8601 with milliseconds, for JSON.
    static func isoTime(_ ms: Int64) -> String { TimeText.iso(ms) }
}
