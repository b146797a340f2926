import Foundation
import MMCore
import MMEngine
import MMStorage
import MMStrategy

extension Commands {
    static let chartCommands: [CommandSpec] = [
        CommandSpec("chart", summary: "draw an instance's price, P&L, inventory or book in the terminal (or as SVG)",
                    args: [ArgSpec("ID", .instance, optional: true),
                           ArgSpec("WHAT", .choice(["price", "pnl", "inventory", "spread", "depth"]), optional: true)],
                    flags: [FlagSpec("--since", value: ("DURATION", .text), "the last DURATION (default: the instance's lifetime)"),
                            FlagSpec("--run", value: ("N", .integer(1...1_000_000)), "the Nth run only"),
                            FlagSpec("--width", value: ("N", .integer(20...400)), "columns (default: the terminal's, else 80)"),
                            FlagSpec("--height", value: ("N", .integer(5...100)), "rows (default 16)"),
                            FlagSpec("--svg", value: ("FILE", .file(extensions: ["svg"])), "write the chart to FILE as SVG instead")],
                    examples: ["chart", "chart 1 pnl --since 24h", "chart btc inventory", "chart 1 depth", "chart 1 price --svg price.svg"],
                    details: "price: the mid, the instance's best bid and ask, and its buys (▲) and sells (▼); spread: the market's and the instance's own, as a share of the mid; pnl: net P&L after fees with its spread-capture and inventory parts (as 'pnl' defines them); inventory: the base share of the holding against inventory.target (and risk.inventory_deviation, when set); depth: the book now, cumulative on both sides, with the instance's orders. The series come from the market samples (one a second while running, one a minute after a day; see 'market'), thinned to what the width shows, and the stored fills; older runs without samples are drawn from their P&L snapshots (one a minute).",
                    showsData: true) { inv, shell in try await shell.chart(inv) },
    ]
}

extension Shell {
    func chart(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let what = inv["WHAT"] ?? "price"
        let settings = try await self.settings(of: r.id)
        let window = try await ledgerWindow(inv, instance: r)
        let n = try await readable(r.id)
        let assets = Units.assets(of: settings.pair) ?? (base: "base", quote: "quote")
        let width = inv["--width"].flatMap(Int.init) ?? (console.isTerminal ? console.columns ?? 80 : 80)
        let height = inv["--height"].flatMap(Int.init) ?? 16
        let rows = try await chartSamples(r, from: window.from, to: window.to, points: width * 4, run: window.run)
        let fills = try await api.fills(instance: r.id, since: window.from, until: window.to, run: window.run)
        var series: [Chart.Series] = []
        var band: (Double, Double)?
        var yLabel: (Double) -> String = { n.value(Dec(statistic: $0, places: n.quotePlaces)) }
        var title = "instance \(r.id) '\(r.name)' · \(settings.pair) · \(what)"
        func time(_ ms: Int64) -> Double { Double(ms) / 1000 }
        let xLabel: (Double) -> String = { String(TimeText.local(Int64($0 * 1000)).dropFirst(5).prefix(11)) }

        switch what {
        case "price":
            series.append(Chart.Series("mid", rows.map { (time($0.time), $0.mid.doubleValue) }))
            let ourBids = rows.compactMap { row in row.ourBid.map { (time(row.time), $0.doubleValue) } }
            let ourAsks = rows.compactMap { row in row.ourAsk.map { (time(row.time), $0.doubleValue) } }
            if !ourBids.isEmpty { series.append(Chart.Series("our bid", ourBids)) }
            if !ourAsks.isEmpty { series.append(Chart.Series("our ask", ourAsks)) }
            let buys = fills.filter { $0.side == "buy" }.compactMap { f in Dec(f.price).map { (time(f.time), $0.doubleValue) } }
            let sells = fills.filter { $0.side == "sell" }.compactMap { f in Dec(f.price).map { (time(f.time), $0.doubleValue) } }
            if !buys.isEmpty { series.append(Chart.Series("buys", buys, marker: "▲")) }
            if !sells.isEmpty { series.append(Chart.Series("sells", sells, marker: "▼")) }
            yLabel = { n.price(Dec(statistic: $0, places: n.pricePlaces)) }
            title += " (\(assets.quote))"
        case "spread":
            series.append(Chart.Series("market", rows.compactMap { row in row.marketSpread.map { (time(row.time), $0.doubleValue * 100) } }))
            series.append(Chart.Series("ours", rows.compactMap { row in row.ourSpread.map { (time(row.time), $0.doubleValue * 100) } }))
            yLabel = { String(format: "%.3f%%", $0) }
            title += " (best ask less best bid, % of the mid)"
        case "pnl":
            // Net, spread capture and inventory at each snapshot, from the fills up to it.
            let ledgerFills = try await api.ledgerFills(instance: r.id, since: window.from, until: window.to, baseAsset: assets.base, run: window.run)
            var net: [(x: Double, y: Double)] = [], capture: [(x: Double, y: Double)] = [], inventory: [(x: Double, y: Double)] = []
            var i = 0, capturedSoFar: Dec = 0, position: Dec = 0, bookedAtMid: Dec = 0, cash: Dec = 0, feesBase: Dec = 0, feesQuote: Dec = 0
            for row in rows {
                let mid = row.mid
                while i < ledgerFills.count && ledgerFills[i].time <= row.time {
                    let f = ledgerFills[i]
                    let at = f.mid ?? f.price
                    let signed = f.isBuy ? f.amount : -f.amount
                    capturedSoFar += f.isBuy ? f.amount * (at - f.price) : f.amount * (f.price - at)
                    position += signed
                    bookedAtMid += signed * at
                    cash += f.isBuy ? -(f.price * f.amount) : f.price * f.amount
                    if f.feeInBase { feesBase += f.fee } else { feesQuote += f.fee }
                    i += 1
                }
                let x = time(row.time)
                let inv = position * mid - bookedAtMid
                capture.append((x, capturedSoFar.doubleValue))
                inventory.append((x, inv.doubleValue))
                net.append((x, (capturedSoFar + inv - feesBase * mid - feesQuote).doubleValue))
            }
            series = [Chart.Series("net P&L", net), Chart.Series("spread capture", capture), Chart.Series("inventory", inventory)]
            title += " (\(assets.quote), after fees)"
        case "inventory":
            series.append(Chart.Series("base share", rows.compactMap { row in
                let (mid, b, q) = (row.mid, row.base, row.quote)
                let value = b * mid + q
                return value.isPositive ? (time(row.time), (b * mid).divided(by: value, scale: 8).doubleValue * 100) : nil
            }))
            let target = (settings["inventory.target"].fraction ?? "0.5").doubleValue * 100
            let deviation = (settings["risk.inventory_deviation"].fraction?.doubleValue ?? 0) * 100
            band = (max(0, target - deviation), min(100, target + deviation))
            yLabel = { String(format: "%.1f%%", $0) }
            title += " (base share of the holding, %, target \(Units.renderPercent(settings["inventory.target"].fraction ?? "0.5")))"
        default:
            return try await depthChart(r, settings: settings, width: width, height: height)
        }

        guard series.contains(where: { !$0.points.isEmpty }) else {
            return .message("instance \(describe(r)) has nothing to draw \(what == "spread" ? "for its spread " : "")yet: its market samples are taken once a second while it runs")
        }
        if let path = inv["--svg"] {
            let url = resolvePath(path)
            let text = Chart.svg(series, title: title, yLabel: yLabel, xLabel: xLabel, band: band)
            if dryRun { return .message("would write \(url.path)") }
            try writeAtomically(text, to: url, mode: 0o644)
            return .message("wrote the \(what) chart of instance \(describe(r)) to \(url.path)")
        }
        var out = Output(json: .object([("id", .int(r.id)), ("chart", .string(what)), ("series", .array(series.map { s in
            .object([("name", .string(s.name)), ("points", .array(s.points.map { .array([.string(String($0.x)), .string(String($0.y))]) }))])
        }))]))
        out.line(Line(title, .bold))
        let styles: [Style] = [.cyan, .green, .red, .yellow, .blue]
        for row in Chart.draw(series, width: width, height: height, yLabel: yLabel, xLabel: xLabel, band: band) {
            out.line(Line(row.map { ($0.text, $0.series.map { styles[$0 % styles.count] } ?? .dim) }))
        }
        out.line(Line(series.enumerated().map { i, s in (s.marker.map { "\($0) \(s.name)   " } ?? "⣿ \(s.name)   ", styles[i % styles.count]) }))
        return out
    }

    /// What a chart draws: the market samples of the window, at most about `points` of them
    /// (the newest of each equal slice of time); for runs from before samples were kept, their
    /// P&L snapshots (one a minute) stand in, with the mid, holding and net P&L only.
    func chartSamples(_ r: InstanceRecord, from: Int64, to: Int64, points: Int, run: Int64? = nil) async throws(ShellError) -> [MarketSample] {
        let runs = try await api.runs(instance: r.id).filter { run == nil ? $0.backtest == nil : $0.id == run }
        let start = max(from, runs.first?.startedAt ?? from)
        let every = max(1000, (to - start) / Int64(max(points, 1)))
        let samples = try await api.samples(instance: r.id, from: start, to: to, every: every, run: run)
        let sampledFrom = samples.first?.time ?? Int64.max
        let older = try await api.pnlRows(instance: r.id, from: start, to: min(to, sampledFrom - 1), run: run)
        var out: [MarketSample] = []
        var lastAt: Int64?
        for row in older {
            guard lastAt.map({ row.time - $0 >= every }) ?? true, let mid = Dec(row.mid), let base = Dec(row.base), let quote = Dec(row.quote),
                  let value = Dec(row.value), let hold = Dec(row.hold) else { continue }
            lastAt = row.time
            out.append(MarketSample(time: row.time, span: 60_000, mid: mid, bid: nil, ask: nil, ourBid: nil, ourAsk: nil,
                                    base: base, quote: quote, net: value - hold))
        }
        return out + samples
    }

    /// The book now as horizontal bars: cumulative amount on each side, our orders marked.
    func depthChart(_ r: InstanceRecord, settings: Settings, width: Int, height: Int) async throws(ShellError) -> Output {
        let (book, rules, report) = try await market(of: r)
        let n = Readable(pair: settings.pair, rules: rules)
        let levels = max(1, (height - 1) / 2)
        let asks = Array(book.asks.prefix(levels)), bids = Array(book.bids.prefix(levels))
        var ours: Set<Dec> = []
        for o in report?.orders ?? [] { ours.insert(o.price) }
        var cumulative: [(Dec, Dec, Bool, Bool)] = []   // price, total, is ask, ours
        var total: Dec = 0
        for l in asks { total += l.amount; cumulative.append((l.price, total, true, ours.contains(l.price))) }
        let askRows = cumulative.reversed()
        var bidRows: [(Dec, Dec, Bool, Bool)] = []
        total = 0
        for l in bids { total += l.amount; bidRows.append((l.price, total, false, ours.contains(l.price))) }
        let largest = (askRows.map(\.1) + bidRows.map(\.1)).max() ?? 1
        let labelWidth = (askRows.map { n.price($0.0).count } + bidRows.map { n.price($0.0).count }).max() ?? 8
        let barWidth = max(4, width - labelWidth - 22)
        var out = Output(json: .object([("id", .int(r.id)), ("chart", .string("depth")),
                                        ("asks", .array(asks.map { .array([.string($0.price.description), .string($0.amount.description)]) })),
                                        ("bids", .array(bids.map { .array([.string($0.price.description), .string($0.amount.description)]) }))]))
        out.line(Line("instance \(r.id) '\(r.name)' · \(settings.pair) · depth (cumulative amount; ◀ our order at that price)", .bold))
        func bar(_ amount: Dec) -> String {
            let eighths = Int((amount.doubleValue / largest.doubleValue * Double(barWidth * 8)).rounded())
            let blocks = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
            return String(repeating: "█", count: eighths / 8) + blocks[eighths % 8]
        }
        for (price, amount, isAsk, mine) in Array(askRows) + bidRows {
            let label = String(repeating: " ", count: labelWidth - n.price(price).count) + n.price(price)
            out.line(Line([(label + " ", mine ? .bold : .plain), (bar(amount), isAsk ? .red : .green),
                           (" " + n.amount(amount) + (mine ? " ◀" : ""), mine ? .yellow : .dim)]))
            if isAsk, price == askRows.last?.0, let mid = book.mid { out.line(Line("\(String(repeating: " ", count: labelWidth)) mid \(n.mid(mid))", .dim)) }
        }
        if askRows.isEmpty && bidRows.isEmpty { out.line("the book is empty") }
        return out
    }
}
