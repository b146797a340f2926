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
        let h = try Harness()
        await h.run("new btc; set sim.seed 8; set sim.takers 600; set sim.volatility 0.5%; set spread.bid 0.01%; set spread.ask 0.01%")
        await h.run("set refresh.fill_delay 0; set refresh.time 2s; set sim.fee 0.1%; start")
        await h.run(seconds: 120)
        let running = try await json(h, "pnl btc --json")
        let status = try await json(h, "status btc --json")
        let statusPnL = try #require(status["pnl"] as? [String: Any])
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
        try h.reopen()
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

    @Test func badWindowsAreRefusedWithWhatIsAccepted() async throws {
        let h = try Harness()
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
