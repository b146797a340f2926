import Foundation
import MMCore
import MMEngine
import Testing
@testable import MMShell

@Suite struct EngineCommandTests {
    /// A busy seeded market with a tight quote, so fills come quickly.
    func busyInstance(_ h: Harness) async {
        await h.run("new; set sim.seed 5; set sim.takers 600; set spread.bid 0.01%; set spread.ask 0.01%; set refresh.fill_delay 1s; set refresh.time 3s")
    }

    @Test func startStatusOrdersLogStop() async throws {
        let h = try await Harness()
        await busyInstance(h)
        #expect(await h.run("start 1").out == "started 1 'mm1' on sim BTCUSDT\n")
        #expect(await h.shell.prompt() == "mmsh[1 · 1 running]> ")
        #expect(await h.run("start 1").err == "error: instance 1 'mm1' is running already\n")
        await h.run(seconds: 120)
        let status = try JSONSerialization.jsonObject(with: Data(await h.run("status 1 --json").out.utf8)) as! [String: Any]
        #expect(status["state"] as? String == "running")
        #expect((status["fills"] as? Int ?? 0) > 0)
        let balances = status["balances"] as! [String: [String: String]]
        #expect(balances["base"]?["total"] != nil && balances["quote"]?["available"] != nil)
        #expect((status["pnl"] as? [String: String])?["fees"] == "0")
        let list = await h.run("status").out
        #expect(list.contains("running") && list.contains("ID  NAME"))
        let log = await h.run("log 1 -n 500").out
        #expect(log.contains("started on sim BTCUSDT (seed 5)") && log.contains("success filled"))
        #expect(!(await h.run("log 1 --level warning").out.contains("success")))
        let fills = await h.run("fills 1 --json").out
        #expect(fills.contains("\"side\"") && fills.contains("\"client_id\": \"mm1-"))
        let orders = await h.run("orders 1").out
        let stop = await h.run("stop 1").out
        let open = orders.contains("no open orders") ? 0 : orders.split(separator: "\n").count - 1
        #expect(stop == "stopped 1 'mm1': \(open) order\(open == 1 ? "" : "s") cancelled\n")
        #expect(await h.run("orders 1").out == "instance 1 'mm1' has no open orders\n")
        #expect(await h.run("stop 1").err == "error: instance 1 'mm1' is not running\n")
        #expect(await h.shell.prompt() == "mmsh[1]> ")
        #expect(try h.store.orders(instance: 1, openOnly: true).isEmpty)
    }

    /// Bad commands while an instance runs change nothing, stored or running.
    @Test(arguments: ["set pair ETHUSDT", "set venue paper", "reset --all", "reset pair", "delete 1 --yes", "set spread.bid x",
                      "start 2", "stop 7", "log 1 --since 5x", "fills 1 -n 0", "status 1 --watch 0"])
    func badCommandsWhileRunningChangeNothing(line: String) async throws {
        let h = try await Harness()
        await busyInstance(h)
        await h.run("start 1")
        await h.run(seconds: 5)
        let before = try h.snapshot()
        let r = await h.run(line)
        #expect(r.error != nil, "\(line)")
        #expect(r.err.hasPrefix("error: ") && r.err.filter { $0 == "\n" }.count == 1, "\(r.err)")
        #expect(try h.snapshot() == before)
        #expect(await h.engine.manager.isRunning(1))
        await h.run("stop 1")
    }

    @Test func settingsChangedWhileRunningApplyAndAreLogged() async throws {
        let h = try await Harness()
        await busyInstance(h)
        await h.run("start 1")
        #expect(await h.run("set spread.bid 0.05%").out == "1 mm1: spread.bid 0.01% → 0.05%; applies at the next decision\n")
        #expect(await h.run("log 1 -n 1").out.contains("set spread.bid 0.01% → 0.05%"))
        await h.run("stop 1")
    }

    /// `set` says when a change reaches a running instance, and it is so.
    @Test func settingsSayTruthfullyWhenTheyApplyToARunningInstance() async throws {
        let h = try await Harness()
        await busyInstance(h)
        await h.run("start 1")
        #expect(await h.run("set sim.mid 100").out == "1 mm1: sim.mid 60000 → 100; applies at the next start (it runs with 60000 until 'stop 1' and 'start 1')\n")
        #expect(await h.run("set mexc.rest_url http://127.0.0.1:9").out.contains("applies at the next start"))
        #expect(await h.run("set pair ETHUSDT").error?.message == "pair cannot change while instance 1 'mm1' runs; 'stop 1' first")
        await h.run(seconds: 3)
        // The running market is the one it started on.
        let status = await h.run("status 1 --json").out
        #expect(status.contains("\"state\": \"running\"") && !status.contains("\"price\": \"100"), "\(status)")
        let listing = await h.run("settings sim.mid --json").out
        #expect(listing.contains("\"applies\": \"next start\""))
        #expect(await h.run("settings spread.bid --json").out.contains("\"applies\": \"next decision\""))
        await h.run("stop 1")
    }

    @Test func quitWithoutAnEngineStopsRunningInstances() async throws {
        let h = try await Harness(interactive: true)
        await busyInstance(h)
        await h.run("new; start all")
        let out = await h.run("quit").out
        #expect(out.contains("stopped 1:") && out.contains("stopped 2:"))
        #expect(h.console.questions.isEmpty, "nothing to ask: instances cannot outlive an in-process shell")
        let quit = await h.shell.quitRequested
        let running = await h.engine.manager.runningCount
        #expect(quit && running == 0)
    }

    @Test func quitInTheEngineAsksAndLeavesInstancesRunningByDefault() async throws {
        let h = try await Harness(interactive: true, answers: [false], detachable: true)
        await busyInstance(h)
        await h.run("new; start all")
        #expect(await h.run("quit").out == "2 instances keep running in the engine; 'mmsh' attaches again, 'mmsh daemon stop' stops everything\n")
        #expect(h.console.questions == ["2 instances are running; stop them before leaving? (no: they keep running in the engine, and 'mmsh' attaches again)"])
        #expect(await h.shell.quitRequested)
        #expect(await h.engine.manager.runningCount == 2)
        await h.run("stop all")
    }

    @Test func quitStopAndDetachSayItWithoutAsking() async throws {
        let h = try await Harness(interactive: true, detachable: true)
        await busyInstance(h)
        await h.run("new; start all")
        #expect(await h.run("quit --detach").out.contains("keep running in the engine"))
        #expect(await h.engine.manager.runningCount == 2)
        let out = await h.run("quit --stop").out
        #expect(out.contains("stopped 1:") && out.contains("stopped 2:"))
        #expect(h.console.questions.isEmpty)
        #expect(await h.engine.manager.runningCount == 0)
        #expect(await h.run("quit --stop --detach").error?.message == "quit: --stop and --detach exclude each other")
    }

    @Test func aScriptOrDashCEndingInTheEngineLeavesInstancesRunning() async throws {
        let h = try await Harness(interactive: false, detachable: true)
        await busyInstance(h)
        await h.run("start 1; quit")
        #expect(await h.engine.manager.runningCount == 1)
        await h.run("stop 1")
    }

    @Test func aRunLeftOpenByAKilledProcessIsClosedAtStart() async throws {
        let h = try await Harness()
        await busyInstance(h)
        _ = try h.store.startRun(instance: 1, at: 1, base: "0.1", quote: "6000", seed: "1")
        await h.shell.closeInterruptedRuns()
        #expect(try h.store.lastRun(instance: 1)?.endState == "interrupted")
        #expect(await h.run("log 1").out.contains("the last run ended without stopping"))
        #expect(await h.run("status 1").out.contains("stopped"))
    }

    @Test func clearLog() async throws {
        let h = try await Harness()
        await busyInstance(h)
        await h.run("start 1; stop 1")
        // At least its start and stop; more if its first decision came between them.
        let entries = try h.store.events(instance: 1).count
        #expect(entries >= 2)
        let cleared = await h.run("clear-log 1")
        #expect(cleared.out == "cleared \(entries) log entries of 1 'mm1'\n", "\(cleared)")
        #expect(await h.run("log 1").out == "no log entries\n")
    }
}

@Suite struct NotificationTests {
    @Test func repeatedWarningsAreShownOnceWithTheirCount() {
        let lines = ["[1] warning: lost contact", "[2] error: boom", "[1] warning: lost contact", "[1] warning: lost contact"]
        #expect(Shell.collapsed(lines) == ["[1] warning: lost contact (×3)", "[2] error: boom"])
        #expect(Shell.collapsed([]) == [])
    }
}
