import Foundation
import Testing
@testable import MMShell

@Suite struct PreviewTests {
    @Test func previewShowsTheLadderAndItsSteps() async throws {
        let h = try await Harness()
        await h.run("new; set levels.count 2; set spread.bid 0.2%; set sim.volatility 0; set sim.takers 0")
        let text = await h.run("preview").out
        #expect(text == """
            instance 1 'mm1' · sim BTCUSDT · reference price 60000
            LEVEL  SIDE     PRICE    AMOUNT  DISTANCE
                1  sell  60120.00  0.001000     +0.2%
                0  sell  60060.00  0.001000     +0.1%
                0  buy   59880.00  0.001000     -0.2%
                1  buy   59820.00  0.001000     -0.3%
            steps:
              price: mid 60000
              ladder: 2 levels a side, bid spread 0.2%, ask spread 0.1%, level spread 0.1%
              place: 2 bid(s), 2 ask(s); next refresh in 15s

            """)
    }

    @Test func previewJSONIsStableAndReproducible() async throws {
        let h = try await Harness()
        await h.run("new; set sim.volatility 0; set sim.takers 0; set inventory.skew on; set inventory.range 100; set sim.base 0.2")
        let first = await h.run("preview --json").out
        let second = await h.run("preview 1 --json").out
        #expect(first == second)
        let object = try JSONSerialization.jsonObject(with: Data(first.utf8)) as! [String: Any]
        #expect(object["reference_price"] as? String == "60000")
        let buys = object["buys"] as! [[String: Any]], sells = object["sells"] as! [[String: Any]]
        // Base is 0.2 × 60000 = 12000 of 18000, a third of the way from the target to the top of
        // the range (9000 ± 9000): bid ×2/3, ask ×4/3.
        #expect(buys.first?["amount"] as? String == "0.000666")
        #expect(sells.first?["amount"] as? String == "0.001333")
        #expect(buys.first?["level"] as? Int == 0 && buys.first?["price"] as? String == "59940.00")
        #expect((object["steps"] as! [String]).contains { $0 == "skew: bid ×0.6667, ask ×1.3333 (base 66.7% of value, target 50%)" })
    }

    @Test func previewExplainsDroppedOrders() async throws {
        let h = try await Harness()
        await h.run("new; set order.amount 0.00001")
        let out = await h.run("preview").out
        #expect(out.contains("dropped buy level 0: value 0.5994 below the market's minimum 1"))
        #expect(out.contains("no orders"))
    }

    @Test func aRunningInstanceIsPreviewedAgainstItsOwnMarket() async throws {
        let h = try await Harness()
        await h.run("new; set sim.seed 2; set sim.volatility 1%; set sim.takers 0")
        await h.run("start 1")
        await h.run(seconds: 30)
        let running = try JSONSerialization.jsonObject(with: Data(await h.run("preview --json").out.utf8)) as! [String: Any]
        #expect(running["reference_price"] as? String != "60000", "the market moved")
        await h.run("stop 1")
    }

    /// Stopped, Avellaneda says what its estimators need; running, its preview starts from what
    /// they have learnt and shows σ, α, κ, q, r and δ.
    @Test func anAvellanedaPreviewShowsItsEstimators() async throws {
        let h = try await Harness()
        await h.run("new; set strategy avellaneda; set as.volatility_buffer 10; set as.intensity_buffer 20; set sim.seed 3; set sim.takers 200")
        let cold = await h.run("preview").out
        #expect(cold.contains("no orders: avellaneda warming up: σ 10 more mid samples (one a second), the intensity fit 20 more public trades; nothing is quoted until then"))
        await h.run("start 1")
        await h.run(seconds: 40)
        let warm = await h.run("preview").out
        #expect(warm.contains("LEVEL  SIDE"))
        for figure in ["σ ", "α ", "κ ", "q ", "reservation price r = s·(1 − q·γ·σ·T) = ", "optimal spread δ = "] {
            #expect(warm.contains(figure), "preview shows \(figure)")
        }
        await h.run("stop 1")
    }

    @Test func previewWithoutAnAnswerFromMEXCSaysWhy() async throws {
        let h = try await Harness()
        // Port 9 on loopback: nothing listens, so nothing leaves this machine.
        await h.run("new; set venue paper; set mexc.rest_url http://127.0.0.1:9; set mexc.ws_url ws://127.0.0.1:9/ws")
        let r = await h.run("preview")
        #expect(r.err.hasPrefix("error: preview: no answer from MEXC"), "\(r.err)")
    }
}
