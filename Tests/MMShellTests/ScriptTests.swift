import Foundation
import MMStorage
import Testing
@testable import MMShell

@Suite struct ScriptTests {
    @Test func runsLinesCommentsAndShebang() async throws {
        let h = try await Harness()
        let path = try h.write("setup.mmsh", """
            #!/usr/bin/env -S mmsh run
            # a comment

            new btc   # trailing comment
            set spread.bid 0.2%
            set levels.count 3; set levels.spread 0.5%
            """)
        #expect(await h.shell.runScript(path: path) == 0)
        #expect(try h.store.settings(1) == ["spread.bid": "0.2%", "levels.count": "3", "levels.spread": "0.5%"])
    }

    @Test func firstFailingLineStopsWithFileAndLineAndUndoesTheScript() async throws {
        let h = try await Harness()
        let path = try h.write("bad.mmsh", "new a\nset spread.bid 0.2%\nset sprad.ask 1%\nset spread.ask 0.5%\n")
        #expect(await h.shell.runScript(path: path) == 1)
        #expect(h.console.err == """
            \(path):3: error: unknown setting 'sprad.ask' (did you mean 'spread.ask'?); 'settings' lists them all
            \(path): nothing of it is left half done: instance 1 'a' deleted again

            """)
        // The new instance with its first settings does not land without the rest.
        #expect(try h.store.instances().isEmpty)
    }

    @Test func aFailingScriptPutsBackTheSettingsItChanged() async throws {
        let h = try await Harness()
        await h.run("new btc; set levels.count 2")
        let path = try h.write("tune.mmsh", "use btc\nset spread.bid 0.3%\nreset levels.count\nset levels.count 99\n")
        #expect(await h.shell.runScript(path: path) == 1)
        #expect(h.console.err.contains("\(path):4: error: levels.count: 99 is out of range"))
        #expect(h.console.err.contains("nothing of it is left half done: the settings of 1 'btc' put back"))
        #expect(try h.store.settings(1) == ["levels.count": "2"])
    }

    @Test func applyConvergesAndSavedFilesApply() async throws {
        let h = try await Harness()
        let path = try h.write("btc.mmsh", "new btc\nset spread.bid 0.2%\nset levels.count 3\n")
        #expect(await h.run("apply \(path)").error == nil)
        // Again: the same instance, nothing changed, nothing fails.
        let again = await h.run("apply \(path)")
        #expect(again.error == nil)
        #expect(again.out.contains("using instance 1 'btc', which exists already"))
        #expect(again.out.contains("spread.bid 0.2% (unchanged)") && again.out.contains("levels.count 3 (unchanged)"))
        #expect(try h.store.instances().map(\.name) == ["btc"])
        // Settings the file does not name are left alone.
        await h.run("set 1 spread.ask 0.4%")
        await h.run("apply \(path)")
        #expect(try h.store.settings(1) == ["spread.bid": "0.2%", "levels.count": "3", "spread.ask": "0.4%"])
        // 'source' of the same file refuses the existing name; 'new NAME --or-use' does not.
        #expect(await h.run("source \(path)").error?.message.contains("an instance named 'btc' exists already") == true)
        // A saved file runs and applies again onto its instance.
        let saved = h.url.appendingPathComponent("saved.mmsh").path
        await h.run("save 1 \(saved)")
        #expect(try String(contentsOfFile: saved, encoding: .utf8).contains("new btc --or-use\n"))
        #expect(await h.shell.runScript(path: saved) == 0)
        #expect(await h.run("apply \(saved)").error == nil)
        #expect(try h.store.instances().count == 1)
    }

    @Test func keepGoingRunsEveryLineAndFailsAtTheEnd() async throws {
        let h = try await Harness()
        let path = try h.write("bad.mmsh", "new a\nset spread.bid x\nset spread.ask 0.5%\nbogus\nset levels.count 2\n")
        #expect(await h.shell.runScript(path: path, keepGoing: true) == 1)
        let err = h.console.err
        #expect(err.contains("\(path):2: error: spread.bid: 'x' is not a percentage"))
        #expect(err.contains("\(path):4: error: unknown command 'bogus'"))
        #expect(try h.store.settings(1) == ["spread.ask": "0.5%", "levels.count": "2"])
    }

    @Test func echoPrintsEachCommand() async throws {
        let h = try await Harness()
        let path = try h.write("e.mmsh", "new a # c\nget spread.bid\n")
        #expect(await h.shell.runScript(path: path, echo: true) == 0)
        #expect(h.console.out == "+ new a\ncreated instance 1 'a' (sim BTCUSDT); it is now current\n+ get spread.bid\n0.1%\n")
    }

    @Test func sourceIsRelativeToTheIncludingFile() async throws {
        let h = try await Harness()
        _ = try h.write("lib/common.mmsh", "set spread.bid 0.3%\nsource more/deep.mmsh\n")
        _ = try h.write("lib/more/deep.mmsh", "set spread.ask 0.4%\n")
        let main = try h.write("main.mmsh", "new a\nsource lib/common.mmsh\nset levels.count 2\n")
        #expect(await h.shell.runScript(path: main) == 0, "\(h.console.err)")
        #expect(try h.store.settings(1) == ["spread.bid": "0.3%", "spread.ask": "0.4%", "levels.count": "2"])
    }

    @Test func errorsInsideASourcedFileNameThatFile() async throws {
        let h = try await Harness()
        let inner = try h.write("inner.mmsh", "set spread.bid 0.3%\nset levels.count 99\n")
        let main = try h.write("main.mmsh", "new a\nsource inner.mmsh\nset spread.ask 1%\n")
        #expect(await h.shell.runScript(path: main) == 1)
        let canonical = URL(fileURLWithPath: inner).resolvingSymlinksInPath().path
        #expect(h.console.err == "\(canonical):2: error: levels.count: 99 is out of range; accepted: 1–20\n"
                + "\(main): nothing of it is left half done: instance 1 'a' deleted again\n")
        #expect(try h.store.instances().isEmpty)
    }

    @Test func cyclesAreRefusedWithTheChain() async throws {
        let h = try await Harness()
        _ = try h.write("a.mmsh", "new x\nsource b.mmsh\n")
        _ = try h.write("b.mmsh", "source c.mmsh\n")
        _ = try h.write("c.mmsh", "source a.mmsh\n")
        #expect(await h.shell.runScript(path: h.url.appendingPathComponent("a.mmsh").path) == 1)
        #expect(h.console.err.contains("error: source cycle refused: a.mmsh → b.mmsh → c.mmsh → a.mmsh\n"))
        #expect(h.console.err.split(separator: "\n").count == 2)
        #expect(h.console.err.hasSuffix("nothing of it is left half done: instance 1 'x' deleted again\n"))
    }

    @Test func missingScriptIs66() async throws {
        let h = try await Harness()
        #expect(await h.shell.runScript(path: "/nonexistent/x.mmsh") == 66)
        #expect(h.console.err == "error: cannot read /nonexistent/x.mmsh: no such file or not readable\n")
        #expect(await h.shell.runScript(path: h.url.path) == 66)
    }

    @Test func invalidUTF8LineIsAnErrorNotAGuess() async throws {
        let h = try await Harness()
        let file = h.url.appendingPathComponent("bin.mmsh")
        try Data([0x6E, 0x65, 0x77, 0x0A, 0x73, 0x65, 0x74, 0x20, 0xFF, 0xFE, 0x0A]).write(to: file)
        #expect(await h.shell.runScript(path: file.path) == 1)
        #expect(h.console.err == "\(file.path):2: error: line is not valid UTF-8\n\(file.path): nothing of it is left half done: instance 1 'mm1' deleted again\n")
    }

    @Test func dryRunValidatesAgainstACopyAndChangesNothing() async throws {
        let h = try await Harness()
        _ = await h.run("new existing")
        let before = try h.snapshot()
        let copy = try Store.inMemory(copyOf: h.store)
        let console = BufferConsole()
        let dry = try await Shell.local(store: copy, console: console, dryRun: true)
        let good = try h.write("good.mmsh", "new other\nset spread.bid 0.5%\nsave out.mmsh\n")
        #expect(await dry.runScript(path: good) == 0, "\(console.err)")
        #expect(console.out.contains("would write"))
        #expect(!FileManager.default.fileExists(atPath: h.url.appendingPathComponent("out.mmsh").path))
        // Rules that need state are checked too: the name is taken in the real data.
        let bad = try h.write("bad.mmsh", "new existing\n")
        #expect(await dry.runScript(path: bad) == 1)
        #expect(console.err.contains("bad.mmsh:1: error: an instance named 'existing' exists already"))
        #expect(try h.snapshot() == before)
    }

    @Test func lineReaderSplitsAndValidates() {
        var r = LineReader(bytes: Array("a\r\nb\n\nlast".utf8))
        var items: [LineReader.Item] = []
        while let i = r.next() { items.append(i) }
        #expect(items == [.line("a"), .line("b"), .line(""), .line("last")])
    }
}
