import Foundation
import MMCore
import MMEngine
import MMSim
import MMStorage
import MMStrategy

extension Commands {
    static let marketCommands: [CommandSpec] = [
        CommandSpec("book", summary: "the order book of an instance's market, its own orders marked",
                    args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("--depth", value: ("N", .integer(1...500)), "levels a side (default 10)"),
                            FlagSpec("--live", "redraw every second, and at once when the instance logs something, until Ctrl-C")],
                    examples: ["book", "book btc --depth 20", "book 1 --live", "book --json"],
                    details: "Asks highest first, then the spread and the mid, then bids. OURS is what the instance's own orders rest at that price. A running instance shows the book it last read (its own market on the sim venue); a stopped one the venue's book now (the sim venue's opening book, MEXC's public book for paper and live).",
                    showsData: true) { inv, shell in try await shell.book(inv) },
        CommandSpec("trades", summary: "the market's newest public trades, the instance's own fills marked",
                    args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("--count", short: "-n", value: ("N", .integer(1...500)), "trades shown (default 20)"),
                            FlagSpec("--live", "redraw every second, and at once when the instance logs something, until Ctrl-C")],
                    examples: ["trades", "trades btc -n 50", "trades 1 --live"],
                    details: "Newest last. A trade at the price and time of one of the instance's fills is marked 'ours'. Only a running instance follows its market's trades.",
                    showsData: true) { inv, shell in try await shell.trades(inv) },
        CommandSpec("balance", summary: "what an instance holds, per asset: total, available, in orders, value, share",
                    args: [ArgSpec("ID", .instanceOrAll, optional: true)],
                    examples: ["balance", "balance btc", "balance all --json"],
                    details: "Values are in the quote asset at the mid. 'balance all' lists every running instance. Balances are the venue's, as the instance last read them (a sim or paper instance has its own account).",
                    showsData: true) { inv, shell in try await shell.balance(inv) },
        CommandSpec("market", summary: "what an instance's market did while it ran, and how the instance took part",
                    args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("--since", value: ("DURATION", .text), "the last DURATION (default 24h)"),
                            FlagSpec("--from", value: ("TIME", .text), "from TIME: 2026-12-01, 2026-12-01T09:00 (local) or …Z (UTC)"),
                            FlagSpec("--to", value: ("TIME", .text), "up to TIME, in the same forms"),
                            FlagSpec("--run", value: ("N", .integer(1...1_000_000)), "the instance's Nth run only")],
                    examples: ["market", "market btc --since 7d", "market 1 --run 2 --json"],
                    details: "From the market samples a running instance stores once a second (raw for a day, then one a minute, kept for 'option samples.keep'): the mid's open, high, low and last and its range; the market's traded volume and the instance's share of it (its fills over the market's prints, which include them); quote uptime (the share of the time with a bid and an ask of the instance resting); the average distance of its quotes from the mid (half its spread when both sides rest, else the one side's) and its spread against the market's. Only time while the instance ran counts.",
                    showsData: true) { inv, shell in try await shell.marketSummary(inv) },
    ]
}

extension Shell {
    func marketSummary(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let settings = try await self.settings(of: r.id)
        var window = try await ledgerWindow(inv, instance: r)
        if inv["--since"] == nil && inv["--from"] == nil && inv["--run"] == nil {
            window.from = window.to - 86_400_000
            window.words = "the last 24h"
        }
        let samples = try await api.samples(instance: r.id, from: window.from, to: window.to, run: window.run)
        let fills = try await api.fills(instance: r.id, since: window.from, until: window.to, run: window.run)
        let m = MarketSummary.summarize(samples, from: window.from, to: window.to)
        let ours = fills.reduce(Dec(0)) { $0 + (Dec($1.quantity) ?? 0) }
        let oursQuote = fills.reduce(Dec(0)) { total, f in total + (Dec(f.quantity) ?? 0) * (Dec(f.price) ?? 0) }
        let n = try await readable(r.id)
        func d(_ x: Dec?) -> JSON { x.map { .string($0.description) } ?? .null }
        var out = Output(json: .object([
            ("id", .int(r.id)), ("name", .string(r.name)), ("pair", .string(settings.pair)),
            ("from", .string(TimeText.iso(window.from))), ("to", .string(TimeText.iso(window.to))),
            ("samples", .int(m.samples)), ("covered_ms", .int(Int(m.covered))),
            ("open", d(m.open)), ("high", d(m.high)), ("low", d(m.low)), ("last", d(m.last)), ("range", d(m.range)),
            ("range_share", d(m.rangeShare)), ("volume_base", d(m.volume)), ("volume_quote", d(m.turnover)),
            ("our_volume_base", d(ours)), ("our_volume_quote", d(oursQuote)), ("our_share", d(m.share(of: ours))),
            ("quote_uptime", d(m.uptime)), ("quote_distance", d(m.distance)), ("our_spread", d(m.ourSpread)),
            ("market_spread", d(m.marketSpread)),
        ]))
        out.line(Line([("instance \(r.id) '\(r.name)'", .bold), (" · \(settings.venue) \(settings.pair) · market over \(window.words)", .plain)]))
        guard let open = m.open, let high = m.high, let low = m.low, let last = m.last else {
            out.line("no market samples in that window: they are taken once a second while the instance runs ('start \(r.id)')")
            return out
        }
        func percent(_ x: Dec?) -> String { x.map { Units.renderPercent($0.rounded(places: 6)) } ?? "-" }
        out.line("covered  \(TimeSpan(milliseconds: m.covered / 1000 * 1000)) of running time in \(m.samples) samples")
        out.line("mid      open \(n.mid(open)), high \(n.mid(high)), low \(n.mid(low)), last \(n.mid(last)); range \(n.mid(high - low)) (\(percent(m.rangeShare)))")
        out.line("volume   \(n.amount(m.volume)) \(n.base) (\(n.money(m.turnover))); ours \(n.amount(ours)) \(n.base), \(percent(m.share(of: ours))) of it")
        out.line("quoting  both sides \(percent(m.uptime)) of the time; quotes \(percent(m.distance)) from the mid on average")
        out.line("spread   ours \(percent(m.ourSpread)) on average, the market's \(percent(m.marketSpread))")
        return out
    }

    /// The book an instance sees: its run's last, else the venue's now; and the rules to show it at.
    func market(of r: InstanceRecord) async throws(ShellError) -> (book: OrderBook, rules: MarketRules?, report: InstanceReport?) {
        let settings = try await self.settings(of: r.id)
        if let report = await api.report(r.id), let snapshot = report.snapshot {
            return (snapshot.book, report.rules, report)
        }
        if settings.venue == "sim" {
            let market = SimMarketConfig(settings)
            return (SimBook.around(mid: market.mid, spread: market.spread, rules: market.rules), market.rules, nil)
        }
        do {
            let (snapshot, rules) = try await api.venueMarket(r.id, accountBalances: false)
            return (snapshot.book, rules, nil)
        } catch {
            throw .failure("book: \(error.message)")
        }
    }

    func book(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let depth = inv["--depth"].flatMap(Int.init) ?? 10
        if inv.has("--live") {
            var once = inv
            once.flags["--live"] = nil
            return try await redraw(every: .seconds(1), instance: r.id, json: inv.has("--json") || option("output") == "json") { () async throws(ShellError) in
                try await self.book(once)
            }
        }
        let settings = try await self.settings(of: r.id)
        let (book, rules, report) = try await market(of: r)
        let n = Readable(pair: settings.pair, rules: rules)
        // What our own orders rest at each price, by side.
        var ours: [Side: [Dec: Dec]] = [.buy: [:], .sell: [:]]
        for o in report?.orders ?? [] { ours[o.side]![o.price, default: 0] += o.remaining }
        let asks = Array(book.asks.prefix(depth)), bids = Array(book.bids.prefix(depth))

        func levelJSON(_ l: BookLevel, _ side: Side) -> JSON {
            .object([("price", .string(l.price.description)), ("amount", .string(l.amount.description)),
                     ("ours", .string((ours[side]![l.price] ?? 0).description))])
        }
        var out = Output(json: .object([("id", .int(r.id)), ("pair", .string(settings.pair)), ("venue", .string(settings.venue)),
                                        ("asks", .array(asks.map { levelJSON($0, .sell) })), ("bids", .array(bids.map { levelJSON($0, .buy) })),
                                        ("mid", book.mid.map { .string($0.description) } ?? .null)]))
        let source = report == nil ? (settings.venue == "sim" ? "opening book, not running" : "MEXC now, not running") : "as the instance last read it"
        out.line(Line([("instance \(r.id) '\(r.name)'", .bold), (" · \(settings.venue) \(settings.pair) · book, \(depth) level\(depth == 1 ? "" : "s") a side (\(source))", .plain)]))
        guard !asks.isEmpty || !bids.isEmpty else {
            out.line("the book is empty")
            return out
        }
        var table = Table(["SIDE", "PRICE", "AMOUNT", "TOTAL", "OURS"], align: [.left, .right, .right, .right, .right])
        var total: Dec = 0
        var askRows: [[(String, Style)]] = []
        for l in asks {
            total += l.amount
            let mine = ours[.sell]![l.price]
            askRows.append([("ask", .red), (n.price(l.price), mine == nil ? .plain : .bold), (n.amount(l.amount), .plain),
                            (n.amount(total), .dim), (mine.map(n.amount) ?? "", .yellow)])
        }
        for row in askRows.reversed() { table.add(styled: row) }
        if let bid = book.bestBid, let ask = book.bestAsk, let mid = book.mid {
            let spread = ask - bid
            table.add(styled: [("", .plain), ("mid \(n.mid(mid))", .dim), ("spread \(n.price(spread))", .dim),
                               (Units.renderPercent(spread.divided(by: mid, scale: 6)), .dim), ("", .plain)])
        }
        total = 0
        for l in bids {
            total += l.amount
            let mine = ours[.buy]![l.price]
            table.add(styled: [("bid", .green), (n.price(l.price), mine == nil ? .plain : .bold), (n.amount(l.amount), .plain),
                               (n.amount(total), .dim), (mine.map(n.amount) ?? "", .yellow)])
        }
        out.table(table)
        // Our orders deeper than the levels shown are said, so that none is hidden.
        let deeper = (report?.orders ?? []).filter { o in
            o.side == .buy ? !bids.contains { $0.price == o.price } : !asks.contains { $0.price == o.price }
        }
        if !deeper.isEmpty { out.line(Line("\(deeper.count) own order\(deeper.count == 1 ? "" : "s") beyond the levels shown; 'orders' lists them", .dim)) }
        return out
    }

    func trades(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        if inv.has("--live") {
            var once = inv
            once.flags["--live"] = nil
            return try await redraw(every: .seconds(1), instance: r.id, json: inv.has("--json") || option("output") == "json") { () async throws(ShellError) in
                try await self.trades(once)
            }
        }
        let count = inv["--count"].flatMap(Int.init) ?? 20
        let settings = try await self.settings(of: r.id)
        guard let report = await api.report(r.id), report.state == .running || report.state == .waiting else {
            throw .failure("instance \(describe(r)) is not running: only a running instance follows its market's trades; 'start \(r.id)' starts it")
        }
        let n = Readable(pair: settings.pair, rules: report.rules)
        let tape = Array(report.tape.suffix(count))
        let fills = try await api.fills(instance: r.id, since: report.startedAt)
        func ours(_ t: TapeTrade) -> Bool {
            fills.contains { abs($0.time - t.time) <= 1000 && Dec($0.price) == t.price }
        }
        var table = Table(["TIME", "PRICE", "AMOUNT", ""], align: [.left, .right, .right, .left])
        var items: [JSON] = []
        for t in tape {
            let mine = ours(t)
            table.add(styled: [(StatusView.localTime(t.time), .dim), (n.price(t.price), mine ? .bold : .plain), (n.amount(t.amount), .plain),
                               (mine ? "ours" : "", .yellow)])
            items.append(.object([("time", .string(StatusView.isoTime(t.time))), ("price", .string(t.price.description)),
                                  ("amount", .string(t.amount.description)), ("ours", .bool(mine))]))
        }
        var out = Output(json: .object([("id", .int(r.id)), ("pair", .string(settings.pair)), ("trades", .array(items))]))
        if tape.isEmpty { out.line("no public trades since instance \(describe(r)) started") } else { out.table(table) }
        return out
    }

    func balance(_ inv: Invocation) async throws(ShellError) -> Output {
        let all = inv["ID"]?.lowercased() == "all"
        var table = Table((all ? ["INSTANCE"] : []) + ["ASSET", "TOTAL", "AVAILABLE", "IN ORDERS", "VALUE", "SHARE"],
                          align: (all ? [.left] : []) + [.left, .right, .right, .right, .right, .right])
        var items: [JSON] = []
        var out = Output()
        for r in try await targets(inv) {
            let settings = try await self.settings(of: r.id)
            guard let report = await api.report(r.id), let snapshot = report.snapshot else {
                if all { continue }
                throw .failure("instance \(describe(r)) is not running, so it holds no balances of its own now; 'start \(r.id)' starts it")
            }
            let n = Readable(pair: settings.pair, rules: report.rules)
            let b = snapshot.balances
            guard let mid = snapshot.book.mid else {
                throw .failure("instance \(describe(r)): the book has no mid, so nothing can be valued")
            }
            let baseValue = b.base.total * mid, total = baseValue + b.quote.total
            func share(_ v: Dec) -> String { total.isPositive ? Units.renderPercent(v.divided(by: total, scale: 4)) : "-" }
            let who: [(String, Style)] = all ? [("\(r.id) \(r.name)", .bold)] : []
            table.add(styled: who + [(n.base, .plain), (n.amount(b.base.total), .plain), (n.amount(b.base.available), .plain),
                                     (n.amount(b.base.locked), .plain), (n.value(baseValue), .plain), (share(baseValue), .plain)])
            table.add(styled: (all ? [("", .plain)] : []) + [(n.quote, .plain), (n.value(b.quote.total), .plain), (n.value(b.quote.available), .plain),
                                                              (n.value(b.quote.locked), .plain), (n.value(b.quote.total), .plain), (share(b.quote.total), .plain)])
            func assetJSON(_ name: String, _ a: AssetBalance, _ value: Dec) -> JSON {
                .object([("asset", .string(name)), ("total", .string(a.total.description)), ("available", .string(a.available.description)),
                         ("in_orders", .string(a.locked.description)), ("value", .string(value.description))])
            }
            items.append(.object([("id", .int(r.id)), ("name", .string(r.name)), ("pair", .string(settings.pair)),
                                  ("assets", .array([assetJSON(n.base, b.base, baseValue), assetJSON(n.quote, b.quote, b.quote.total)])),
                                  ("value", .string(total.description)), ("value_asset", .string(n.quote))]))
            if !all { out.json = items[0] }
            if !all { table.add(styled: [("total", .bold), ("", .plain), ("", .plain), ("", .plain), (n.money(total), .bold), ("", .plain)]) }
        }
        if all { out.json = .object([("instances", .array(items))]) }
        if items.isEmpty { out.line("nothing is running") } else { out.table(table) }
        return out
    }
}
