import Foundation
import MMCore
import GRDB
import MMStorage
import Testing
@testable import MMShell

@Suite struct InstanceCommandTests {
    @Test func newListUseRenameCopyDelete() async throws {
        let h = try await Harness()
        #expect(await h.run("new").out == "created instance 1 'mm1' (sim BTCUSDT); it is now current\n")
        #expect(await h.run("new eth").out == "created instance 2 'eth' (sim BTCUSDT); it is now current\n")
        #expect(await h.shell.prompt() == "mmsh[2]> ")
        #expect(await h.run("use 1").out == "now using instance 1 'mm1'\n")
        #expect(await h.run("rename 1 btc").out == "renamed instance 1 'mm1' to 'btc'\n")
        #expect(await h.run("rename 2 BTC").err == "error: an instance named 'BTC' exists already (1); choose another name\n")
        await h.run("set 1 spread.bid 0.3%")
        #expect(await h.run("copy 1 btc2").out == "copied instance 1 'btc' to 3 'btc2'; it is now current\n")
        #expect(await h.run("get spread.bid").out == "0.3%\n")
        let list = await h.run("list").out
        #expect(list == """
               ID  NAME  PAIR     VENUE  STATE    CHANGED
                1  btc   BTCUSDT  sim    stopped        1
                2  eth   BTCUSDT  sim    stopped        0
            *   3  btc2  BTCUSDT  sim    stopped        1

            """)
        #expect(await h.run("delete 2").err == "error: delete: add --yes to delete instance 2 'eth' without being asked\n")
        #expect(await h.run("delete 2 --yes").out == "deleted instance 2 'eth'\n")
        // The smallest free id is reused; other ids stay put.
        #expect(await h.run("new").out == "created instance 2 'mm2' (sim BTCUSDT); it is now current\n")
        #expect(await h.run("use 9").err == "error: there is no instance 9; 'list' shows them\n")
    }

    @Test func deleteAsksOnATerminal() async throws {
        let h = try await Harness(interactive: true, answers: [false, true])
        await h.run("new")
        #expect(await h.run("delete 1").out == "not deleted\n")
        #expect(h.console.questions == ["delete instance 1 'mm1' and all its settings?"])
        #expect(await h.run("delete 1").out == "deleted instance 1 'mm1'\n")
        #expect(await h.shell.current == nil)
        #expect(await h.run("show").err == "error: no current instance; give an id (show 1 …) or choose one with 'use ID' ('list' shows them)\n")
    }

    @Test func maxInstancesIsEnforced() async throws {
        let h = try await Harness()
        #expect(await h.run("option max_instances 2").out == "option max_instances 10 → 2\n")
        await h.run("new")
        await h.run("new")
        let r = await h.run("new")
        #expect(r.err == "error: there are already 2 instances, the most allowed (option max_instances is 2); delete one first\n")
        #expect(await h.run("copy 1").error != nil)
        #expect(await h.run("option max_instances 1").err == "error: max_instances 1 is below the 2 instances that exist; delete some first\n")
        #expect(try h.store.instances().count == 2)
    }

    @Test func tenByDefault() async throws {
        let h = try await Harness()
        for _ in 1...10 { #expect(await h.run("new").error == nil) }
        #expect(await h.run("new").err.contains("there are already 10 instances"))
    }

    @Test func listJSON() async throws {
        let h = try await Harness()
        await h.run("new a")
        await h.run("set pair eth/usdt")
        let json = await h.run("list --json").out
        #expect(json == """
            {
              "instances": [
                {
                  "id": 1,
                  "name": "a",
                  "pair": "ETHUSDT",
                  "venue": "sim",
                  "state": "stopped",
                  "current": true
                }
              ]
            }

            """)
        #expect(await h.run("option output json").error == nil)
        #expect(await h.run("get pair").out.contains("\"value\": \"ETHUSDT\""))
    }
}

@Suite struct SettingCommandTests {
    @Test func setGetResetShow() async throws {
        let h = try await Harness()
        await h.run("new")
        #expect(await h.run("set spread.bid 20bp").out == "1 mm1: spread.bid 0.1% → 0.2%\n")
        #expect(await h.run("set refresh.time 90").out == "1 mm1: refresh.time 15s → 1m30s\n")
        #expect(await h.run("set pair btc-usdt").out == "1 mm1: pair BTCUSDT (unchanged)\n")
        #expect(await h.run("get 1 refresh.time").out == "1m30s\n")
        #expect(await h.run("show --changed").out == """
            instance 1 'mm1'
            KEY           VALUE  DEFAULT
            spread.bid    0.2%   0.1%
            refresh.time  1m30s  15s

            """)
        #expect(await h.run("reset spread.bid").out == "1 mm1: spread.bid 0.2% → 0.1% (default)\n")
        #expect(await h.run("reset --all").out == "1 mm1: 1 setting back to defaults\n")
        #expect(await h.run("show --changed").out == "instance 1 'mm1'\nevery setting has its default value\n")
        let all = await h.run("show").out
        #expect(all.split(separator: "\n").count == Catalog.specs.count + 2)
    }

    @Test func showJSONHasEveryKey() async throws {
        let h = try await Harness()
        await h.run("new")
        let out = await h.run("show --json").out
        for key in Catalog.keys { #expect(out.contains("\"\(key)\": "), "\(key)") }
        #expect(out.hasPrefix("{\n  \"id\": 1,\n  \"name\": \"mm1\",\n  \"settings\": {\n    \"venue\": \"sim\","))
    }

    /// On screen: asset names, prices at the tick, amounts at the step, quote values at two
    /// decimals with thousands separated; JSON keeps every digit.
    @Test func statusShowsReadableNumbers() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.takers 0; set sim.volatility 0; set sim.quote 60000.123456; start")
        await h.run(seconds: 2)
        let out = await h.run("status btc").out
        #expect(out.contains("market  bid 59,985.00  ask 60,015.00  mid 60,000.00"))
        let rows = out.split(separator: "\n").map(String.init)
        let base = try #require(rows.first { $0.hasPrefix("BTC ") }), quote = try #require(rows.first { $0.hasPrefix("USDT ") })
        #expect(base.contains("0.100000") && base.contains("6,000.00"))
        #expect(quote.contains("60,000.12"))
        #expect(rows.contains { $0.contains("60,060.00") && $0.contains("0.001000") })
        #expect(out.contains("P&L     +0.00 USDT against holding (+0%), after fees"))
        let json = await h.run("status btc --json").out
        #expect(json.contains(#""total" : "60000.123456""#) || json.contains(#""total": "60000.123456""#))
        let orders = await h.run("orders").out
        #expect(orders.contains("60,060.00") && orders.contains("0.001000"))
        await h.run("stop all")
    }

    @Test func aPairMEXCCannotListIsAcceptedWithAWarning() async throws {
        let h = try await Harness()
        await h.run("new")
        let r = await h.run("set pair foo/bar")
        #expect(r.error == nil && r.out == "1 mm1: pair BTCUSDT → FOOBAR\n")
        #expect(r.err.contains("pair FOOBAR ends in none of MEXC's quote assets (FDUSD, USDT, USDC, USDE, USD1, TUSD, …): the sim venue quotes it anyway, but paper and live refuse a symbol MEXC does not list"))
        #expect(await h.run("set pair ETHUSDC").err.isEmpty)
    }

    @Test func longLinesWrapAtTheTerminalsWidthBetweenWords() throws {
        let spec = try #require(Shell.registry.lookup("preview"))
        let text = Renderer(color: false, width: 40).render(Help.command(spec), json: false)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.allSatisfy { $0.count <= 40 }, "\(text)")
        // Every word of the details survives whole, in order.
        let words = spec.details.split(separator: " ").map(String.init)
        let wrapped = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        #expect(wrapped.joined(separator: " ").contains(words.joined(separator: " ")))
        // Continuation lines keep the line's indentation, and colours stay on their words.
        let indented = Renderer(color: true, width: 24).render(Line([("    ", .plain), ("alpha beta gamma delta epsilon", .cyan)]))
        #expect(indented == "    \u{1B}[36malpha\u{1B}[0m\u{1B}[36m \u{1B}[0m\u{1B}[36mbeta\u{1B}[0m\u{1B}[36m \u{1B}[0m\u{1B}[36mgamma\u{1B}[0m\n    \u{1B}[36mdelta\u{1B}[0m\u{1B}[36m \u{1B}[0m\u{1B}[36mepsilon\u{1B}[0m")
        // Without a width (a pipe, a file), nothing wraps.
        #expect(Renderer(color: false).render(Help.command(spec), json: false).contains(spec.details + "\n"))
    }

    @Test func contextHelpSaysTheValueNow() {
        var data = CompletionData()
        data.instances = [(1, "btc"), (2, "eth")]
        data.settings = [1: ["spread.bid": "0.3%"], 2: [:]]
        data.current = 1
        func help(_ line: String) -> String { Renderer(color: false).render(Help.context(line: line, data: data), json: false) }
        #expect(help("set spread.bid ").contains("now 0.3% on instance 1 'btc'\n"))
        #expect(help("set spread.bid 0.").contains("now 0.3% on instance 1 'btc'\n"))
        #expect(help("set eth spread.bid").contains("now 0.1% on instance 2 'eth' (the default)"))
        #expect(help("get 2 spread.bid ").contains("on instance 2 'eth'"))
        data.current = nil
        #expect(!help("set spread.bid ").contains("now "))
    }

    @Test func thePromptNeverReadsLikeAnInstance() async throws {
        let h = try await Harness()
        await h.run("new; new; start 1; use 2")
        #expect(await h.shell.prompt() == "mmsh[2 · 1 running]> ")
        await h.run("delete 2 --yes")
        #expect(await h.shell.prompt() == "mmsh[– · 1 running]> ")
        await h.run("stop 1")
        #expect(await h.shell.prompt() == "mmsh> ")
    }

    @Test func settingsListsEveryKey() async throws {
        let h = try await Harness()
        let out = await h.run("settings").out
        for key in Catalog.keys { #expect(out.contains(key)) }
        let spreads = await h.run("settings spread").out.split(separator: "\n").dropFirst()
        #expect(spreads.map { $0.split(separator: " ")[0] } == ["spread.bid", "spread.ask", "spread.min", "levels.spread", "volatility.max_spread", "as.min_spread", "sim.spread"])
        let json = await h.run("settings spread.bid --json").out
        #expect(json.contains(#""type": "percent""#) && json.contains(#""default": "0.1%""#) && json.contains(#""range": "≥ 0% and < 100%""#))
    }

    /// Bad input gets one line and leaves stored state exactly as it was.
    @Test(arguments: [
        "set spread.bid", "set spread.bid 0.2x", "set 1 sprad.bid 1", "set 9 spread.bid 1", "set order.min 5",
        "set band.floor 200", "set levels.count 21", "set hours.window 9-17", "set hours.tz Mars/Base",
        "reset 9 spread.bid", "reset spread.bid --all", "rename 2 b", "rename 1 'has space'", "copy 7", "delete 1",
        "use 0", "new a", "option max_instances 0", "option bogus 1", "set 'unterminated", "set \u{07}", "strat 1",
        "save", "get", "show 2", "set venue mars", "set pair 'BTC USDT'", "set mexc.rest_url ftp://x",
        "new a; set spread.bid 1%", "set sim.seed -1", "source /nonexistent/x.mmsh",
    ])
    func badInputChangesNothing(line: String) async throws {
        let h = try await Harness()
        await h.run("new a")
        await h.run("set order.max 2")
        await h.run("set band.ceiling 100")
        let before = try h.snapshot()
        let r = await h.run(line)
        #expect(r.error != nil, "\(line) should fail")
        #expect(r.out == "")
        #expect(r.err.hasPrefix("error: ") && r.err.filter { $0 == "\n" }.count == 1, "\(r.err)")
        #expect(try h.snapshot() == before)
    }

    @Test func saveWritesAReplayableScript() async throws {
        let h = try await Harness()
        await h.run("new 'btc-tight'")
        await h.run("set spread.bid 0.25%")
        await h.run("set hours.window 22:00-02:00")
        await h.run("set levels.amount -0.001")
        let path = h.url.appendingPathComponent("btc.mmsh").path
        #expect(await h.run("save '\(path)'").out == "saved instance 1 'btc-tight' to \(path) (3 changed settings)\n")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("#!/usr/bin/env -S mmsh run\n"))
        #expect(text.hasSuffix("new btc-tight --or-use\nset spread.bid 0.25%\nset levels.amount -0.001\nset hours.window 22:00-02:00\n"))
        #expect(await h.run("save '\(path)'").err == "error: save: \(path) exists; add --force to overwrite it\n")
        #expect(await h.run("delete 1 --yes").error == nil)
        #expect(await h.run("source '\(path)'").error == nil)
        #expect(await h.run("show --changed --json").out.contains(#""spread.bid": "0.25%""#))
        #expect(try h.store.settings(1) == ["spread.bid": "0.25%", "hours.window": "22:00-02:00", "levels.amount": "-0.001"])
    }
}

@Suite struct PersistenceTests {
    @Test func everythingSurvivesARestart() async throws {
        let h = try await Harness()
        await h.run("new a; set spread.ask 0.4%; new b; option color off")
        try await h.reopen()
        #expect(await h.run("get 1 spread.ask").out == "0.4%\n")
        #expect(await h.run("list").out.contains("b"))
        #expect(await h.run("option color").out == "off\n")
        // The interactive shell comes back to the instance it left.
        try await h.shell.restoreCurrent()
        #expect(await h.shell.current == 2)
    }

    @Test func aSecondProcessIsRefused() async throws {
        let h = try await Harness()
        #expect {
            _ = try DataDirectory(url: h.url)
        } throws: { error in
            (error as? StoreError)?.message.contains("another mmsh engine (pid \(getpid())) is using") == true
        }
    }

    @Test func dataDirectoryAndDatabaseArePrivate() async throws {
        let h = try await Harness()
        let dirMode = try FileManager.default.attributesOfItem(atPath: h.url.path)[.posixPermissions] as? Int
        let dbMode = try FileManager.default.attributesOfItem(atPath: h.url.appendingPathComponent("mmsh.db").path)[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        #expect(dbMode == 0o600)
    }

    @Test func corruptDatabaseIsReportedAndLeftUntouched() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-corrupt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let db = url.appendingPathComponent("mmsh.db")
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: db)
        let dir = try DataDirectory(url: url)
        #expect {
            _ = try Store.open(directory: dir)
        } throws: { error in
            let m = (error as? StoreError)?.message ?? ""
            return m.contains("is damaged or not an mmsh database") && m.contains("left untouched")
        }
        #expect(try Data(contentsOf: db) == garbage)
    }

    @Test func anEmptyDatabaseFileIsRefusedNotTakenForANewOne() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-empty-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let db = url.appendingPathComponent("mmsh.db")
        try Data().write(to: db)
        let dir = try DataDirectory(url: url)
        #expect(throws: StoreError("\(db.path) is empty (0 bytes): it is not the database mmsh wrote there; it was left untouched. Move it away to start afresh, or put back a copy")) {
            _ = try Store.open(directory: dir)
        }
        #expect(try Data(contentsOf: db).isEmpty)
    }

    @Test func randomBytesInsideADatabaseAreFoundAtOpenAndNothingIsWritten() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-damaged-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            let dir = try DataDirectory(url: url)
            let store = try Store.open(directory: dir)
            for i in 1...8 { _ = try store.createInstance(name: "i\(i)", limit: 10) }
            for k in 0..<400 { try store.setOption("filler.\(k)", String(repeating: "x", count: 100)) }
        }
        // Everything folded into the file, then pages past the header damaged.
        let path = url.appendingPathComponent("mmsh.db").path
        try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.count >= 16384, "\(bytes.count)")
        for i in 4096..<12288 { bytes[i] = UInt8(truncatingIfNeeded: i &* 131 &+ 17) }
        try bytes.write(to: URL(fileURLWithPath: path))
        let dir = try DataDirectory(url: url)
        #expect {
            _ = try Store.open(directory: dir)
        } throws: { error in
            let m = (error as? StoreError)?.message ?? ""
            return (m.contains("is damaged") || m.contains("not an mmsh database")) && m.contains("left untouched")
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: path))
        let differing = zip(after, bytes).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(after == bytes, "\(after.count) vs \(bytes.count); differ at \(differing.prefix(20))")
    }

    @Test func newerSchemaIsRefused() async throws {
        let h = try await Harness()
        // A later mmsh would have applied a migration this one does not know.
        try h.store.setOption("x", "1")
        h.directory = nil
        let queue = try DatabaseQueueForTests.open(h.url.appendingPathComponent("mmsh.db").path)
        try queue("INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        let dir = try DataDirectory(url: h.url)
        #expect {
            _ = try Store.open(directory: dir)
        } throws: { error in
            (error as? StoreError)?.message.contains("was written by a newer mmsh") == true
        }
        h.directory = dir
    }
}

@Suite struct EventStoreTests {
    @Test func theLogKeepsTheNewestEntries() async throws {
        let h = try await Harness()
        _ = try h.store.createInstance(name: "a", limit: 10)
        for i in 0..<1000 {
            try h.store.appendEvent(EventRecord(instanceId: 1, time: Int64(i), level: "info", kind: "test", message: "e\(i)"), keep: 100)
        }
        let kept = try h.store.events(instance: 1)
        // Pruned in batches of 64 appends: between keep and keep + 64 entries, always the newest.
        #expect(kept.count >= 100 && kept.count < 164)
        #expect(kept.last?.message == "e999")
        #expect(kept.map(\.time) == kept.map(\.time).sorted())
        #expect(try h.store.events(instance: 1, limit: 3).map(\.message) == ["e997", "e998", "e999"])
    }
}
