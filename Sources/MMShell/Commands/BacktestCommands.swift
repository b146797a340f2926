import Foundation
import MMCore
import MMEngine
import MMRecording
import MMStorage
import MMStrategy

extension Commands {
    static let backtestCommands: [CommandSpec] = [
        CommandSpec("record", summary: "record MEXC's market of a pair, in the engine; list, stop, or show what a file holds",
                    args: [ArgSpec("WHAT", .text), ArgSpec("ARG", .text, optional: true)],
                    flags: [FlagSpec("--out", value: ("FILE", .file(extensions: ["mmrec"])), "where to write (default PAIR-TIME.mmrec here)"),
                            FlagSpec("--duration", value: ("DURATION", .text), "stop after DURATION (30m, 6h, 2d); default until 'record stop'"),
                            FlagSpec("--depth", value: ("CADENCE", .choice(["100ms", "10ms"])), "the streams' cadence (default 100ms)"),
                            FlagSpec("--rest", value: ("URL", .text), "MEXC's REST API (default the current instance's mexc.rest_url)"),
                            FlagSpec("--ws", value: ("URL", .text), "MEXC's stream API (default the current instance's mexc.ws_url)"),
                            FlagSpec("--force", "replace FILE if it exists")],
                    examples: ["record BTCUSDT --duration 1h", "record ETHUSDT --out eth.mmrec --depth 10ms", "record list", "record stop 1",
                               "record info btc.mmrec", "record info btc.mmrec --json"],
                    details: "record PAIR runs in the engine, in the background, like an instance: closing the shell does not stop it. It subscribes to the pair's depth, deals and book-ticker streams and writes every frame as received, with its receive time, the pair's exchangeInfo, a REST depth snapshot at every connection and whenever the depth stream skips versions, and a gap where the streams were lost (it connects again by itself). A crash loses at most the last second. record list shows each recording (frames, snapshots, gaps, size); record stop ID|all ends them. A recording holds every frame as MEXC sent it, so the file alone rebuilds the book at any moment: 'backtest ID --data FILE' replays it. 'mmsh sim record' writes one of the simulated market. info shows the pair, source, span, frames by kind, gaps and size.",
                    showsData: true) { inv, shell in try await shell.record(inv) },
        CommandSpec("backtest", summary: "run an instance's settings over a recording, with the code that trades, and store the run",
                    args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("--data", value: ("FILE", .file(extensions: ["mmrec"])), "the recording to replay (required)"),
                            FlagSpec("--from", value: ("TIME", .text), "start at TIME: 2026-12-01T09:00 (local) or …Z (UTC); default its start"),
                            FlagSpec("--to", value: ("TIME", .text), "end at TIME; default its end"),
                            FlagSpec("--latency", value: ("DURATION", .text), "each request's round trip (default 0ms; 20ms is typical)"),
                            FlagSpec("--set", value: ("KEY=VALUE", .text), "a setting for this backtest only (repeatable)")],
                    examples: ["backtest 1 --data btc.mmrec", "backtest btc --data btc.mmrec --latency 20ms --set spread.bid=0.05% --set levels.count=3",
                               "backtest 1 --data btc.mmrec --from 2026-12-01T09:00Z --to 2026-12-01T10:00Z --json"],
                    details: "The instance's settings (with --set overrides) run over the recording on a virtual clock, through the same runner and strategy as a live instance: decisions as a running instance takes them (at once on every book change or trade, at least every 500 ms, and right after one that cancelled to make its ladder anew); each order reaches the book after --latency and each cancel takes effect after it; fills come from the paper venue's queue model (an order joins the back of its level and fills when the volume ahead of it has traded, when a trade prints through it, or when the book crosses it); balances start from sim.base and sim.quote, and the maker fee is the recording's. The result is stored as a run of the instance marked as a backtest: 'pnl ID --run N', 'fills ID --run N', 'chart ID pnl --run N' and 'export' show it; windows without --run leave backtests out. The same file, settings and latency give the same fills. The first backtest of a file decodes it once into FILE.replay beside it (or in the temporary directory), which later backtests and sweeps read; it is made again when the file changes. Ctrl-C stops it and stores the partial run, marked as such. Across a gap in the recording no order rests.",
                    showsData: true) { inv, shell in try await shell.backtest(inv) },
    ]
}

extension Shell {
    func record(_ inv: Invocation) async throws(ShellError) -> Output {
        let what = inv["WHAT"]!
        switch what.lowercased() {
        case "info":
            guard let file = inv["ARG"] else { throw .usage("record info: name the FILE, such as: record info btc.mmrec") }
            return try await recordInfo(file)
        case "list":
            if let extra = inv["ARG"] { throw .usage("record list takes nothing after it, not '\(extra)'") }
            return recordingTable(await api.recordings())
        case "stop":
            guard let which = inv["ARG"] else { throw .usage("record stop: name the recording (ID or all; 'record list' shows them)") }
            let all = await api.recordings()
            let ids: [Int]
            if which.lowercased() == "all" {
                ids = all.filter { $0.state == .recording }.map(\.id)
            } else {
                guard let id = Int(which), all.contains(where: { $0.id == id }) else {
                    throw .notFound("there is no recording \(which); 'record list' shows them")
                }
                ids = [id]
            }
            if dryRun { return .message("would stop \(ids.count) recording\(ids.count == 1 ? "" : "s")") }
            var stopped: [RecordingStatus] = []
            for id in ids { if let s = await api.stopRecording(id) { stopped.append(s) } }
            if stopped.isEmpty { return .message("nothing is recording") }
            var out = recordingTable(stopped)
            out.blocks.insert(.line(Line("stopped: the files are closed and complete", .dim)), at: 0)
            return out
        default:
            return try await startRecording(pair: what, inv)
        }
    }

    func startRecording(pair text: String, _ inv: Invocation) async throws(ShellError) -> Output {
        guard let pair = Units.normalizeSymbol(text), Units.assets(of: pair) != nil else {
            throw .usage("record: '\(text)' is neither a pair (BTCUSDT, ETH/USDT) nor list, stop or info")
        }
        if let extra = inv["ARG"] { throw .usage("record \(pair): takes nothing after the pair, not '\(extra)'; --out FILE names the file") }
        var duration: Int64?
        if let d = inv["--duration"] {
            guard let span = Units.parseDuration(d), span.milliseconds >= 1000, span.milliseconds <= 366 * 86_400_000 else {
                throw .usage("record: --duration takes a duration from 1s to 366d, such as 30m or 6h, not '\(d)'")
            }
            duration = span.milliseconds
        }
        // MEXC's addresses: the flags, else the current instance's, else the defaults.
        var settings = Settings()
        if let current, let stored = try? await self.settings(of: current) { settings = stored }
        func address(_ flag: String, _ key: String) throws(ShellError) -> String {
            guard let given = inv[flag] else { return settings[key].text! }
            do { return try Catalog.lookup(key).parse(given).text! } catch { throw .usage("record: \(flag) \(error.message)") }
        }
        let rest = try address("--rest", "mexc.rest_url"), ws = try address("--ws", "mexc.ws_url")
        let stamp = TimeText.fileStamp(Int64(Date().timeIntervalSince1970 * 1000))
        let out = resolvePath(inv["--out"] ?? "\(pair.lowercased())-\(stamp).mmrec")
        let plan = RecordingPlan(pair: pair, path: out.path, duration: duration, depth: inv["--depth"] ?? "100ms",
                                 restURL: rest, wsURL: ws, replace: inv.has("--force"))
        if dryRun { return .message("would record \(pair) from \(ws) to \(out.path)") }
        let s = try await api.startRecording(plan)
        let until = duration.map { " for \(TimeSpan(milliseconds: $0)), until \(TimeText.local(s.startedAt + $0).prefix(16))" } ?? " until 'record stop \(s.id)'"
        return Output.message("recording \(s.id): \(pair) from \(ws) to \(out.path)\(until); 'record list' shows it",
                              json: .object([("id", .int(s.id)), ("pair", .string(pair)), ("file", .string(out.path)), ("url", .string(ws))]))
    }

    func recordingTable(_ list: [RecordingStatus]) -> Output {
        var table = Table(["ID", "PAIR", "STATE", "STARTED", "ENDS", "FRAMES", "SNAPSHOTS", "GAPS", "SIZE", "FILE"],
                          align: [.right, .left, .left, .left, .left, .right, .right, .right, .right, .left])
        var items: [JSON] = []
        for r in list {
            table.add(styled: [("\(r.id)", .bold), (r.pair, .plain), (r.state.rawValue, r.state == .failed ? .red : r.state == .recording ? .green : .plain),
                               (String(TimeText.local(r.startedAt).prefix(16)), .plain), (r.endsAt.map { String(TimeText.local($0).prefix(16)) } ?? "-", .plain),
                               ("\(r.frames)", .plain), ("\(r.snapshots)", .plain), ("\(r.gaps)", r.gaps > 0 ? .yellow : .plain),
                               (Shell.bytes(r.bytes), .plain), (r.path, .plain)])
            items.append(.object([("id", .int(r.id)), ("pair", .string(r.pair)), ("state", .string(r.state.rawValue)), ("file", .string(r.path)),
                                  ("started_at", .string(TimeText.iso(r.startedAt))), ("ends_at", r.endsAt.map { .string(TimeText.iso($0)) } ?? .null),
                                  ("frames", .int(r.frames)), ("snapshots", .int(r.snapshots)), ("gaps", .int(r.gaps)), ("bytes", .int(r.bytes)),
                                  ("problem", r.problem.map(JSON.string) ?? .null)]))
        }
        var out = Output(json: .object([("recordings", .array(items))]))
        if list.isEmpty { out.line("nothing is recording; 'record PAIR' starts a recording") } else {
            out.table(table)
            for r in list { if let p = r.problem { out.line(Line("\(r.id): \(p)", r.state == .failed ? .red : .yellow)) } }
        }
        return out
    }

    func recordInfo(_ file: String) async throws(ShellError) -> Output {
        let url = resolvePath(file)
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

    /// `--from`, `--to` and `--latency` of a replay (backtest, sweep).
    func replayWindow(_ inv: Invocation, command: String) throws(ShellError) -> (from: Int64?, to: Int64?, latency: Int64) {
        func time(_ flag: String) throws(ShellError) -> Int64? {
            guard let text = inv[flag] else { return nil }
            guard let t = TimeText.parse(text) else {
                throw .usage("\(command): \(flag) takes a time such as 2026-12-01, 2026-12-01T09:00 or 2026-12-01T09:00Z, not '\(text)'")
            }
            return t
        }
        let from = try time("--from"), to = try time("--to")
        if let from, let to, to <= from { throw .usage("\(command): --to is not after --from") }
        var latency: Int64 = 0
        if let text = inv["--latency"] {
            guard let span = Units.parseDuration(text), (0...10_000).contains(span.milliseconds) else {
                throw .usage("\(command): --latency takes a duration from 0ms to 10s, such as 20ms, not '\(text)'")
            }
            latency = span.milliseconds
        }
        return (from, to, latency)
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
        let (from, to, latency) = try replayWindow(inv, command: "backtest")
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
        guard let run = result.run else { throw .failure("backtest: the engine did not store the run") }
        let runs = try await api.runs(instance: r.id)
        let number = (runs.firstIndex { $0.id == run } ?? runs.count - 1) + 1
        let assets = Units.assets(of: settings.pair) ?? (base: "base", quote: "quote")
        // The run's ledger, as the engine summed it before storing the run.
        let s = result.figures.summary, maxDrawdown = result.figures.maxDrawdown
        let n = try await readable(r.id)
        var fields = Self.summaryJSON(s)
        fields.insert(contentsOf: [("id", .int(r.id)), ("run", .int(number)), ("run_id", .int(Int(run))), ("partial", .bool(result.partial)),
                                   ("data", .string(plan.data)), ("from", .string(TimeText.iso(result.from))), ("to", .string(TimeText.iso(result.to))),
                                   ("latency_ms", .int(Int(plan.latency))), ("overrides", .array(plan.overrides.map(JSON.string)))], at: 0)
        fields += [("max_drawdown", .string(maxDrawdown.description)),
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
        out.line("risk     max drawdown \(n.money(maxDrawdown)); quote uptime \(result.quoteUptime.map { String(format: "%.1f%%", $0 * 100) } ?? "-")")
        out.line("replay   \(Units.readable(Dec(result.events), places: 0)) events, \(Units.readable(Dec(result.decisions), places: 0)) decisions in \(String(format: "%.1f", result.wallSeconds)) s"
                 + (result.gaps.isEmpty ? "" : "; \(result.gaps.count) gap\(result.gaps.count == 1 ? "" : "s") in the data (no order rested across them)"))
        out.line(Line("'pnl \(r.id) --run \(number)', 'fills \(r.id) --run \(number)' and 'chart \(r.id) pnl --run \(number)' show it", .dim))
        return out
    }
}
