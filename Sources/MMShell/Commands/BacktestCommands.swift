import Foundation
import MMCore
import MMEngine
import MMRecording
import MMStorage
import MMStrategy

extension Commands {
    static let backtestCommands: [CommandSpec] = [
        CommandSpec("record", summary: "recordings of a market: what a file holds",
                    args: [ArgSpec("ACTION", .choice(["info"])), ArgSpec("FILE", .file(extensions: ["mmrec"]))],
                    examples: ["record info btc.mmrec", "record info btc.mmrec --json"],
                    details: "A recording holds every frame MEXC sent, as received, with its receive time: the pair's exchangeInfo, the REST depth snapshots, the depth, deals and book-ticker stream frames, and the gaps where the streams were lost. 'mmsh sim record' writes one of the simulated market. info shows the pair, source, span, frames by kind, gaps and size.",
                    showsData: true) { inv, shell in try await shell.recordInfo(inv) },
        CommandSpec("backtest", summary: "run an instance's settings over a recording, with the code that trades, and store the run",
                    args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("--data", value: ("FILE", .file(extensions: ["mmrec"])), "the recording to replay (required)"),
                            FlagSpec("--from", value: ("TIME", .text), "start at TIME: 2026-12-01T09:00 (local) or …Z (UTC); default its start"),
                            FlagSpec("--to", value: ("TIME", .text), "end at TIME; default its end"),
                            FlagSpec("--latency", value: ("DURATION", .text), "each request's round trip (default 0ms; 20ms is typical)"),
                            FlagSpec("--set", value: ("KEY=VALUE", .text), "a setting for this backtest only (repeatable)")],
                    examples: ["backtest 1 --data btc.mmrec", "backtest btc --data btc.mmrec --latency 20ms --set spread.bid=0.05% --set levels.count=3",
                               "backtest 1 --data btc.mmrec --from 2026-12-01T09:00Z --to 2026-12-01T10:00Z --json"],
                    details: "The instance's settings (with --set overrides) run over the recording on a virtual clock, through the same runner and strategy as a live instance: decisions at once on every book change and at least every 500 ms; each order reaches the book after --latency and each cancel takes effect after it; fills come from the paper venue's queue model (an order joins the back of its level and fills when the volume ahead of it has traded, when a trade prints through it, or when the book crosses it); balances start from sim.base and sim.quote, and the maker fee is the recording's. The result is stored as a run of the instance marked as a backtest: 'pnl ID --run N', 'fills ID --run N', 'chart ID pnl --run N' and 'export' show it; windows without --run leave backtests out. The same file, settings and latency give the same fills. Ctrl-C stops it and stores the partial run, marked as such. Across a gap in the recording no order rests.",
                    showsData: true) { inv, shell in try await shell.backtest(inv) },
    ]
}

extension Shell {
    func recordInfo(_ inv: Invocation) async throws(ShellError) -> Output {
        let url = resolvePath(inv["FILE"]!)
        let info: RecordingInfo
        do { info = try RecordingInfo.scan(url.path) } catch { throw .failure(error.message) }
        let m = info.meta
        let spanMs = (info.first.flatMap { f in info.last.map { ($0 - f) / 1000 } }) ?? 0
        let kinds = RecordKind.allCases.filter { info.counts[$0] != nil }
        let iso: (Int64?) -> JSON = { t in t.map { .string(TimeText.iso($0 / 1000)) } ?? .null }
        let frames: [(String, JSON)] = kinds.map { ($0.description, .int(info.counts[$0]!)) }
        let gaps: [JSON] = info.gaps.map { g in .object([("at", iso(g.at)), ("reason", .string(g.reason)), ("until", iso(g.until))]) }
        var fields: [(String, JSON)] = [("file", .string(url.path)), ("format", .int(m.format)), ("pair", .string(m.pair)), ("source", .string(m.source))]
        fields.append(("url", m.url.map(JSON.string) ?? .null))
        fields.append(("depth", .string(m.depth)))
        fields.append(("seed", m.seed.map { .string(String($0)) } ?? .null))
        fields += [("from", iso(info.first)), ("to", iso(info.last)), ("span_ms", .int(Int(spanMs))), ("bytes", .int(info.size)),
                   ("blocks", .int(info.blocks)), ("frames", .object(frames)), ("gaps", .array(gaps))]
        fields.append(("truncated_at", info.truncated.map { .int($0) } ?? .null))
        var out = Output(json: .object(fields))
        out.line(Line([(url.lastPathComponent, .bold), (": \(m.pair) from \(m.source)\(m.url.map { " (\($0))" } ?? "")\(m.seed.map { ", seed \($0)" } ?? ""), depth \(m.depth)", .plain)]))
        if let first = info.first, let last = info.last {
            out.line("span     \(TimeText.iso(first / 1000)) to \(TimeText.iso(last / 1000)) (\(TimeSpan(milliseconds: spanMs / 1000 * 1000)))")
        }
        let total = info.counts.values.reduce(0, +)
        out.line("frames   \(Units.readable(Dec(total), places: 0)): " + kinds.map { "\(Units.readable(Dec(info.counts[$0]!), places: 0)) \($0)" }.joined(separator: ", "))
        let perHour = spanMs > 0 ? " (\(Self.bytes(Int(Double(info.size) * 3_600_000 / Double(spanMs)))) an hour)" : ""
        out.line("size     \(Self.bytes(info.size)) in \(info.blocks) block\(info.blocks == 1 ? "" : "s")\(perHour)")
        if info.gaps.isEmpty { out.line("gaps     none") }
        for g in info.gaps {
            out.line(Line("gap      at \(TimeText.iso(g.at / 1000)): \(g.reason); \(g.until.map { "book back at \(TimeText.iso($0 / 1000))" } ?? "never back")", .yellow))
        }
        if let t = info.truncated {
            out.line(Line("the file ends inside a block at byte \(t) (a crash while recording): it reads up to there", .yellow))
        }
        return out
    }

    static func bytes(_ n: Int) -> String {
        n >= 1 << 30 ? String(format: "%.2f GB", Double(n) / 1e9) : n >= 1 << 20 ? String(format: "%.1f MB", Double(n) / 1e6)
            : n >= 1024 ? String(format: "%.1f kB", Double(n) / 1e3) : "\(n) bytes"
    }

    func backtest(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        guard let data = inv["--data"] else { throw .usage("backtest: --data FILE is required: the recording to replay ('mmsh sim record' or 'record' make one)") }
        let url = resolvePath(data)
        var settings = try await self.settings(of: r.id)
        for item in inv.values("--set") {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw .usage("backtest: --set takes KEY=VALUE, such as spread.bid=0.1%, not '\(item)'") }
            do throws(SettingError) {
                let spec = try Catalog.lookup(kv[0])
                guard !["venue", "pair"].contains(spec.key) else {
                    throw SettingError("\(spec.key) comes from the recording in a backtest; it cannot be set")
                }
                settings.set(spec.key, try spec.parse(kv[1]))
            } catch {
                throw .usage("backtest: --set \(item): \(error.message)")
            }
        }
        func time(_ flag: String) throws(ShellError) -> Int64? {
            guard let text = inv[flag] else { return nil }
            guard let t = TimeText.parse(text) else {
                throw .usage("backtest: \(flag) takes a time such as 2026-12-01, 2026-12-01T09:00 or 2026-12-01T09:00Z, not '\(text)'")
            }
            return t
        }
        let from = try time("--from"), to = try time("--to")
        if let from, let to, to <= from { throw .usage("backtest: --to is not after --from") }
        var latency: Int64 = 0
        if let text = inv["--latency"] {
            guard let span = Units.parseDuration(text), (0...10_000).contains(span.milliseconds) else {
                throw .usage("backtest: --latency takes a duration from 0ms to 10s, such as 20ms, not '\(text)'")
            }
            latency = span.milliseconds
        }
        if dryRun { return .message("would backtest instance \(describe(r)) on \(url.path)") }
        let plan = BacktestPlan(instance: r.id, name: r.name, settings: settings, data: url.path, from: from, to: to,
                                latency: latency, overrides: inv.values("--set"))
        let console = self.console
        let showProgress = console.isTerminal
        let result: BacktestResult
        do {
            result = try await api.backtest(plan, progress: { share in
                guard showProgress else { return }
                let width = 30, done = Int(share * Double(width))
                console.write("\r[\(String(repeating: "#", count: done))\(String(repeating: " ", count: width - done))] \(Int(share * 100))%")
            }, cancelled: { console.interrupted })
        } catch {
            if showProgress { console.write("\r\u{1B}[K") }
            throw APIError(error.kind, "backtest: \(error.message)")
        }
        if showProgress { console.write("\r\u{1B}[K") }
        return try await backtestSummary(r, settings: settings, result: result, plan: plan)
    }

    func backtestSummary(_ r: InstanceRecord, settings: Settings, result: BacktestResult, plan: BacktestPlan) async throws(ShellError) -> Output {
        let runs = try await api.runs(instance: r.id)
        let number = (runs.firstIndex { $0.id == result.run } ?? runs.count - 1) + 1
        let assets = Units.assets(of: settings.pair) ?? (base: "base", quote: "quote")
        let fills = try await api.ledgerTally(FillQuery(instance: r.id, run: result.run), baseAsset: assets.base, by: nil, offset: 0).whole
        let samples = try await api.samples(instance: r.id, from: Int64.min, to: Int64.max, limit: 1, run: result.run)
        let mark = samples.last?.mid ?? fills.last.map { $0.mid ?? $0.price } ?? 0
        let s = fills.summary(mark: mark)
        let snapshots = try await api.pnlRows(instance: r.id, from: Int64.min, to: Int64.max, run: result.run)
        let risk = Ledger.risk(snapshots.compactMap { row in
            guard let v = Dec(row.value), let h = Dec(row.hold) else { return nil }
            return (row.time, v - h, h)
        }, period: .hour)
        let n = try await readable(r.id)
        var fields = Self.summaryJSON(s)
        fields.insert(contentsOf: [("id", .int(r.id)), ("run", .int(number)), ("run_id", .int(Int(result.run))), ("partial", .bool(result.partial)),
                                   ("data", .string(plan.data)), ("from", .string(TimeText.iso(result.from))), ("to", .string(TimeText.iso(result.to))),
                                   ("latency_ms", .int(Int(plan.latency))), ("overrides", .array(plan.overrides.map(JSON.string)))], at: 0)
        fields += [("max_drawdown", .string(risk.maxDrawdown.description)),
                   ("quote_uptime", result.quoteUptime.map { .string(String(format: "%.6f", $0)) } ?? .null),
                   ("events", .int(result.events)), ("decisions", .int(result.decisions)),
                   ("gaps", .int(result.gaps.count)), ("seconds", .string(String(format: "%.3f", result.wallSeconds)))]
        var out = Output(json: .object(fields))
        out.line(Line([("backtest of instance \(r.id) '\(r.name)'", .bold),
                       (" · \(settings.pair) · \(TimeText.iso(result.from).prefix(16))Z to \(TimeText.iso(result.to).prefix(16))Z · latency \(plan.latency)ms → run \(number)", .plain)]))
        if result.partial { out.line(Line("interrupted: a partial result, stored and marked as such", .yellow)) }
        out.line(Line([("net P&L  ", .bold), (n.signedValue(s.net) + " " + assets.quote, s.net.isNegative ? .red : .green), (" after fees", .dim)]))
        out.line("  spread capture \(n.signedValue(s.spreadCapture)), inventory \(n.signedValue(s.inventory)), fees \(n.value(s.fees))")
        out.line("fills    \(s.fills): \(s.buys) buy\(s.buys == 1 ? "" : "s"), \(s.sells) sell\(s.sells == 1 ? "" : "s"); volume \(n.amount(s.volumeBase)) \(assets.base), \(n.money(s.volumeQuote))")
        out.line("risk     max drawdown \(n.money(risk.maxDrawdown)); quote uptime \(result.quoteUptime.map { String(format: "%.1f%%", $0 * 100) } ?? "-")")
        out.line("replay   \(Units.readable(Dec(result.events), places: 0)) events, \(Units.readable(Dec(result.decisions), places: 0)) decisions in \(String(format: "%.1f", result.wallSeconds)) s"
                 + (result.gaps.isEmpty ? "" : "; \(result.gaps.count) gap\(result.gaps.count == 1 ? "" : "s") in the data (no order rested across them)"))
        out.line(Line("'pnl \(r.id) --run \(number)', 'fills \(r.id) --run \(number)' and 'chart \(r.id) pnl --run \(number)' show it", .dim))
        return out
    }
}
