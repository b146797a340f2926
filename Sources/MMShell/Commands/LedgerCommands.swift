import Foundation
import MMCore
import MMEngine
import MMSim
import MMStorage
import MMStrategy

extension Commands {
    static let ledgerCommands: [CommandSpec] = [
        CommandSpec("pnl", summary: "what an instance made, after fees, from its stored fills: over a window, a run or its lifetime",
                    args: [ArgSpec("ID", .instanceOrAll, optional: true)],
                    flags: [FlagSpec("--since", value: ("DURATION", .text), "the last DURATION (24h, 7d, 30m)"),
                            FlagSpec("--from", value: ("TIME", .text), "from TIME: 2026-12-01, 2026-12-01T09:00 (local) or …Z (UTC)"),
                            FlagSpec("--to", value: ("TIME", .text), "up to TIME, in the same forms"),
                            FlagSpec("--run", value: ("N", .integer(1...1_000_000)), "the instance's Nth run only (1 is its first)"),
                            FlagSpec("--by", value: ("PERIOD", .choice(["hour", "day", "week"])), "a row per hour, day or week (local time)")],
                    examples: ["pnl", "pnl 1 --since 24h", "pnl all --by day", "pnl btc --run 3 --json"],
                    details: "Computed from the stored fills, so it covers every run and survives restarts. Everything is valued at one mid: the market's now while the instance runs, else the last mid it saw. Net P&L = realized + unrealized − fees = spread capture + inventory − fees = the value now less the value of holding what was there before the fills, at the same mid. Realized is by average cost; unrealized is the position the fills left, at the mid, less its cost. Spread capture is what each fill earned against the mid at its time (buys below it, sells above it); inventory is what holding what the fills bought or sold earned as the mid moved from each fill to now. Fees paid in base are valued at the mid. Drawdown, Sharpe and Sortino come from the P&L snapshots (one a minute): a period's return is the change of net P&L over the value of holding; Sharpe = mean return / its standard deviation × √(periods a year: 8,760 hours or 365 days); Sortino uses the root mean square of the negative returns instead.",
                    showsData: true) { inv, shell in try await shell.pnl(inv) },
        CommandSpec("export", summary: "write an instance's fills, P&L snapshots or log to a CSV file",
                    args: [ArgSpec("WHAT", .choice(["fills", "pnl", "events"])), ArgSpec("ID", .instance), ArgSpec("FILE", .file(extensions: ["csv"]))],
                    flags: [FlagSpec("--since", value: ("DURATION", .text), "the last DURATION only"),
                            FlagSpec("--from", value: ("TIME", .text), "from TIME"), FlagSpec("--to", value: ("TIME", .text), "up to TIME"),
                            FlagSpec("--run", value: ("N", .integer(1...1_000_000)), "the Nth run only"),
                            FlagSpec("--force", "overwrite FILE if it exists")],
                    examples: ["export fills 1 fills.csv", "export pnl btc pnl.csv --since 7d", "export events 1 log.csv --run 2"],
                    details: "RFC 4180 CSV with a header row and stable columns, exact decimals and UTC times (ISO 8601). fills: as 'fills --csv'. pnl: time, mid, base, quote, value, hold_value, net (value less holding the run's starting balances), fees, run — one row a minute while running. events: time, level, kind, message. The file is written whole or not at all.") { inv, shell in
            try await shell.export(inv)
        },
    ]
}

extension Shell {
    /// The window a ledger command covers, in ms (inclusive), and its words; with `--run N`, that
    /// run's id (reads then take that run alone: a backtest's times overlap the real runs').
    func ledgerWindow(_ inv: Invocation, instance r: InstanceRecord) async throws(ShellError) -> (from: Int64, to: Int64, words: String, run: Int64?) {
        let now = api.clock.now()
        if let n = inv["--run"].flatMap(Int.init) {
            if inv["--since"] != nil || inv["--from"] != nil || inv["--to"] != nil {
                throw .usage("\(inv.spec.name): --run covers one run; it does not go with --since, --from or --to")
            }
            let runs = try await api.runs(instance: r.id)
            guard n <= runs.count else {
                throw .failure("instance \(describe(r)) has \(runs.count) run\(runs.count == 1 ? "" : "s"); --run takes 1 to \(max(runs.count, 1))")
            }
            let run = runs[n - 1]
            let kind = run.backtest == nil ? "" : run.endState == "backtest_partial" ? ", a partial backtest" : ", a backtest"
            return (run.startedAt, run.stoppedAt ?? now,
                    "run \(n) (\(TimeText.local(run.startedAt).prefix(16)) to \(run.stoppedAt.map { String(TimeText.local($0).prefix(16)) } ?? "now")\(kind))", run.id)
        }
        var from: Int64 = 0, to = now
        var words = "lifetime"
        if let text = inv["--since"] {
            if inv["--from"] != nil { throw .usage("\(inv.spec.name): give --since or --from, not both") }
            guard let span = Units.parseDuration(text), span.milliseconds > 0 else {
                throw .usage("\(inv.spec.name): --since takes a duration such as 30m, 24h or 7d, not '\(text)'")
            }
            from = now - span.milliseconds
            words = "the last \(span)"
        }
        if let text = inv["--from"] {
            guard let t = TimeText.parse(text) else {
                throw .usage("\(inv.spec.name): --from takes a time such as 2026-12-01, 2026-12-01T09:00 or 2026-12-01T09:00Z, not '\(text)'")
            }
            from = t
            words = "from \(TimeText.local(t).prefix(16))"
        }
        if let text = inv["--to"] {
            guard let t = TimeText.parse(text) else {
                throw .usage("\(inv.spec.name): --to takes a time such as 2026-12-01, 2026-12-01T09:00 or 2026-12-01T09:00Z, not '\(text)'")
            }
            guard t >= from else { throw .usage("\(inv.spec.name): --to is before the window's start") }
            to = t
            words += " to \(TimeText.local(t).prefix(16))"
        }
        return (from, to, words, nil)
    }

    /// The mid an instance's fills are valued at: the market's now while it runs, else the last it saw.
    func mark(_ r: InstanceRecord, last: LedgerFill?, run: Int64? = nil) async throws(ShellError) -> (mid: Dec, words: String)? {
        // A backtest is valued at the last mid of its own replay.
        if let run, let runRecord = (try await api.runs(instance: r.id)).first(where: { $0.id == run }), runRecord.backtest != nil {
            if let last = (try await api.samples(instance: r.id, from: Int64.min, to: Int64.max, limit: 1, run: run)).last {
                return (last.mid, "the replay's last mid, at \(TimeText.iso(last.time).prefix(19))Z")
            }
            return last.map { ($0.mid ?? $0.price, "its last fill's mid") }
        }
        if let report = await api.report(r.id), report.state == .running || report.state == .waiting,
           let mid = report.snapshot?.book.mid { return (mid, "now") }
        if let last = (try await api.lastMid(instance: r.id)), let mid = Dec(last.mid) {
            return (mid, "the last mid it saw, at \(TimeText.local(last.time).prefix(19))")
        }
        if let f = last { return (f.mid ?? f.price, "its last fill's mid") }
        return nil
    }

    /// Net P&L over time from the P&L snapshots of the runs in the window, each run's counted on
    /// from where the earlier ones ended.
    func netSeries(_ r: InstanceRecord, from: Int64, to: Int64, run: Int64? = nil) async throws(ShellError) -> [(time: Int64, net: Dec, hold: Dec)] {
        let runs = try await api.runs(instance: r.id).filter { run == nil ? $0.backtest == nil : $0.id == run }
        let snapshots = try await api.pnlSnapshots(instance: r.id, run: run)
        var series: [(time: Int64, net: Dec, hold: Dec)] = []
        var carried: Dec = 0
        for run in runs {
            let end = run.stoppedAt ?? Int64.max
            var last: Dec?
            var base: Dec?
            for s in snapshots where s.time >= run.startedAt && s.time <= end {
                guard let value = Dec(s.value), let hold = Dec(s.hold) else { continue }
                let net = value - hold
                guard s.time >= from && s.time <= to else { if s.time < from { base = net }; continue }
                series.append((s.time, carried + net - (base ?? 0), hold))
                last = net - (base ?? 0)
            }
            if let last { carried += last }
        }
        return series
    }

    func pnl(_ inv: Invocation) async throws(ShellError) -> Output {
        let all = inv["ID"]?.lowercased() == "all"
        let by = inv["--by"].flatMap(Ledger.BucketSize.init(rawValue:))
        var out = Output()
        var items: [JSON] = []
        var totals: [String: (net: Dec, fees: Dec, fills: Int)] = [:]
        let offset = TimeZone.current.secondsFromGMT()
        for r in try await targets(inv) {
            let settings = try await self.settings(of: r.id)
            let window = try await ledgerWindow(inv, instance: r)
            let assets = Units.assets(of: settings.pair) ?? (base: "base", quote: "quote")
            let tally = try await api.ledgerTally(FillQuery(instance: r.id, since: window.from, until: window.to, run: window.run),
                                                  baseAsset: assets.base, by: by, offset: offset)
            let n = try await readable(r.id)
            guard let mark = try await mark(r, last: tally.whole.last, run: window.run) else {
                if all { continue }
                out.line("instance \(describe(r)) has no fills and no market price yet; 'start \(r.id)' starts it")
                out.json = .object([("id", .int(r.id)), ("fills", .int(0))])
                return out
            }
            let s = tally.whole.summary(mark: mark.mid)
            let periods = tally.buckets.map { (start: $0.start, summary: $0.fills.summary(mark: mark.mid)) }
            let risk = Ledger.risk(try await netSeries(r, from: window.from, to: window.to, run: window.run), period: by == .day || by == .week ? .day : .hour)
            var t = totals[assets.quote] ?? (0, 0, 0)
            t.net += s.net; t.fees += s.fees; t.fills += s.fills
            totals[assets.quote] = t

            var fields = Self.summaryJSON(s)
            fields.insert(contentsOf: [("id", .int(r.id)), ("name", .string(r.name)), ("pair", .string(settings.pair)),
                                       ("base_asset", .string(assets.base)), ("quote_asset", .string(assets.quote)),
                                       ("from", .string(TimeText.iso(window.from))), ("to", .string(TimeText.iso(window.to)))], at: 0)
            fields.append(("max_drawdown", .string(risk.maxDrawdown.description)))
            fields.append(("sharpe", risk.sharpe.map { .string(String(format: "%.4f", $0)) } ?? .null))
            fields.append(("sortino", risk.sortino.map { .string(String(format: "%.4f", $0)) } ?? .null))
            if let by {
                fields.append(("by", .string(by.rawValue)))
                fields.append(("periods", .array(periods.map { b in
                    .object([("start", .string(TimeText.iso(b.start)))] + Self.summaryJSON(b.summary))
                })))
            }
            items.append(.object(fields))

            if !out.blocks.isEmpty { out.line("") }
            out.line(Line([("instance \(r.id) '\(r.name)'", .bold),
                           (" · \(settings.venue) \(settings.pair) · \(window.words) · valued at \(n.mid(mark.mid)) (\(mark.words))", .plain)]))
            out.line(Line([("net P&L  ", .bold), (n.signedValue(s.net) + " " + assets.quote, s.net.isNegative ? .red : .green), (" after fees", .dim)]))
            out.line("  realized \(n.signedValue(s.realized)), unrealized \(n.signedValue(s.unrealized)), fees \(n.value(s.fees))"
                     + (s.feesBase.isZero ? "" : " (\(n.amount(s.feesBase)) \(assets.base) of it in base)"))
            out.line("  spread capture \(n.signedValue(s.spreadCapture)), inventory \(n.signedValue(s.inventory))")
            let buys = s.averageBuy.map { " at \(n.price($0))" } ?? "", sells = s.averageSell.map { " at \(n.price($0))" } ?? ""
            out.line("fills    \(s.fills): \(s.buys) buy\(s.buys == 1 ? "" : "s")\(buys), \(s.sells) sell\(s.sells == 1 ? "" : "s")\(sells)"
                     + (s.makerShare.map { ", maker \(Units.renderPercent($0.rounded(places: 4)))" } ?? ""))
            out.line("volume   \(n.amount(s.volumeBase)) \(assets.base), \(n.money(s.volumeQuote))")
            if !s.position.isZero {
                out.line("position \(s.position.isNegative ? "" : "+")\(n.amount(s.position)) \(assets.base) against before the fills, at an average cost of \(s.averageCost.map(n.price) ?? "-")")
            }
            let ratios = [risk.sharpe.map { String(format: "Sharpe %.2f", $0) }, risk.sortino.map { String(format: "Sortino %.2f", $0) }]
                .compactMap { $0 }.joined(separator: ", ")
            out.line("risk     max drawdown \(n.money(risk.maxDrawdown))" + (ratios.isEmpty ? "" : "; \(by == .day || by == .week ? "daily" : "hourly") \(ratios)"))
            if let by {
                var table = Table([by.rawValue.uppercased(), "FILLS", "BOUGHT", "SOLD", "VOLUME", "CAPTURE", "INVENTORY", "FEES", "NET"],
                                  align: [.left] + Array(repeating: .right, count: 8))
                for b in periods {
                    let x = b.summary
                    table.add(styled: [(String(TimeText.local(b.start).prefix(by == .hour ? 16 : 10)), .plain), ("\(x.fills)", .plain),
                                       (n.amount(x.boughtBase), .plain), (n.amount(x.soldBase), .plain), (n.value(x.volumeQuote), .plain),
                                       (n.signedValue(x.spreadCapture), .plain), (n.signedValue(x.inventory), .plain),
                                       (n.value(x.fees), .plain), (n.signedValue(x.net), x.net.isNegative ? .red : .green)])
                }
                out.table(table)
            }
        }
        if all {
            let totalJSON: [JSON] = totals.keys.sorted().map { asset in
                .object([("quote_asset", .string(asset)), ("net", .string(totals[asset]!.net.description)),
                         ("fees", .string(totals[asset]!.fees.description)), ("fills", .int(totals[asset]!.fills))])
            }
            out.json = .object([("instances", .array(items)), ("totals", .array(totalJSON))])
            if items.isEmpty { out.line("no instance has fills or a market price yet") }
            for asset in totals.keys.sorted() {
                let t = totals[asset]!
                out.line("")
                out.line(Line([("all instances in \(asset)  ", .bold), (Units.readable(t.net, places: 2) + " " + asset, t.net.isNegative ? .red : .green),
                               (" net after \(Units.readable(t.fees, places: 2)) of fees, \(t.fills) fills", .plain)]))
            }
        } else if let item = items.first {
            out.json = item
        }
        return out
    }

    func export(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let window = try await ledgerWindow(inv, instance: r)
        let url = resolvePath(inv["FILE"]!)
        if FileManager.default.fileExists(atPath: url.path) && !inv.has("--force") {
            throw .failure("export: \(url.path) exists; add --force to overwrite it")
        }
        let text: String, count: Int
        switch inv["WHAT"]! {
        case "fills":
            let fills = try await api.fills(instance: r.id, since: window.from, until: window.to, run: window.run)
            (text, count) = (try await fillsCSV(r, fills), fills.count)
        case "pnl":
            let runs = try await api.runs(instance: r.id)
            let rows = try await api.pnlRows(instance: r.id, from: window.from, to: window.to, run: window.run)
            var lines = [["time", "mid", "base", "quote", "value", "hold_value", "net", "fees", "run"]]
            for row in rows {
                let number = window.run.flatMap { id in runs.firstIndex { $0.id == id } }
                    ?? runs.indices.last { runs[$0].backtest == nil && runs[$0].startedAt <= row.time }
                let run = number.map { String($0 + 1) } ?? ""
                let net = (Dec(row.value).flatMap { v in Dec(row.hold).map { v - $0 } })?.description ?? ""
                lines.append([TimeText.iso(row.time), row.mid, row.base, row.quote, row.value, row.hold, net, row.fees, run])
            }
            (text, count) = (CSV.text(lines), rows.count)
        default:
            let events = try await api.events(instance: r.id, since: window.from).filter { $0.time <= window.to }
            (text, count) = (CSV.text([["time", "level", "kind", "message"]] + events.map { [TimeText.iso($0.time), $0.level, $0.kind, $0.message] }),
                             events.count)
        }
        if dryRun { return .message("would write \(count) row\(count == 1 ? "" : "s") to \(url.path)") }
        try writeAtomically(text, to: url, mode: 0o644)
        return .message("wrote \(count) row\(count == 1 ? "" : "s") of \(inv["WHAT"]!) of instance \(describe(r)) to \(url.path)")
    }

    static func summaryJSON(_ s: LedgerSummary) -> [(String, JSON)] {
        func d(_ x: Dec) -> JSON { .string(x.description) }
        return [("mark", d(s.mark)), ("net", d(s.net)), ("realized", d(s.realized)), ("unrealized", d(s.unrealized)),
                ("fees", d(s.fees)), ("fees_base", d(s.feesBase)), ("fees_quote", d(s.feesQuote)),
                ("spread_capture", d(s.spreadCapture)), ("inventory", d(s.inventory)), ("fills", .int(s.fills)),
                ("buys", .int(s.buys)), ("sells", .int(s.sells)), ("bought_base", d(s.boughtBase)), ("bought_quote", d(s.boughtQuote)),
                ("sold_base", d(s.soldBase)), ("sold_quote", d(s.soldQuote)), ("volume_base", d(s.volumeBase)), ("volume_quote", d(s.volumeQuote)),
                ("average_buy", s.averageBuy.map(d) ?? .null), ("average_sell", s.averageSell.map(d) ?? .null),
                ("maker_share", s.makerShare.map(d) ?? .null), ("position", d(s.position)), ("average_cost", s.averageCost.map(d) ?? .null)]
    }
}
