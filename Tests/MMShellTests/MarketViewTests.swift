import Foundation
import Testing
@testable import MMShell

@Suite struct MarketViewTests {
    @Test func theBookShowsBothSidesWithOurOrdersMarked() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.takers 0; set sim.volatility 0; set spread.bid 0.01%; set spread.ask 0.01%")
        let cold = await h.run("book --depth 2").out
        #expect(cold.contains("book, 2 levels a side (opening book, not running)"))
        let rows = cold.split(separator: "\n").map(String.init)
        // Asks highest first, then the mid, then bids best first.
        let prices = rows.compactMap { row -> String? in
            let cells = row.split(separator: " ")
            return cells.first == "ask" || cells.first == "bid" ? String(cells[1]) : nil
        }
        #expect(prices == ["60,027.00", "60,015.00", "59,985.00", "59,973.00"])
        #expect(cold.contains("mid 60,000.00") && cold.contains("spread 30.00"))
        // Running 0.01% from the mid, our quotes rest inside the market's spread: the best
        // levels are ours alone.
        await h.run("start")
        await h.run(seconds: 2)
        let warm = await h.run("book --depth 2").out
        let bid = try #require(warm.split(separator: "\n").first { $0.hasPrefix("bid") && $0.contains("59,994.00") })
        #expect(bid.hasSuffix("0.001000"), "\(bid)")
        let json = try JSONSerialization.jsonObject(with: Data(await h.run("book --depth 1 --json").out.utf8)) as! [String: Any]
        let bids = json["bids"] as! [[String: String]]
        #expect(bids.count == 1 && bids[0]["ours"] == "0.001")
        #expect(await h.run("book --depth 0").err.contains("--depth"))
        await h.run("stop all")
    }

    @Test func tradesFollowTheMarketAndMarkOurFills() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.seed 4; set sim.takers 600; set spread.bid 0; set spread.ask 0; set refresh.fill_delay 0")
        let stopped = await h.run("trades")
        #expect(stopped.err.contains("is not running: only a running instance follows its market's trades"))
        await h.run("start")
        await h.run(seconds: 30)
        let out = await h.run("trades -n 500").out
        #expect(out.contains("TIME") && out.contains("PRICE"))
        let json = try JSONSerialization.jsonObject(with: Data(await h.run("trades -n 500 --json").out.utf8)) as! [String: Any]
        let trades = json["trades"] as! [[String: Any]]
        #expect(!trades.isEmpty)
        let fills = try h.store.fills(instance: 1)
        #expect(!fills.isEmpty, "quotes at the touch on a busy market get filled")
        #expect(trades.contains { $0["ours"] as? Bool == true })
        #expect(out.contains("ours"))
        await h.run("stop all")
    }

    @Test func balanceSaysWhatIsHeldInOrdersAndWhatItIsWorth() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.takers 0; set sim.volatility 0; new eth; set sim.takers 0")
        #expect(await h.run("balance btc").err.contains("is not running, so it holds no balances of its own now"))
        #expect(await h.run("balance all").out.contains("nothing is running"))
        await h.run("start btc")
        await h.run(seconds: 2)
        let out = await h.run("balance btc").out
        let btc = try #require(out.split(separator: "\n").first { $0.hasPrefix("BTC") })
        #expect(btc.contains("0.100000") && btc.contains("0.099000") && btc.contains("0.001000"))
        let usdt = try #require(out.split(separator: "\n").first { $0.hasPrefix("USDT") })
        #expect(usdt.contains("6,000.00") && usdt.contains("5,940.06") && usdt.contains("59.94"))
        #expect(out.contains("12,000.00 USDT"))
        let all = try JSONSerialization.jsonObject(with: Data(await h.run("balance all --json").out.utf8)) as! [String: Any]
        let instances = all["instances"] as! [[String: Any]]
        #expect(instances.map { $0["name"] as? String } == ["btc"])
        #expect(instances[0]["value"] as? String == "12000")
        await h.run("stop all")
    }
}
