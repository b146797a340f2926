import Foundation
import MMCore
import MMEngine
import MMRecording
import MMStorage

extension Commands {
    static let sweepCommands: [CommandSpec] = [
        CommandSpec("sweep", summary: "backtest every combination of settings over a recording, in parallel, ranked",
                    args: [ArgSpec("ID", .instance, optional: true), ArgSpec("KEY=VALUES", .text, repeating: true)],
                    flags: [FlagSpec("--data", value: ("FILE", .file(extensions: ["mmrec"])), "the recording to replay (required)"),
                            FlagSpec("--by", value: ("FIGURE", .choice(["net", "sharpe", "drawdown"])), "rank by net P&L (default), Sharpe ratio or smallest drawdown"),
                            FlagSpec("--jobs", value: ("N", .integer(1...256)), "backtests at once (default: this machine's cores)"),
                            FlagSpec("--from", value: ("TIME", .text), "start at TIME; default the recording's start"),
                            FlagSpec("--to", value: ("TIME", .text), "end at TIME; default its end"),
                            FlagSpec("--latency", value: ("DURATION", .text), "each request's round trip (default 0ms)"),
                            FlagSpec("--yes", "run more than \(Shell.sweepLimit) combinations")],
                    examples: ["sweep 1 --data btc.mmrec spread.bid=0.05%..0.3%/0.05% levels.count=1,3,5",
                               "sweep btc --data btc.mmrec order.amount=0.001,0.002 --by drawdown --jobs 2"],
                    details: "Each KEY=VALUES is a list (levels.count=1,3,5) or a range LOW..HIGH/STEP (spread.bid=0.05%..0.5%/0.05%, both ends included) of a setting's values; every combination of them runs as 'backtest' runs (the instance's other settings as they are), on all cores, and none is stored. Combinations the settings' own rules refuse (order.min above order.max) are skipped and counted. The table is ranked by the chosen figure; the best combination is shown as the 'set' lines that apply it. More than \(Shell.sweepLimit) combinations need --yes, and more than 100,000 never run. Ctrl-C stops it: no new backtest starts, and those running end early (partial).",
                    showsData: true) { inv, shell in try await shell.sweep(inv) },
    ]
}

extension Shell {
    static let sweepLimit = 200

    /// A setting's values to sweep, as the setting renders them: a list, or a range LOW..HIGH/STEP.
    nonisolated static func sweepValues(_ item: String) throws(ShellError) -> (key: String, values: [String]) {
        let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
        guard kv.count == 2, !kv[1].isEmpty else {
            throw .usage("sweep: '\(item)' is not KEY=VALUES: a list (levels.count=1,3,5) or a range (spread.bid=0.05%..0.5%/0.05%)")
        }
        let spec: SettingSpec
        do { spec = try Catalog.lookup(kv[0].lowercased()) } catch { throw .usage("sweep: \(error.message)") }
        guard !["venue", "pair"].contains(spec.key) else { throw .usage("sweep: \(spec.key) comes from the recording; it cannot be swept") }
        func parse(_ text: String) throws(ShellError) -> SettingValue {
            do { return try spec.parse(text) } catch { throw .usage("sweep: \(spec.key) '\(text)': \(error.message)") }
        }
        var values: [SettingValue] = []
        if let dots = kv[1].range(of: "..") {
            let low = String(kv[1][..<dots.lowerBound]), tail = kv[1][dots.upperBound...]
            guard let slash = tail.firstIndex(of: "/") else {
                throw .usage("sweep: \(spec.key): a range is LOW..HIGH/STEP, such as 0.05%..0.5%/0.05%, not '\(kv[1])'")
            }
            switch spec.kind {
            case .decimal, .percent, .integer: break
            default: throw .usage("sweep: \(spec.key) takes no range (it is not a number); list its values: \(spec.key)=A,B,C")
            }
            let high = String(tail[..<slash]), step = String(tail[tail.index(after: slash)...])
            let (lo, hi, st) = (try parse(low), try parse(high), try parse(step))
            func numbers(_ v: SettingValue) -> Dec? {
                switch v {
                case .decimal(let d), .percent(let d): d
                case .integer(let i): Dec(i)
                default: nil
                }
            }
            guard let a = numbers(lo), let b = numbers(hi), let s = numbers(st) else {
                throw .usage("sweep: \(spec.key) takes no range (it is not a number); list its values: \(spec.key)=A,B,C")
            }
            guard s.isPositive else { throw .usage("sweep: \(spec.key): the range's step must be above zero, not \(step)") }
            guard b >= a else { throw .usage("sweep: \(spec.key): the range's end \(high) is below its start \(low)") }
            var x = a
            while x <= b {
                guard values.count < 1000 else { throw .usage("sweep: \(spec.key): the range holds more than 1,000 values; take a larger step") }
                let v: SettingValue
                switch lo {
                case .percent: v = .percent(x)
                case .integer: v = .integer(Int(x.description) ?? 0)
                default: v = .decimal(x)
                }
                // Each value is checked as if typed, so that a range never leaves the setting's bounds.
                values.append(try parse(spec.render(v)))
                x += s
            }
        } else {
            for text in kv[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                guard !text.isEmpty else { throw .usage("sweep: \(spec.key): an empty value in '\(kv[1])'") }
                values.append(try parse(text))
            }
        }
        var texts: [String] = []
        for v in values.map(spec.render) where !texts.contains(v) { texts.append(v) }
        return (spec.key, texts)
    }

    func sweep(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        guard let data = inv["--data"] else { throw .usage("sweep: --data FILE is required: the recording to replay ('mmsh sim record' or 'record' make one)") }
        let url = resolvePath(data)
        let base = try await self.settings(of: r.id)
        var axes: [(key: String, values: [String])] = []
        for item in inv.values("KEY=VALUES") {
            let axis = try Shell.sweepValues(item)
            guard !axes.contains(where: { $0.key == axis.key }) else { throw .usage("sweep: \(axis.key) is given twice") }
            axes.append(axis)
        }
        // Counted without overflow: ten ranges of a thousand values are not a number to multiply out.
        var count = 1
        for axis in axes {
            let (product, overflow) = count.multipliedReportingOverflow(by: axis.values.count)
            count = overflow ? Int.max : product
        }
        guard count <= Shell.sweepLimit || inv.has("--yes") else {
            throw .usage("sweep: \(count == Int.max ? "too many" : "\(count)") combinations; more than \(Shell.sweepLimit) take --yes")
        }
        guard count <= 100_000 else { throw .usage("sweep: \(count == Int.max ? "too many" : "\(count)") combinations; at most 100,000 run, even with --yes") }
        let (from, to, latency) = try replayWindow(inv, command: "sweep")
        // The file's pair is checked before anything runs (its header only).
        do {
            let pair = try RecordingReader.open(url.path).meta.pair
            guard pair == base.pair else {
                throw RecordingError("\(url.path) records \(pair), not \(base.pair); set the instance's pair to \(pair) or record \(base.pair)")
            }
        } catch { throw .failure("sweep: \(RecordingError.from(error).message)") }

        // Every combination, the first axis slowest; those the settings' rules refuse are skipped.
        var combinations: [[(String, String)]] = [[]]
        for axis in axes { combinations = combinations.flatMap { c in axis.values.map { c + [(axis.key, $0)] } } }
        var plans: [BacktestPlan] = [], kept: [[(String, String)]] = [], skipped: [String] = []
        for c in combinations {
            var settings = base
            for (key, text) in c { settings.set(key, try! Catalog.lookup(key).parse(text)) }
            do { try settings.validate() } catch {
                skipped.append(error.message)
                continue
            }
            kept.append(c)
            plans.append(BacktestPlan(instance: r.id, name: r.name, settings: settings, data: url.path, from: from, to: to,
                                      latency: latency, overrides: c.map { "\($0.0)=\($0.1)" }))
        }
        guard !plans.isEmpty else { throw .failure("sweep: every combination is refused by the settings' rules: \(skipped.first ?? "")") }
        let jobs = inv["--jobs"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
        if dryRun { return .message("would sweep \(plans.count) combinations of instance \(describe(r)) over \(url.path), \(jobs) at a time") }

        let console = self.console
        let showProgress = console.isTerminal, total = plans.count
        let outcomes = await api.sweep(plans, jobs: jobs, done: { n in
            guard showProgress else { return }
            let width = 30, filled = n * width / total
            console.write("\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(n)/\(total)")
        }, cancelled: { console.interrupted })
        if showProgress { console.write("\r\u{1B}[K") }
        return try await sweepTable(r, pair: base.pair, axes: axes.map(\.key), combinations: kept, outcomes: outcomes, skipped: skipped,
                                    by: inv["--by"] ?? "net", jobs: jobs)
    }

    func sweepTable(_ r: InstanceRecord, pair: String, axes: [String], combinations: [[(String, String)]], outcomes: [SweepOutcome],
                    skipped: [String], by: String, jobs: Int) async throws(ShellError) -> Output {
        let n = try await readable(r.id)
        let quote = Units.assets(of: pair)?.quote ?? "quote"
        // Ranked by the figure, ties (and runs without the figure) in the order of the combinations.
        let ran = outcomes.indices.filter { outcomes[$0].result != nil }
        func figure(_ i: Int) -> Double? {
            let f = outcomes[i].result!.figures
            switch by {
            case "sharpe": return f.sharpe
            case "drawdown": return -f.maxDrawdown.doubleValue
            default: return f.summary.net.doubleValue
            }
        }
        func exactlyBefore(_ a: Int, _ b: Int) -> Bool? {
            guard by == "net" || by == "drawdown" else { return nil }
            let fa = outcomes[a].result!.figures, fb = outcomes[b].result!.figures
            let (x, y) = by == "net" ? (fa.summary.net, fb.summary.net) : (fb.maxDrawdown, fa.maxDrawdown)
            return x == y ? nil : x > y
        }
        let ranked = ran.sorted { a, b in
            if let exact = exactlyBefore(a, b) { return exact }
            switch (figure(a), figure(b)) {
            case let (x?, y?) where x != y: return x > y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a < b
            }
        }
        var table = Table(["RANK"] + axes.map { $0.uppercased() } + ["NET P&L", "SHARPE", "DRAWDOWN", "FILLS", "VOLUME", "FEES", "UPTIME"],
                          align: [.right] + axes.map { _ in .right } + Array(repeating: .right, count: 7))
        var items: [JSON] = []
        for (rank, i) in ranked.enumerated() {
            let result = outcomes[i].result!, f = result.figures, s = f.summary
            let first: [(String, Style)] = [("\(rank + 1)", rank == 0 ? .bold : .plain)]
            let values: [(String, Style)] = combinations[i].map { ($0.1, .plain) }
            let net: (String, Style) = (n.signedValue(s.net) + " " + quote, s.net.isNegative ? .red : .green)
            let sharpe = f.sharpe.map { String(format: "%.2f", $0) } ?? "-"
            let uptime = result.quoteUptime.map { Units.renderPercent(Dec(statistic: $0, places: 4)) } ?? "-"
            let rest: [(String, Style)] = [(sharpe, .plain), (n.money(f.maxDrawdown), .plain), ("\(s.fills)", .plain),
                                           (n.value(s.volumeQuote), .plain), (n.value(s.fees), .plain), (uptime, .plain)]
            table.add(styled: first + values + [net] + rest)
            let settingsJSON: JSON = .object(combinations[i].map { ($0.0, JSON.string($0.1)) })
            let sharpeJSON: JSON = f.sharpe.map { JSON.string(String(format: "%.4f", $0)) } ?? .null
            var fields: [(String, JSON)] = [("rank", .int(rank + 1)), ("settings", settingsJSON), ("net", .string(s.net.description))]
            fields += [("sharpe", sharpeJSON), ("max_drawdown", .string(f.maxDrawdown.description)), ("fills", .int(s.fills))]
            fields += [("volume_quote", .string(s.volumeQuote.description)), ("fees", .string(s.fees.description)), ("partial", .bool(result.partial))]
            items.append(.object(fields))
        }
        let failed = outcomes.indices.filter { outcomes[$0].result == nil }
        var out = Output(json: .object([("id", .int(r.id)), ("by", .string(by)), ("jobs", .int(jobs)), ("results", .array(items)),
                                        ("skipped", .int(skipped.count)),
                                        ("failed", .array(failed.map { i in .object([("settings", .object(combinations[i].map { ($0.0, .string($0.1)) })),
                                                                                       ("error", .string(outcomes[i].error ?? ""))]) }))]))
        out.line(Line([("sweep of instance \(describe(r))", .bold),
                       (" · \(ran.count) combination\(ran.count == 1 ? "" : "s") ranked by \(by == "net" ? "net P&L" : by), \(jobs) at a time", .plain)]))
        if !ranked.isEmpty { out.table(table) }
        if let best = ranked.first {
            out.line(Line("best: " + combinations[best].map { "set \(r.id) \($0.0) \($0.1)" }.joined(separator: "; "), .cyan))
        }
        if ranked.contains(where: { outcomes[$0].result!.partial }) { out.line(Line("interrupted: some backtests ended early (partial)", .yellow)) }
        if !skipped.isEmpty { out.line(Line("\(skipped.count) combination\(skipped.count == 1 ? "" : "s") skipped: \(skipped[0])", .dim)) }
        for i in failed.prefix(3) { out.line(Line("failed: \(combinations[i].map { "\($0.0)=\($0.1)" }.joined(separator: " ")): \(outcomes[i].error ?? "")", .red)) }
        return out
    }
}
