import MMCore
import Testing
@testable import MMShell

@Suite struct ParserTests {
    let parser = Parser(registry: Shell.registry)

    func parse(_ line: String) throws -> Invocation {
        try parser.parse(Lexer.statements(line)[0])
    }

    func error(_ line: String) -> String? {
        do { _ = try parse(line); return nil } catch { return (error as? ShellError)?.message }
    }

    @Test func optionalLeadingId() throws {
        let a = try parse("set spread.bid 0.2%")
        #expect(a.args == ["KEY": "spread.bid", "VALUE": "0.2%"])
        let b = try parse("set 2 spread.bid 0.2%")
        #expect(b.args == ["ID": "2", "KEY": "spread.bid", "VALUE": "0.2%"])
        #expect(error("get 2") == "get: missing KEY; usage: get [ID] KEY [--json]")
        #expect(error("set 2 spread.bid") == "set: missing VALUE; usage: set [ID] KEY VALUE")
        #expect(try parse("show").args == [:])
        #expect(try parse("show 3").args == ["ID": "3"])
    }

    @Test func negativeNumbersAreValuesNotFlags() throws {
        #expect(try parse("set levels.amount -0.001").args["VALUE"] == "-0.001")
        #expect(error("set levels.amount -x") == "set: unknown flag '-x'; usage: set [ID] KEY VALUE")
    }

    @Test func flags() throws {
        #expect(try parse("show --changed --json").flags == ["--changed": "", "--json": ""])
        #expect(try parse("show -c").has("--changed"))
        #expect(try parse("reset --all").has("--all"))
        #expect(try parse("delete 2 -y").has("--yes"))
        #expect(error("show --chnged") == "show: unknown flag '--chnged' (did you mean '--changed'?); usage: show [ID] [-c|--changed] [--json]")
        #expect(error("list --json=yes") == "list: --json takes no value")
        #expect(try parse("set --help").wantsHelp)
        #expect(try parse("set -h").wantsHelp)
    }

    @Test func unknownCommandSuggests() {
        #expect(error("lsit") == "unknown command 'lsit' (did you mean 'list'?); 'help' lists commands")
        #expect(error("sav") == "unknown command 'sav' (did you mean 'save'?); 'help' lists commands")
        #expect(error("frobnicate") == "unknown command 'frobnicate'; 'help' lists commands")
    }

    @Test func argumentsAreValidatedBeforeRunning() {
        #expect(error("use x!") == "use: 'x!' is not an instance id or name; ids are whole numbers (see 'list')")
        #expect(error("use 0") == "use: '0' is not an instance id or name; ids are whole numbers (see 'list')")
        #expect(error("set sprad.bid 1") == "unknown setting 'sprad.bid' (did you mean 'spread.bid'?); 'settings' lists them all")
        #expect(error("set venue papr") == "venue: unknown value 'papr' (did you mean 'paper'?); accepted: sim, paper, live")
        #expect(error("set levels.count 0") == "levels.count: 0 is out of range; accepted: 1–20")
        #expect(error("new 'bad name'") == "new: 'bad name' is not a valid name; use 1–32 letters, digits, '.', '_' or '-', not only digits")
        #expect(error("new 12") == "new: '12' is not a valid name; use 1–32 letters, digits, '.', '_' or '-', not only digits")
        #expect(error("option colr on") == "unknown option 'colr' (did you mean 'color'?); accepted: max_instances, color, output, history.size, notify, samples.keep, api.listen, alerts.webhook, alerts.events, alerts.contact_after")
        #expect(error("option color blue") == "color: unknown value 'blue'; accepted: auto, on, off")
        #expect(error("option api.listen 0.0.0.0:99999") == "api.listen: '0.0.0.0:99999' is not an address; accepted: HOST:PORT, such as 127.0.0.1:9180 or [::1]:9180 (port 1–65535), or off")
        #expect(error("option api.listen example.com:80") == "api.listen: 'example.com:80' is not an address; accepted: HOST:PORT, such as 127.0.0.1:9180 or [::1]:9180 (port 1–65535), or off")
        #expect(error("option alerts.events halted,filz") == "alerts.events: unknown value 'filz'; accepted: all, or some of halted,resumed,reducing,stop_loss,contact_lost,contact_restored,orphans,throttled,error,fills")
        #expect(error("help strat") == "unknown command 'strat' (did you mean 'start'?); 'help' lists commands")
        #expect(error("strat 3") == "unknown command 'strat' (did you mean 'start'?); 'help' lists commands")
        #expect(error("start x/y") == "start: 'x/y' is not an instance id, a name or 'all'")
        #expect(error("list extra") == "list: unexpected argument 'extra'; usage: list [--json]")
        #expect(error("rename 1") == "rename: missing NAME; usage: rename ID NAME")
    }

    @Test func aliases() throws {
        #expect(try parse("ls").spec.name == "list")
        #expect(try parse("exit").spec.name == "quit")
    }

    @Test func everyCommandHasHelpAndExamplesThatParse() throws {
        for spec in Shell.registry.commands {
            #expect(!spec.summary.isEmpty, "\(spec.name)")
            #expect(!spec.examples.isEmpty, "\(spec.name) has no example")
            for example in spec.examples {
                #expect(throws: Never.self, "\(example)") { _ = try parse(example) }
            }
        }
    }
}

@Suite struct CompletionTests {
    let completer = Completer(data: {
        var d = CompletionData()
        d.instances = [(1, "mm1"), (2, "eth"), (12, "x")]
        return d
    }())

    @Test func commandNames() {
        #expect(completer.complete("") .contains("new"))
        #expect(completer.complete("s") == ["save", "set", "settings", "show", "source", "start", "status", "stop", "sweep"])
        #expect(completer.complete("se") == ["set", "settings"])
        #expect(completer.complete("xyz") == [])
    }

    @Test func settingKeys() {
        #expect(completer.complete("set spr") == ["spread.ask", "spread.bid", "spread.min"])
        #expect(completer.complete("set spread.b") == ["spread.bid"])
        #expect(completer.complete("set 2 spread.b") == ["spread.bid"])
        #expect(completer.complete("get 1 pa") == ["pair"])
        #expect(completer.complete("reset inv") == ["inventory.range", "inventory.skew", "inventory.target"])
    }

    @Test func instanceIds() {
        // Ids in numeric order, then the names.
        #expect(completer.complete("use ") == ["1", "2", "12", "eth", "mm1", "x"])
        #expect(completer.complete("use 1") == ["1", "12"])
        #expect(completer.complete("set 1") == ["1", "12"])
        #expect(completer.complete("copy e") == ["eth"])
        #expect(completer.complete("stop ") == ["1", "2", "12", "eth", "mm1", "x", "all"])
    }

    @Test func choiceValues() {
        #expect(completer.complete("set venue ") == ["live", "paper", "sim"])
        #expect(completer.complete("set 2 venue p") == ["paper"])
        #expect(completer.complete("set price.source best") == ["best_ask", "best_bid"])
        #expect(completer.complete("set inventory.skew ") == ["off", "on"])
        #expect(completer.complete("set order.max o") == ["off"])
        #expect(completer.complete("option color ") == ["auto", "off", "on"])
        #expect(completer.complete("option ") == ["alerts.contact_after", "alerts.events", "alerts.webhook", "api.listen", "color", "history.size", "max_instances", "notify", "output", "samples.keep"])
        #expect(completer.complete("help st") == ["start", "status", "stop"])
        #expect(completer.complete("help se") == ["set", "settings"])
    }

    @Test func flags() {
        #expect(completer.complete("show --c") == ["--changed"])
        #expect(completer.complete("show -") == ["--changed", "--help", "--json"])
        #expect(completer.complete("delete 2 --y") == ["--yes"])
    }

    @Test func files() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-complete-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("setups"), withIntermediateDirectories: true)
        for name in ["btc.mmsh", "bnb.mmsh", "notes.txt", "setups/eth.mmsh"] {
            try Data().write(to: dir.appendingPathComponent(name))
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = Completer(data: CompletionData(), directory: dir.path)
        #expect(c.complete("source b") == ["bnb.mmsh", "btc.mmsh"])
        #expect(c.complete("source ") == ["bnb.mmsh", "btc.mmsh", "setups/"])
        #expect(c.complete("source setups/") == ["setups/eth.mmsh"])
        #expect(c.complete("save 1 se") == ["setups/"])
        #expect(c.complete("source \(dir.path)/bt") == ["\(dir.path)/btc.mmsh"])
    }
}

import Foundation
