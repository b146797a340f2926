import Foundation
import MMStorage
import Testing
@testable import MMShell

@Suite struct ScriptTests {
    @Test func runsLinesCommentsAndShebang() async throws {
        let h = try Harness()
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

    @Test func firstFailingLineStopsWithFileAndLine() async throws {
        let h = try Harness()
        let path = try h.write("bad.mmsh", "new a\nset spread.bid 0.2%\nset sprad.ask 1%\nset spread.ask 0.5%\n")
        #expect(await h.shell.runScript(path: path) == 1)
        #expect(h.console.err == "\(path):3: error: unknown setting 'sprad.ask' (did you mean 'spread.ask'?); 'settings' lists them all\n")
        // Lines before the failure took effect; the one after did not run.
        #expect(try h.store.settings(1) == ["spread.bid": "0.2%"])
    }

    @Test func keepGoingRunsEveryLineAndFailsAtTheEnd() async throws {
        let h = try Harness()
        let path = try h.write("bad.mmsh", "new a\nset spread.bid x\nset spread.ask 0.5%\nbogus\nset levels.count 2\n")
        #expect(await h.shell.runScript(path: path, keepGoing: true) == 1)
        let err = h.console.err
        #expect(err.contains("\(path):2: error: spread.bid: 'x' is not a percentage"))
        #expect(err.contains("\(path):4: error: unknown command 'bogus'"))
        #expect(try h.store.settings(1) == ["spread.ask": "0.5%", "levels.count": "2"])
    }

    @Test func echoPrintsEachCommand() async throws {
        let h = try Harness()
        let path = try h.write("e.mmsh", "new a # c\nget spread.bid\n")
        #expect(await h.shell.runScript(path: path, echo: true) == 0)
        #expect(h.console.out == "+ new a\ncreated instance 1 'a' (sim BTCUSDT); it is now current\n+ get spread.bid\n0.1%\n")
    }

    @Test func sourceIsRelativeToTheIncludingFile() async throws {
        let h = try Harness()
        _ = try h.write("lib/common.mmsh", "set spread.bid 0.3%\nsource more/deep.mmsh\n")
        _ = try h.write("lib/more/deep.mmsh", "set spread.ask 0.4%\n")
        let main = try h.write("main.mmsh", "new a\nsource lib/common.mmsh\nset levels.count 2\n")
        #expect(await h.shell.runScript(path: main) == 0, "\(h.console.err)")
        #expect(try h.store.settings(1) == ["spread.bid": "0.3%", "spread.ask": "0.4%", "levels.count": "2"])
    }

    @Test func errorsInsideASourcedFileNameThatFile() async throws {
        let h = try Harness()
        let inner = try h.write("inner.mmsh", "set spread.bid 0.3%\nset levels.count 99\n")
        let main = try h.write("main.mmsh", "new a\nsource inner.mmsh\nset spread.ask 1%\n")
        #expect(await h.shell.runScript(path: main) == 1)
        let canonical = URL(fileURLWithPath: inner).resolvingSymlinksInPath().path
        #expect(h.console.err == "\(canonical):2: error: levels.count: 99 is out of range; accepted: 1–20\n")
        #expect(try h.store.settings(1) == ["spread.bid": "0.3%"])
    }

    @Test func cyclesAreRefusedWithTheChain() async throws {
        let h = try Harness()
        _ = try h.write("a.mmsh", "new x\nsource b.mmsh\n")
        _ = try h.write("b.mmsh", "source c.mmsh\n")
        _ = try h.write("c.mmsh", "source a.mmsh\n")
        #expect(await h.shell.runScript(path: h.url.appendingPathComponent("a.mmsh").path) == 1)
        #expect(h.console.err.contains("error: source cycle refused: a.mmsh → b.mmsh → c.mmsh → a.mmsh\n"))
        #expect(h.console.err.split(separator: "\n").count == 1)
    }

    @Test func missingScriptIs66() async throws {
        let h = try Harness()
        #expect(await h.shell.runScript(path: "/nonexistent/x.mmsh") == 66)
        #expect(h.console.err == "error: cannot read /nonexistent/x.mmsh: no such file or not readable\n")
        #expect(await h.shell.runScript(path: h.url.path) == 66)
    }

    @Test func invalidUTF8LineIsAnErrorNotAGuess() async throws {
        let h = try Harness()
        let file = h.url.appendingPathComponent("bin.mmsh")
        try Data([0x6E, 0x65, 0x77, 0x0A, 0x73, 0x65, 0x74, 0x20, 0xFF, 0xFE, 0x0A]).write(to: file)
        #expect(await h.shell.runScript(path: file.path) == 1)
        #expect(h.console.err == "\(file.path):2: error: line is not valid UTF-8\n")
    }

    @Test func dryRunValidatesAgainstACopyAndChangesNothing() async throws {
        let h = try Harness()
        _ = await h.run("new existing")
        let before = try h.snapshot()
        let copy = try Store.inMemory(copyOf: h.store)
        let console = BufferConsole()
        let dry = try Shell(store: copy, console: console, dryRun: true)
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
