import Foundation
import MMCore
import Testing
@testable import MMShell

@Suite struct PnLCommandTests {
    func json(_ h: Harness, _ line: String) async throws -> [String: Any] {
        let r = await h.run(line)
        #expect(r.error == nil, "\(line): \(r.err)")
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
    }

    func dec(_ v: Any?) -> Dec { Dec(v as! String)! }

    /// The ledger reconciles with the fills to the last unit, agrees with status while running,
    /// and answers after the instance stopped and the shell restarted.
    @Test func pnlReconcilesWithTheFillsAndSurvivesARestart() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.seed 8; set sim.takers 600; set sim.volatility 0.5%; set spread.bid 0.01%; set spread.ask 0.01%")
        await h.run("set refresh.fill_delay 0; set refresh.time 2s; set sim.fee 0.1%; start")
        await h.run(seconds: 120)
        // Read as one moment: an order the last decision sent may still be settling in the engine
        // (over the socket the two reads are further apart), so the pair is read until it holds still.
        var running: [String: Any] = [:], statusPnL: [String: Any] = [:]
        for _ in 0..<20 {
            running = try await json(h, "pnl btc --json")
            statusPnL = try #require(try await json(h, "status btc --json")["pnl"] as? [String: Any])
            let again = try await json(h, "pnl btc --json")
            if dec(again["net"]) == dec(running["net"]) && dec(running["net"]) == dec(statusPnL["total"]) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        // While running: net P&L is status's P&L against holding, exactly.
        #expect(dec(running["net"]) == dec(statusPnL["total"]))
        #expect(dec(running["realized"]) + dec(running["unrealized"]) - dec(running["fees"]) == dec(running["net"]))
        #expect(dec(running["spread_capture"]) + dec(running["inventory"]) - dec(running["fees"]) == dec(running["net"]))
        // From the fills themselves: the base and quote they moved, at the mark.
        let fills = try h.store.fills(instance: 1)
        #expect(fills.count == running["fills"] as? Int && fills.count > 10)
        var base: Dec = 0, quote: Dec = 0
        for f in fills {
            let q = Dec(f.quantity)!, p = Dec(f.price)!, fee = Dec(f.fee)!
            if f.side == "buy" { base += q; quote -= q * p + fee } else { base -= q; quote += q * p - fee }
            #expect(f.mid != nil && f.maker == true && f.feeAsset == "USDT" && f.runId != nil && f.orderId != nil)
        }
        #expect(base * dec(running["mark"]) + quote == dec(running["net"]))
        #expect(dec(running["fees"]).isPositive)

        await h.run("stop all")
        try await h.reopen()
        let after = try await json(h, "pnl 1 --json")
        #expect(after["fills"] as? Int == fills.count)
        let text = await h.run("pnl 1").out
        #expect(text.contains("net P&L") && text.contains("USDT after fees") && text.contains("(the last mid it saw, at "))
        // By hour: the periods' nets add up to the whole.
        let hourly = try await json(h, "pnl 1 --by hour --json")
        let periods = try #require(hourly["periods"] as? [[String: Any]])
        #expect(periods.reduce(Dec(0)) { $0 + dec($1["net"]) } == dec(hourly["net"]))
        // A run, a window, and all instances.
        #expect(try await json(h, "pnl 1 --run 1 --json")["fills"] as? Int == fills.count)
        h.clock.advance(ms: 10_000)
        #expect(try await json(h, "pnl 1 --since 5s --json")["fills"] as? Int == 0)
        let everyone = try await json(h, "pnl all --json")
        #expect((everyone["totals"] as? [[String: Any]])?.first?["quote_asset"] as? String == "USDT")
    }

    /// `market`: the window's mid, the market's volume with our share of it (our fills over the
    /// prints), quote uptime and distance, from the samples; the same after a restart.
    @Test func marketSaysWhatTheMarketDidAndHowWeTookPart() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.seed 8; set sim.takers 600; set spread.bid 0.05%; set spread.ask 0.05%; set refresh.fill_delay 0; start")
        let empty = await h.run("market btc --json")
        #expect(empty.error == nil)
        await h.run(seconds: 120)
        await h.run("stop all")
        try await h.reopen()
        let m = try await json(h, "market 1 --json")
        let samples = try h.store.samples(instance: 1, from: 0, to: .max)
        #expect(m["samples"] as? Int == samples.count && samples.count >= 100)
        #expect(dec(m["open"]) == samples.first!.mid && dec(m["last"]) == samples.last!.mid)
        #expect(dec(m["high"]) == samples.map(\.mid).max()! && dec(m["low"]) == samples.map(\.mid).min()!)
        let ours = try h.store.fills(instance: 1).reduce(Dec(0)) { $0 + Dec($1.quantity)! }
        #expect(ours.isPositive && dec(m["our_volume_base"]) == ours)
        #expect(dec(m["volume_base"]) == samples.reduce(Dec(0)) { $0 + $1.volume } && dec(m["volume_base"]) >= ours)
        #expect(dec(m["our_share"]) == ours.divided(by: dec(m["volume_base"]), scale: 8))
        let uptime = dec(m["quote_uptime"])
        #expect(uptime.isPositive && uptime <= 1)
        // Quotes 0.05% from the mid, give or take the ticks they are floored to.
        let distance = dec(m["quote_distance"]).doubleValue
        #expect(distance > 0.0003 && distance < 0.002, "\(distance)")
        let text = await h.run("market 1").out
        #expect(text.contains("volume   ") && text.contains(" BTC (") && text.contains("both sides ") && text.contains("USDT"), "\(text)")
        h.clock.advance(ms: 3_600_000)
        #expect(await h.run("market 1 --since 10m").out.contains("no market samples in that window"))
        #expect(await h.run("market 1 --since soon").err.contains("--since takes a duration"))
    }

    @Test func fillsAsCSVAndExports() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.seed 8; set sim.takers 600; set spread.bid 0.01%; set spread.ask 0.01%; set refresh.fill_delay 0; start")
        await h.run(seconds: 90)
        await h.run("stop all")
        let fills = try h.store.fills(instance: 1)
        #expect(fills.count > 3)
        let csv = await h.run("fills 1 --csv").out
        let rows = csv.components(separatedBy: "\r\n").dropLast()
        #expect(rows.first == "time,pair,side,price,amount,notional,fee,fee_asset,maker,client_id,order_id,trade_id,run")
        #expect(rows.count == fills.count + 1, "every fill, not the newest 20")
        let first = rows[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(first[0] == TimeText.iso(fills[0].time) && first[1] == "BTCUSDT" && first[3] == fills[0].price)
        #expect(first[5] == (Dec(fills[0].price)! * Dec(fills[0].quantity)!).description && first[7] == "USDT" && first[8] == "true" && first[12] == "1")

        let path = h.url.appendingPathComponent("f.csv").path
        #expect(await h.run("export fills 1 \(path)").out == "wrote \(fills.count) rows of fills of instance 1 'btc' to \(path)\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == csv)
        #expect(await h.run("export fills 1 \(path)").err.contains("exists; add --force to overwrite it"))
        let pnl = h.url.appendingPathComponent("p.csv").path
        await h.run("export pnl 1 \(pnl)")
        #expect(try String(contentsOfFile: pnl, encoding: .utf8).hasPrefix("time,mid,base,quote,value,hold_value,net,fees,run\r\n"))
        let events = h.url.appendingPathComponent("e.csv").path
        await h.run("export events 1 \(events)")
        let log = try String(contentsOfFile: events, encoding: .utf8)
        #expect(log.hasPrefix("time,level,kind,message\r\n") && log.contains(",success,"))
        // A message with a comma is quoted.
        #expect(log.contains("\"started on sim BTCUSDT (seed 8); base 0.1, quote 6000\""))
        let nowhere = await h.run("export fills 1 /nonexistent/dir/f.csv")
        #expect(nowhere.error != nil && nowhere.err.contains("cannot write /nonexistent/dir/f.csv"))
    }

    @Test func csvQuotesAsRFC4180Says() {
        #expect(CSV.text([["a", "b,c", "say \"hi\"", "two\nlines"]]) == "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n")
    }

    @Test func badWindowsAreRefusedWithWhatIsAccepted() async throws {
        let h = try await Harness()
        await h.run("new")
        #expect(await h.run("pnl --since soon").err.contains("--since takes a duration such as 30m, 24h or 7d, not 'soon'"))
        #expect(await h.run("pnl --from yesterday").err.contains("--from takes a time such as 2026-12-01"))
        #expect(await h.run("pnl --run 2").err.contains("has 0 runs; --run takes 1 to 1"))
        #expect(await h.run("pnl --run 1 --since 1h").err.contains("--run covers one run"))
        #expect(await h.run("pnl").out.contains("has no fills and no market price yet"))
    }

    @Test func everyCommandIsInAHelpGroup() {
        let grouped = Set(Commands.groups.flatMap(\.1))
        for spec in Commands.all { #expect(grouped.contains(spec.name), "'\(spec.name)' is listed by 'help'") }
    }
}

@Suite struct RedirectionTests {
    @Test func outputGoesToAFileReplacedOrAppended() async throws {
        let h = try await Harness()
        await h.run("new btc; new eth")
        let path = h.url.appendingPathComponent("list.txt").path
        let r = await h.run("list > \(path)")
        #expect(r.error == nil && r.out.isEmpty, "\(r.err)")
        let first = try String(contentsOfFile: path, encoding: .utf8)
        #expect(first.contains("btc") && first.contains("eth") && !first.contains("\u{1B}"))
        await h.run("get 1 pair >>\(path)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == first + "BTCUSDT\n")
        await h.run("get 1 pair > \(path)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "BTCUSDT\n")
        // JSON goes as JSON; a quoted '>' is a word like any other.
        await h.run("get 1 pair --json > \(path)")
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("{"))
        #expect(await h.run("rename 2 '>x'").err.contains("rename"))
    }

    @Test func pathsThatCannotBeWrittenAreRefused() async throws {
        let h = try await Harness()
        await h.run("new")
        let r = await h.run("list > /nonexistent/dir/out.txt")
        #expect(r.error != nil && r.err.contains("cannot write /nonexistent/dir/out.txt"))
        #expect(await h.run("list >> /nonexistent/dir/out.txt").err.contains("cannot write /nonexistent/dir/out.txt"))
        #expect(await h.run("list > a b").err.contains("takes one file after it, at the end of the command"))
        #expect(await h.run("list >").err.contains("takes one file after it"))
    }
}
