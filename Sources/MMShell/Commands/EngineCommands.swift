import Foundation
import Synchronization
import MMCore
import MMEngine
import MMSim
import MMStorage
import MMStrategy

extension Commands {
    static let engineCommands: [CommandSpec] = [
        CommandSpec("start", summary: "start quoting", args: [ArgSpec("ID", .instanceOrAll, optional: true)],
                    examples: ["start 1", "start all"],
                    details: "The instance runs in the background while you work: 'status', 'log ID --tail' and 'orders ID' show what it does. Changing settings while it runs applies at its next decision; venue and pair cannot change while it runs.") { inv, shell in
            try await shell.startInstances(inv)
        },
        CommandSpec("stop", summary: "stop quoting: cancel every order and confirm it", args: [ArgSpec("ID", .instanceOrAll, optional: true)],
                    examples: ["stop 1", "stop all"]) { inv, shell in try await shell.stopInstances(inv) },
        CommandSpec("status", summary: "what instances are doing: market, balances, orders, P&L",
                    args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("--watch", short: "-w", value: ("DURATION", .text), "redraw every DURATION (2s, 500ms, 1m; bare seconds) until Ctrl-C, and at once when something happens")],
                    examples: ["status", "status 1", "status 1 --watch 2s", "status --json"], showsData: true) { inv, shell in
            try await shell.status(inv)
        },
        CommandSpec("orders", summary: "an instance's open orders", args: [ArgSpec("ID", .instance, optional: true)],
                    examples: ["orders 1", "orders 1 --json"], showsData: true) { inv, shell in try await shell.listOrders(inv) },
        CommandSpec("fills", summary: "an instance's fills, newest last", args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("-n", value: ("N", .integer(1...1_000_000)), "the newest N (default 20; all of a window or run)"),
                            FlagSpec("--since", value: ("DURATION", .text), "the last DURATION (24h, 7d, 30m)"),
                            FlagSpec("--from", value: ("TIME", .text), "from TIME: 2026-12-01, 2026-12-01T09:00 (local) or …Z (UTC)"),
                            FlagSpec("--to", value: ("TIME", .text), "up to TIME, in the same forms"),
                            FlagSpec("--run", value: ("N", .integer(1...1_000_000)), "the instance's Nth run only"),
                            FlagSpec("--csv", "one CSV row per fill (RFC 4180, full precision), for a spreadsheet or an accountant")],
                    examples: ["fills 1", "fills 1 -n 100 --json", "fills btc --since 24h --csv"],
                    details: "CSV columns: time (UTC, ISO 8601), pair, side, price, amount, notional, fee, fee_asset, maker, client_id, order_id, trade_id, run. 'export fills ID FILE.csv' writes the same to a file.",
                    showsData: true) { inv, shell in try await shell.listFills(inv) },
        CommandSpec("log", summary: "an instance's log of events", args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("-n", value: ("N", .integer(1...1_000_000)), "the newest N entries (default 20)"),
                            FlagSpec("--tail", short: "-f", "keep printing new entries until Ctrl-C"),
                            FlagSpec("--level", value: ("LEVEL", .choice(["info", "success", "warning", "warn", "error"])), "this level and above (warn is warning)"),
                            FlagSpec("--since", value: ("DURATION", .text), "entries of the last DURATION (30s, 5m, 1h, 1d)")],
                    examples: ["log 1", "log 1 --tail", "log 1 --level warning --since 1h"], showsData: true) { inv, shell in
            try await shell.showLog(inv)
        },
        CommandSpec("clear-log", summary: "delete an instance's log entries", args: [ArgSpec("ID", .instance, optional: true)],
                    examples: ["clear-log 1"]) { inv, shell in try await shell.clearLog(inv) },
    ]
}

extension Shell {
    func startInstances(_ inv: Invocation) async throws(ShellError) -> Output {
        let ids = try await targets(inv)
        var out = Output()
        for r in ids {
            if await api.isRunning(r.id) {
                if inv["ID"]?.lowercased() == "all" { continue }
                throw .failure("instance \(describe(r)) is running already")
            }
            let settings = try await self.settings(of: r.id)
            if dryRun { out.line("would start \(describe(r)) on \(settings.venue) \(settings.pair)"); continue }
            // A live instance's keys come from the engine's vault: unlocked here, asked for on this terminal.
            if settings.venue == "live" { try await unlockVault() }
            try await api.start(r.id)
            out.line(Line([("started ", .plain), (describe(r), .bold), (" on \(settings.venue) \(settings.pair)", .plain)]))
        }
        if out.blocks.isEmpty { out.line("nothing to start") }
        return out
    }

    func stopInstances(_ inv: Invocation) async throws(ShellError) -> Output {
        let ids = try await targets(inv)
        var out = Output()
        for r in ids {
            guard await api.isRunning(r.id) else {
                if inv["ID"]?.lowercased() == "all" { continue }
                throw .failure("instance \(describe(r)) is not running")
            }
            if dryRun { out.line("would stop \(describe(r))"); continue }
            let n = await api.stop(r.id) ?? 0
            let report = await api.report(r.id)
            if let report, report.unconfirmedAtStop > 0 {
                let why = report.contactLost.map { ": the venue does not answer (\($0))" } ?? ": the venue does not answer"
                out.line(Line("stopped \(describe(r)): \(n) order\(n == 1 ? "" : "s") cancelled, but it could not be confirmed that none is left open\(why); check open orders on MEXC; they are reconciled at the next start", .red))
            } else {
                out.line("stopped \(describe(r)): \(n) order\(n == 1 ? "" : "s") cancelled")
            }
        }
        if out.blocks.isEmpty { out.line("nothing is running") }
        return out
    }

    /// `ID` or `all` as records; without either, the current instance.
    func targets(_ inv: Invocation) async throws(ShellError) -> [InstanceRecord] {
        if inv["ID"]?.lowercased() == "all" { return try await api.instances() }
        return [try await target(inv)]
    }

    /// Stops every running instance and recording (leaving the shell, end of a script, a signal).
    public func shutdown(reason: String) async -> [(Int, Int)] {
        for r in await api.recordings() where r.state == .recording { _ = await api.stopRecording(r.id) }
        return await api.stopAll(reason: reason)
    }

    // MARK: status

    func status(_ inv: Invocation) async throws(ShellError) -> Output {
        if let text = inv["--watch"] {
            guard let every = Units.parseDuration(text), every.milliseconds >= 200, every.milliseconds <= 3_600_000 else {
                throw .usage("status: --watch takes a duration from 200ms to 1h, such as 2s or 500ms, not '\(text)'")
            }
            var plain = inv
            plain.flags["--watch"] = nil
            let shown = inv["ID"] == nil ? nil : try await target(inv).id
            // Watching, the table gains the trend of each instance's mid and net P&L.
            watching = true
            defer { watching = false }
            return try await redraw(every: every, instance: shown, json: inv.has("--json") || option("output") == "json") { () async throws(ShellError) in
                try await status(plain)
            }
        }
        guard inv["ID"] != nil else { return try await statusTable() }
        let r = try await target(inv)
        let settings = try await self.settings(of: r.id)
        let report = await api.report(r.id)
        let lastRun = try await api.lastRun(instance: r.id)
        let since = report?.startedAt ?? lastRun?.startedAt ?? Int64.max
        // A run this engine holds is summed in memory; only an earlier engine's run is read from the store.
        let stored = report == nil ? try await api.fills(instance: r.id, since: since).count : 0
        return StatusView.detail(r, settings: settings, report: report, lastRun: lastRun, storedFills: stored, now: api.clock.now())
    }

    func statusTable() async throws(ShellError) -> Output {
        var table = Table(["ID", "NAME", "PAIR", "VENUE", "STATE", "UPTIME", "ORDERS", "FILLS", "NET P&L"] + (watching ? ["MID", "P&L"] : []),
                          align: [.right, .left, .left, .left, .left, .right, .right, .right, .right] + (watching ? [.left, .left] : []))
        // Net P&L of the running instances, summed per quote asset for the totals row.
        var totals: [String: Dec] = [:]
        var items: [JSON] = []
        let now = api.clock.now()
        for row in try await api.overview() {
            let r = row.record, running = row.running, report = row.report, lastRun = row.lastRun
            let s = Settings.stored(row.storedSettings, instance: r.id).settings
            let state = StatusView.state(report?.state, lastRun: lastRun, risk: report?.risk.mode)
            let fillCount: Int
            if let report { fillCount = report.tally.count } else {
                fillCount = try await api.fills(instance: r.id, since: lastRun?.startedAt ?? Int64.max).count
            }
            let pnl = report.flatMap { StatusView.pnl($0) }
            let trend = watching ? try await trends(r.id, running: report?.startedAt) : []
            let uptime = running ? TimeSpan(milliseconds: (now - (report?.startedAt ?? now)) / 1000 * 1000).description : "-"
            table.add(styled: [("\(r.id)", .bold), (r.name, .plain), (s.pair, .plain), (s.venue, .plain),
                               (state, StatusView.style(state)), (uptime, .plain), ("\(report?.orders.count ?? 0)", .plain),
                               ("\(fillCount)", .plain),
                               (pnl.map { Readable(pair: s.pair, rules: report?.rules).signedValue($0.total) + " " + (Units.assets(of: s.pair)?.quote ?? "") } ?? "-",
                                pnl.map { $0.total.isNegative ? .red : .green } ?? .plain)] + trend)
            if let pnl, let quote = Units.assets(of: s.pair)?.quote { totals[quote, default: 0] += pnl.total }
            items.append(StatusView.json(r, settings: s, state: state, report: report, pnl: pnl, fills: fillCount))
        }
        for (asset, total) in totals.sorted(by: { $0.key < $1.key }) {
            table.add(styled: [("", .plain), ("total", .bold), ("", .plain), ("", .plain), ("", .plain), ("", .plain), ("", .plain), ("", .plain),
                               (Units.readable(total, places: 2) + " " + asset, total.isNegative ? .red : .green)])
        }
        var out = Output(json: .object([("instances", .array(items)),
                                        ("totals", .array(totals.sorted(by: { $0.key < $1.key }).map {
                                            .object([("quote_asset", .string($0.key)), ("net", .string($0.value.description))]) }))]))
        if items.isEmpty { out.line("no instances yet; 'new' creates one") } else {
            out.table(table)
            out.line(Line("NET P&L: this run against holding its starting balances, after fees; 'pnl' has the whole ledger", .dim))
        }
        return out
    }

    /// Sparklines of the mid and of net P&L over the run's last ten minutes (a point per 30 s of
    /// its market samples).
    func trends(_ id: Int, running since: Int64?) async throws(ShellError) -> [(String, Style)] {
        guard let since else { return [("", .plain), ("", .plain)] }
        let from = max(since, api.clock.now() - 600_000)
        let rows = try await api.samples(instance: id, from: from, to: Int64.max, every: 30_000, limit: 20)
        let mids = rows.map(\.mid.doubleValue)
        let nets = rows.map(\.net.doubleValue)
        return [(Chart.sparkline(mids, width: 20), .cyan), (Chart.sparkline(nets, width: 20), .green)]
    }

    /// Shows `produce`'s output again every `every` until Ctrl-C, and at once (at most every
    /// 200 ms) when a shown instance (`instance`, or any) logs something: a fill, an order, a
    /// state change, from the engine's stream of entries. On a terminal each view replaces the last.
    func redraw(every: TimeSpan, instance shown: Int?, json: Bool,
                _ produce: () async throws(ShellError) -> Output) async throws(ShellError) -> Output {
        let (subscription, stream) = await api.followEvents()
        let api = self.api
        defer { api.endFollowing(subscription) }
        let news = Atomic<Bool>(false)
        let listener = Task {
            for await e in stream where shown == nil || e.instanceId == shown { news.store(true, ordering: .relaxed) }
        }
        defer { listener.cancel() }
        while !console.interrupted {
            let output = try await produce()
            if !json && console.isTerminal { console.write("\u{1B}[H\u{1B}[2J") }
            console.write(renderer.render(output, json: json))
            news.store(false, ordering: .relaxed)
            for i in 0..<max(2, Int(every.milliseconds / 100)) where !console.interrupted {
                try? await Task.sleep(for: .milliseconds(100))
                if i >= 1 && news.load(ordering: .relaxed) { break }
            }
        }
        return .empty
    }

    // MARK: orders, fills, log

    /// How an instance's numbers are shown: at the rules its run got from the venue, else at the
    /// sim venue's own (other venues' rules are known once they run).
    func readable(_ id: Int) async throws(ShellError) -> Readable {
        let settings = try await self.settings(of: id)
        let rules = await api.rules(id) ?? (settings.venue == "sim" ? SimMarketConfig(settings).rules : nil)
        return Readable(pair: settings.pair, rules: rules)
    }

    func listOrders(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let report = await api.report(r.id)
        let n = try await readable(r.id)
        let now = api.clock.now()
        var table = Table(["CLIENT ID", "SIDE", "PRICE", "AMOUNT", "FILLED", "LEVEL", "AGE"],
                          align: [.left, .left, .right, .right, .right, .right, .right])
        var items: [JSON] = []
        for o in report?.orders ?? [] {
            table.add(styled: [(o.clientId, .dim), (o.side.rawValue, o.side == .buy ? .green : .red), (n.price(o.price), .plain),
                               (n.amount(o.amount), .plain), (n.amount(o.executed), .plain), ("\(o.level)", .plain),
                               (TimeSpan(milliseconds: max(0, now - o.placedAt) / 1000 * 1000).description, .plain)])
            items.append(StatusView.orderJSON(o, hanging: report?.hanging.contains(o.clientId) ?? false))
        }
        var out = Output(json: .object([("id", .int(r.id)), ("orders", .array(items))]))
        if items.isEmpty { out.line("instance \(describe(r)) has no open orders") } else { out.table(table) }
        return out
    }

    func listFills(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let n = try await readable(r.id)
        func shown(_ text: String, _ format: (Dec) -> String) -> String { Dec(text).map(format) ?? text }
        let windowed = inv["--since"] != nil || inv["--from"] != nil || inv["--to"] != nil || inv["--run"] != nil
        let window = try await ledgerWindow(inv, instance: r)
        let limit = inv["-n"].flatMap(Int.init) ?? (windowed || inv.has("--csv") ? Int.max : 20)
        let fills = try await api.fills(instance: r.id, since: window.from, until: window.to, limit: limit, run: window.run)
        if inv.has("--csv") { return Output(blocks: [.raw(try await fillsCSV(r, fills))]) }
        var table = Table(["TIME", "SIDE", "PRICE", "AMOUNT", "FEE", "ORDER"], align: [.left, .left, .right, .right, .right, .left])
        var items: [JSON] = []
        for f in fills {
            table.add(styled: [(StatusView.localTime(f.time), .dim), (f.side, f.side == "buy" ? .green : .red), (shown(f.price, n.price), .plain),
                               (shown(f.quantity, n.amount), .plain), (shown(f.fee, n.money), .plain), (f.clientId, .dim)])
            items.append(.object([("time", .string(StatusView.isoTime(f.time))), ("side", .string(f.side)), ("price", .string(f.price)),
                                  ("amount", .string(f.quantity)), ("fee", .string(f.fee)), ("fee_asset", f.feeAsset.map { .string($0) } ?? .null),
                                  ("maker", f.maker.map { .bool($0) } ?? .null), ("client_id", .string(f.clientId)),
                                  ("order_id", f.orderId.map { .string($0) } ?? .null), ("trade_id", .string(f.tradeId)),
                                  ("run", f.runId.map { .int(Int($0)) } ?? .null)]))
        }
        var out = Output(json: .object([("id", .int(r.id)), ("fills", .array(items))]))
        if items.isEmpty { out.line("instance \(describe(r)) has no fills \(windowed ? "in \(window.words)" : "yet")") } else { out.table(table) }
        return out
    }

    /// The fills as CSV: stable columns, RFC 4180 quoting, exact decimals, times in UTC.
    func fillsCSV(_ r: InstanceRecord, _ fills: [FillRecord]) async throws(ShellError) -> String {
        let pair = try await settings(of: r.id).pair
        let runs = try await api.runs(instance: r.id)
        let runNumber = Dictionary(uniqueKeysWithValues: runs.enumerated().map { ($1.id, $0 + 1) })
        var rows = [["time", "pair", "side", "price", "amount", "notional", "fee", "fee_asset", "maker", "client_id", "order_id", "trade_id", "run"]]
        for f in fills {
            let notional = (Dec(f.price).flatMap { p in Dec(f.quantity).map { p * $0 } })?.description ?? ""
            rows.append([TimeText.iso(f.time), pair, f.side, f.price, f.quantity, notional, f.fee, f.feeAsset ?? Units.assets(of: pair)?.quote ?? "",
                         f.maker.map { $0 ? "true" : "false" } ?? "", f.clientId, f.orderId ?? "", f.tradeId,
                         f.runId.flatMap { runNumber[$0] }.map(String.init) ?? ""])
        }
        return CSV.text(rows)
    }

    func showLog(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let limit = inv["-n"].flatMap(Int.init) ?? 20
        var since: Int64 = 0
        if let text = inv["--since"] {
            guard let span = Units.parseDuration(text), span.milliseconds > 0 else {
                throw .usage("log: --since takes a duration such as 30s, 5m, 1h or 1d, not '\(text)'")
            }
            since = Int64(Date().timeIntervalSince1970 * 1000) - span.milliseconds
        }
        let levels = inv["--level"].map { given in
            let min = EventLevel(rawValue: given == "warn" ? "warning" : given)!
            return EventLevel.allCases.filter { $0 >= min }.map(\.rawValue)
        }
        let json = inv.has("--json") || option("output") == "json"
        guard inv.has("--tail") else {
            let events = try await api.events(instance: r.id, limit: limit, levels: levels, since: since)
            return StatusView.log(events, json: json)
        }
        // Follow: the engine's stream of entries, subscribed to before the history is read so
        // that nothing falls between the two; what the history showed is not shown again.
        let (subscription, stream) = await api.followEvents()
        let api = self.api
        defer { api.endFollowing(subscription) }
        let events = try await api.events(instance: r.id, limit: limit, levels: levels, since: since)
        console.write(renderer.render(StatusView.log(events, json: false), json: false))
        let newest = try await api.events(instance: r.id, limit: 1)
        let shown = events.last?.id ?? newest.last?.id ?? 0
        // Ctrl-C (or the client going away) ends the stream, and with it the loop below.
        let console = self.console
        let watcher = Task {
            while !console.interrupted && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(100)) }
            api.endFollowing(subscription)
        }
        defer { watcher.cancel() }
        for await e in stream where e.instanceId == r.id && (levels?.contains(e.level) ?? true) {
            if let id = e.id, id <= shown { continue }
            console.write(renderer.render(StatusView.log([e], json: false), json: false))
        }
        return .empty
    }

    func clearLog(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let n = try await api.clearEvents(instance: r.id)
        return .message("cleared \(n) log entr\(n == 1 ? "y" : "ies") of \(describe(r))")
    }
}
