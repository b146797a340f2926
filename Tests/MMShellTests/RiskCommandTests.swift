import Foundation
import MMCore
@testable import MMStorage
import MMStrategy
import Testing
@testable import MMEngine
@testable import MMShell

@Suite struct RiskCommandTests {
    func quoting(_ h: Harness, instances: Int = 1) async {
        for _ in 0..<instances { await h.run("new; set sim.seed 5; set sim.takers 0; set refresh.time 1h") }
        await h.run("start all")
        await h.run(seconds: 2)
    }

    @Test func pauseHaltsAndResumeQuotesAgain() async throws {
        let h = try await Harness()
        await quoting(h)
        let before = try #require(await h.engine.manager.report(1))
        #expect(before.orders.count == 2)
        #expect(await h.run("pause 1").out == "paused 1 'mm1': 2 orders cancelled; 'resume 1' quotes again\n")
        #expect(await h.shell.prompt() == "mmsh[1 · 1 running · 1 halted]> ")
        await h.run(seconds: 5)
        #expect(await h.engine.manager.report(1)?.orders.isEmpty == true, "nothing is placed while halted")
        let status = try JSONSerialization.jsonObject(with: Data(await h.run("status 1 --json").out.utf8)) as! [String: Any]
        #expect(status["state"] as? String == "halted")
        let risk = try #require(status["risk"] as? [String: Any])
        #expect(risk["state"] as? String == "halted" && risk["limit"] as? String == "pause" && risk["message"] as? String == "paused by hand")
        #expect(await h.run("status 1").out.contains("risk    halted: every order cancelled, nothing placed (paused by hand) since "))
        #expect(await h.run("status").out.contains("halted"))
        #expect(await h.run("log 1").out.contains("halted (paused by hand); every order is cancelled; 'resume 1' resumes it"))
        #expect(await h.run("resume 1").out == "resumed 1 'mm1'\n")
        await h.run(seconds: 2)
        #expect(await h.engine.manager.report(1)?.orders.count == 2, "quoting again")
        #expect(await h.run("log 1").out.contains("info    active again (resumed by hand); quoting resumes"))
        #expect(await h.shell.prompt() == "mmsh[1 · 1 running]> ")
        await h.run("stop 1")
    }

    @Test func haltAllCancelsEveryOrderAndConfirmsIt() async throws {
        let h = try await Harness()
        await quoting(h, instances: 3)
        let r = await h.run("halt all")
        #expect(r.error == nil)
        #expect(r.out == """
            halted 1 'mm1': 2 orders cancelled, none open (confirmed by the venue)
            halted 2 'mm2': 2 orders cancelled, none open (confirmed by the venue)
            halted 3 'mm3': 2 orders cancelled, none open (confirmed by the venue)
            'resume all' quotes again; 'stop all' ends the instances

            """)
        await h.run(seconds: 3)
        for id in 1...3 { #expect(await h.engine.manager.report(id)?.orders.isEmpty == true) }
        #expect(await h.shell.prompt() == "mmsh[3 · 3 running · 3 halted]> ")
        #expect(await h.run("resume all").out == "resumed 1 'mm1'\nresumed 2 'mm2'\nresumed 3 'mm3'\n")
        await h.run(seconds: 2)
        for id in 1...3 { #expect(await h.engine.manager.report(id)?.orders.count == 2) }
        await h.run("stop all")
        #expect(await h.run("halt all").out == "nothing is running\n")
    }

    @Test(arguments: ["pause 1", "resume 1", "halt 1", "pause 9", "halt", "pause one"])
    func riskCommandsOnWhatDoesNotRunChangeNothing(line: String) async throws {
        let h = try await Harness()
        await h.run("new")
        let before = try h.snapshot()
        let r = await h.run(line)
        #expect(r.error != nil, "\(line)")
        #expect(r.err.hasPrefix("error: ") && r.err.filter { $0 == "\n" }.count == 1, "\(r.err)")
        #expect(try h.snapshot() == before)
    }

    @Test func theOrderRateHaltsARunawayInstance() async throws {
        let h = try await Harness()
        await h.run("new; set sim.seed 5; set sim.takers 0; set levels.count 3; set refresh.time 1s; set risk.order_rate 10")
        await h.run("start 1")
        await h.run(seconds: 10)
        let report = try #require(await h.engine.manager.report(1))
        #expect(report.risk.mode == .halted && report.risk.binding?.limit == "risk.order_rate")
        #expect(report.orders.isEmpty)
        let placed = try h.store.orders(instance: 1, openOnly: false).count
        #expect(placed <= 10, "never more than the rate in a minute: \(placed)")
        #expect(await h.run("log 1 --level error").out.contains("halted (risk.order_rate: "))
        await h.run("stop 1")
    }
}

@Suite struct UnreachableVenueViewTests {
    @Test func statusSaysWhatIsKnownWhenTheVenueIsSilent() throws {
        let now: Int64 = 1_796_126_400_000
        let book = OrderBook(bids: [BookLevel("99.99", 1)], asks: [BookLevel("100.01", 1)])
        let balances = Balances(base: AssetBalance(total: 1, available: 1), quote: AssetBalance(total: 100, available: 100))
        // The book was 3 ms old when read, 42 s ago.
        let snap = MarketSnapshot(time: now - 42_000, book: book, lastTrade: nil, balances: balances, dataAge: .milliseconds(3), source: "stream")
        var report = InstanceReport(id: 1, name: "x", state: .running, startedAt: now - 100_000,
                                    orders: [TrackedOrder(clientId: "mm1-a-1", side: .buy, price: "99.9", amount: 1, executed: 0,
                                                          placedAt: now - 50_000, batch: 1, level: 0, cancelling: false)],
                                    fills: 0, snapshot: snap, startBase: 1, startQuote: 100, hanging: [], target: "0.5", rules: nil)
        report.contactLost = "connection refused by 127.0.0.1:1234"
        report.contactLostAt = now - 30_000
        let record = InstanceRecord(id: 1, name: "x", createdAt: Date())
        let text = Renderer(color: false).render(StatusView.detail(record, settings: Settings(), report: report, lastRun: nil, storedFills: 0, now: now),
                                                 json: false)
        #expect(text.contains("no answer from the venue since "))
        #expect(text.contains("(30s): connection refused by 127.0.0.1:1234; the book, balances and orders below are as last known"))
        #expect(text.contains("streams (book confirmed 42s ago)"), "\(text)")
        #expect(text.contains("orders as last known (the venue does not answer):"))
    }
}

@Suite struct FollowTests {
    /// `log --tail` follows the engine's stream of entries: an entry published and never stored
    /// (as while the database refuses writes) is shown, each stored entry once, and Ctrl-C ends it.
    @Test func logTailFollowsTheEnginesStreamNotTheDatabase() async throws {
        let h = try await Harness()
        await h.run("new; set sim.seed 5; set sim.takers 0; set refresh.time 1h; start 1")
        await h.run(seconds: 1)
        let shell = h.shell
        let manager = h.engine.manager
        let tail = Task { await shell.run(line: "log 1 --tail -n 2", origin: .interactive) }
        // Subscribed once the history is out.
        for _ in 0..<200 where manager.events.followers == 0 || h.console.out.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(manager.events.followers == 1)
        manager.events.publish(EventRecord(instanceId: 1, time: h.clock.now(), level: "warning", kind: "test", message: "only on the stream"))
        manager.events.publish(EventRecord(instanceId: 2, time: h.clock.now(), level: "warning", kind: "test", message: "another instance"))
        _ = await manager.pause(1, binding: RiskBinding("pause", "paused by hand"))
        for _ in 0..<200 {
            if h.console.out.contains("cancelled buy") && h.console.out.contains("halted (paused by hand)") { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        h.console.interrupt()
        _ = await tail.value
        let (out, _) = h.console.take()
        #expect(out.contains("warning only on the stream"))
        #expect(!out.contains("another instance"))
        #expect(out.components(separatedBy: "halted (paused by hand)").count == 2, "each entry once: \(out)")
        // Over the socket the engine lets go once it notices the client left (its next write fails).
        for _ in 0..<300 where manager.events.followers > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(manager.events.followers == 0, "the subscription ends with the command")
        await h.run("stop 1")
    }
}

@Suite struct CurrentInstanceTests {
    @Test func theCurrentInstanceIsTheDefaultForEveryInstanceCommand() async throws {
        let h = try await Harness()
        await h.run("new a; set sim.seed 5; set sim.takers 0; new b; set sim.seed 6; set sim.takers 0")
        // b is current.
        #expect(await h.run("start").out == "started 2 'b' on sim BTCUSDT\n")
        await h.run(seconds: 2)
        #expect(await h.run("orders").out.contains("mm2-"))
        #expect(await h.run("log -n 50").out.contains("started on sim BTCUSDT (seed 6)"))
        #expect(await h.run("log --level warn").error == nil)
        #expect(await h.run("fills").out == "instance 2 'b' has no fills yet\n")
        #expect(await h.run("pause").out.hasPrefix("paused 2 'b'"))
        #expect(await h.run("resume").out == "resumed 2 'b'\n")
        #expect(await h.run("stop").out.hasPrefix("stopped 2 'b'"))
        #expect(await h.engine.manager.isRunning(1) == false, "a was never touched")
        // Durations for --watch, and what is not one.
        #expect(await h.run("status --watch 0").err == "error: status: --watch takes a duration from 200ms to 1h, such as 2s or 500ms, not '0'\n")
        #expect(await h.run("status --watch 2h").error != nil)
        // A spread above 20% is accepted, with a warning naming the risk.
        let wide = await h.run("set spread.ask 25%")
        #expect(wide.error == nil && wide.out == "2 b: spread.ask 0.1% → 25%\n")
        #expect(wide.err == "warning: spread.ask 25% is above 20%: quotes this far from the market rarely fill, and one that does trades far from the price\n")
        #expect(await h.run("set spread.ask 20%").err.isEmpty)
        // A name stands for the id everywhere an id goes.
        #expect(await h.run("use a").error == nil)
        #expect(await h.shell.current == 1)
        #expect(await h.run("set b spread.bid 0.3%").out == "2 b: spread.bid 0.1% → 0.3%\n")
        #expect(await h.run("get b spread.bid").out == "0.3%\n")
        #expect(await h.run("start b").out == "started 2 'b' on sim BTCUSDT\n")
        #expect(await h.run("stop B").out.hasPrefix("stopped 2 'b'"), "names match ignoring case when nothing matches exactly")
        #expect(await h.run("log nobody").err == "error: there is no instance named 'nobody'; 'list' shows them\n")
        // Without a current instance, the error says how to choose one.
        let fresh = try await Harness()
        #expect(await fresh.run("log").err == "error: no current instance; give an id (log 1 …) or choose one with 'use ID' ('list' shows them)\n")
    }
}
