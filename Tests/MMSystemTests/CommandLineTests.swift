import Foundation
import Testing

/// The `mmsh` binary as scripts and users call it.
@Suite struct CommandLineTests {
    @Test func exitCodes() throws {
        let home = TempHome()
        #expect(try run(["-c", "new; list"], home: home).status == 0)
        let usage = try run(["-c", "lsit"], home: home)
        #expect(usage.status == 64)
        #expect(usage.err == "error: unknown command 'lsit' (did you mean 'list'?); 'help' lists commands\n")
        let failed = try run(["-c", "use 7"], home: home)
        #expect(failed.status == 1)
        #expect(failed.err == "error: there is no instance 7; 'list' shows them\n")
        #expect(try run(["run", "missing.mmsh"], home: home).status == 66)
        #expect(try run(["--bogus"], home: home).status == 64)
        #expect(try run(["run"], home: home).status == 64)
        // The statements after a failure do not run.
        let stopped = try run(["-c", "new b; use 9; new c"], home: home)
        #expect(stopped.status == 1)
        #expect(try run(["-c", "list --json"], home: home).out.contains("\"name\": \"b\"") == true)
        #expect(try run(["-c", "list --json"], home: home).out.contains("\"name\": \"c\"") == false)
    }

    @Test func pipedInputRunsAsAScript() throws {
        let home = TempHome()
        let ok = try run([], home: home, input: "new a\nset spread.bid 0.3%\nget spread.bid\n")
        #expect(ok.status == 0)
        #expect(ok.out.hasSuffix("0.3%\n"))
        #expect(!ok.out.contains("Welcome"))
        let bad = try run([], home: home, input: "get 1 spread.bid\nset 1 spread.bid bad\nget 1 spread.ask\n")
        #expect(bad.status == 1)
        #expect(bad.out == "0.3%\n")
        #expect(bad.err.hasPrefix("<stdin>:2: error: spread.bid: 'bad' is not a percentage"))
    }

    @Test func scriptsRunDirectlyThroughTheirShebang() throws {
        let home = TempHome()
        let script = try home.write("setup.mmsh", "#!/usr/bin/env -S mmsh run\nnew direct\nset levels.count 4\n", executable: true)
        let binDir = URL(fileURLWithPath: mmshBinary).deletingLastPathComponent().path
        let path = binDir + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let r = try run([], home: home, executable: script, environment: ["PATH": path])
        #expect(r.status == 0, "\(r.err)")
        #expect(try run(["-c", "get 1 levels.count"], home: home).out == "4\n")
    }

    @Test func runFlags() throws {
        let home = TempHome()
        let script = try home.write("s.mmsh", "new a\nset 1 spread.bid nope\nset 1 spread.ask 1%\n")
        let stop = try run(["run", script], home: home)
        #expect(stop.status == 1)
        #expect(stop.err.hasPrefix("\(script):2: error: spread.bid: 'nope' is not a percentage"))
        let dry = try run(["run", "--dry-run", script], home: home)
        #expect(dry.status == 1)
        #expect(try run(["-c", "get 1 spread.ask"], home: home).out == "0.1%\n")
        let keep = try run(["run", "--keep-going", "--echo", "s.mmsh"], home: home)
        #expect(keep.status == 1)
        #expect(keep.out.contains("+ set 1 spread.ask 1%"))
        #expect(keep.err.contains("s.mmsh:1: error: an instance named 'a' exists already"))
        #expect(try run(["-c", "get 1 spread.ask"], home: home).out == "1%\n")
    }

    @Test func noEscapeCodesOffATerminal() throws {
        let home = TempHome()
        _ = try run(["-c", "new"], home: home)
        for line in ["list", "show", "help", "settings", "option"] {
            let r = try run(["-c", line], home: home)
            #expect(!r.out.contains("\u{1B}"), "\(line)")
        }
        let forced = try run(["-c", "option color on; list"], home: home)
        #expect(forced.out.contains("\u{1B}["))
        let noColor = try run(["-c", "list"], home: home, environment: ["NO_COLOR": "1"])
        #expect(noColor.out.contains("\u{1B}["))  // option color on wins over NO_COLOR
        _ = try run(["-c", "option color auto"], home: home)
        #expect(!(try run(["-c", "list"], home: home, environment: ["NO_COLOR": "1"]).out.contains("\u{1B}")))
    }

    @Test func corruptDatabaseIsReportedNotReset() throws {
        let home = TempHome()
        let db = home.url.appendingPathComponent("mmsh.db")
        let junk = Data(String(repeating: "not a database ", count: 400).utf8)
        try junk.write(to: db)
        let r = try run(["-c", "list"], home: home)
        #expect(r.status == 1)
        #expect(r.err.contains("is damaged or not an mmsh database"))
        #expect(try Data(contentsOf: db) == junk)
    }

    /// The files in completions/ are what the current mmsh generates.
    @Test(arguments: [("bash", "mmsh.bash"), ("zsh", "_mmsh"), ("fish", "mmsh.fish")])
    func completionScriptsAreCurrent(shell: String, file: String) throws {
        let home = TempHome()
        let generated = try run(["--generate-completion-script", shell], home: home)
        #expect(generated.status == 0)
        let committed = try String(contentsOf: packageRoot.appendingPathComponent("completions/\(file)"), encoding: .utf8)
        #expect(generated.out == committed, "completions/\(file) is stale: run scripts/gen-completions")
    }

    @Test func dashCCompletesShellWords() throws {
        let home = TempHome()
        let r = try run(["---completion", "--", "-c", "0", "7", "mmsh", "-c", "set spr"], home: home)
        #expect(r.out.split(separator: "\n") == ["spread.ask", "spread.bid", "spread.min"])
    }
}

@Suite struct InterruptTests {
    /// Ctrl-C while mmsh waits for piped commands: it stops cleanly with status 130.
    @Test func interruptedInputExits130() throws {
        let home = TempHome()
        let mmsh = try PipedMmsh(home: home)
        mmsh.send("new first\n")
        mmsh.waitFor("created instance 1")
        mmsh.signal(SIGINT)
        #expect(mmsh.process.terminationReason == .exit)
        #expect(mmsh.process.terminationStatus == 130)
    }
}

@Suite struct RunningInstanceTests {
    @Test func theEndOfACommandLineStopsItsInstances() throws {
        let home = TempHome()
        let r = try run(["-c", "new; set sim.seed 3; start 1; status 1 --json"], home: home)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("\"state\": \"running\""))
        #expect(r.err.hasPrefix("stopped 1: ") && r.err.hasSuffix("(end of -c)\n"))
        // A later process sees it stopped, with its history.
        let later = try run(["-c", "status; log 1 -n 50"], home: home)
        #expect(later.out.contains("stopped"))
        #expect(later.out.contains("started on sim BTCUSDT (seed 3)") && later.out.contains("stopped (end of -c)"))
    }

    @Test func sigtermStopsInstancesCleanly() throws {
        let home = TempHome()
        let mmsh = try PipedMmsh(home: home)
        mmsh.send("new\nstart 1\n")
        mmsh.waitFor("started 1")
        mmsh.signal(SIGTERM)
        #expect(mmsh.process.terminationReason == .exit && mmsh.process.terminationStatus == 143)
        let stderr = mmsh.stderr
        #expect(stderr.contains("stopped 1: ") && stderr.contains("(signal)"))
        #expect(try run(["-c", "log 1 -n 1"], home: home).out.contains("stopped (signal)"))
    }
}

@Suite struct CrashTests {
    /// A hard kill while an instance runs: the next mmsh shows it stopped, history intact.
    @Test func afterAHardKillEveryInstanceShowsStopped() throws {
        let home = TempHome()
        let mmsh = try PipedMmsh(home: home)
        mmsh.send("new\nset sim.takers 600\nstart 1\n")
        mmsh.waitFor("started 1")
        Thread.sleep(forTimeInterval: 1.5)
        mmsh.signal(SIGKILL)
        let after = try run(["-c", "status 1; log 1 -n 100"], home: home)
        #expect(after.status == 0, "\(after.err)")
        #expect(after.out.contains("stopped"))
        #expect(after.out.contains("ended interrupted"))
        #expect(after.out.contains("started on sim BTCUSDT"))
        #expect(after.out.contains("the last run ended without stopping (mmsh was killed)"))
    }
}
