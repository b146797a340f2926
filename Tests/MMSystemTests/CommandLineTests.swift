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
        // The failed script is undone: its instance does not land half made.
        #expect(stop.err.contains("nothing of it is left half done: instance 1 'a' deleted again"))
        #expect(try run(["-c", "list"], home: home).out.contains("no instances yet"))
        let dry = try run(["run", "--dry-run", script], home: home)
        #expect(dry.status == 1)
        #expect(try run(["-c", "list"], home: home).out.contains("no instances yet"))
        // --keep-going skips the failing line and keeps the rest.
        let keep = try run(["run", "--keep-going", "--echo", "s.mmsh"], home: home)
        #expect(keep.status == 1)
        #expect(keep.out.contains("+ set 1 spread.ask 1%"))
        #expect(keep.err.contains("s.mmsh:2: error: spread.bid: 'nope' is not a percentage"))
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
    /// Instances live in the engine: the end of `-c` leaves them running, another client sees
    /// them, and stopping the engine stops them cleanly.
    @Test func instancesOutliveTheClientThatStartedThem() throws {
        let home = TempHome()
        let r = try run(["-c", "new; set sim.seed 3; start 1; status 1 --json"], home: home)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("\"state\": \"running\""))
        #expect(r.err.isEmpty, "nothing is stopped at the end of -c: \(r.err)")
        let later = try run(["-c", "status --json"], home: home)
        #expect(later.out.contains("\"state\": \"running\""), "\(later.out)")
        let stop = try run(["daemon", "stop"], home: home)
        #expect(stop.status == 0 && stop.out == "engine stopped\n", "\(stop)")
        let log = try run(["-c", "status; log 1 -n 50"], home: home)
        #expect(log.out.contains("started on sim BTCUSDT (seed 3)") && log.out.contains("stopped (engine stopped)"), "\(log.out)")
        #expect(!log.out.contains("running"))
    }

    @Test func sigtermToTheEngineStopsInstancesCleanly() throws {
        let home = TempHome()
        #expect(try run(["-c", "new; start 1"], home: home).status == 0)
        let pid = try #require(home.enginePid)
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while kill(pid, 0) == 0 && Date() < deadline { usleep(20_000) }
        #expect(kill(pid, 0) != 0, "the engine exits")
        let daemonLog = try String(contentsOf: home.url.appendingPathComponent("daemon.log"), encoding: .utf8)
        #expect(daemonLog.contains("stopped 1: 2 orders cancelled (engine stopped)"), "\(daemonLog)")
        #expect(try run(["-c", "log 1 -n 1"], home: home).out.contains("stopped (engine stopped)"))
    }

    @Test func sigtermToAClientLeavesTheEngineRunning() throws {
        let home = TempHome()
        let mmsh = try PipedMmsh(home: home)
        mmsh.send("new\nstart 1\n")
        mmsh.waitFor("started 1")
        mmsh.signal(SIGTERM)
        #expect(mmsh.process.terminationReason == .exit)
        #expect(try run(["-c", "status --json"], home: home).out.contains("\"state\": \"running\""))
    }

    @Test func daemonStatusAndStopSayWhatIsThere() throws {
        let home = TempHome()
        let none = try run(["daemon", "status"], home: home)
        #expect(none.status == 3 && none.out == "no engine runs for \(home.path); any mmsh starts one\n")
        #expect(try run(["-c", "new"], home: home).status == 0)
        let up = try run(["daemon", "status", "--json"], home: home)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(up.out.utf8)) as? [String: Any])
        #expect(object["pid"] as? Int == Int(home.enginePid ?? 0) && object["data_directory"] as? String == home.path)
        #expect(try run(["daemon", "stop"], home: home).out == "engine stopped\n")
        #expect(try run(["daemon", "stop"], home: home).out == "no engine runs for \(home.path)\n")
    }
}

@Suite struct CrashTests {
    /// A hard kill of the engine while an instance runs: the next client starts a new engine,
    /// which shows the instance stopped with its history intact.
    @Test func afterAHardKillOfTheEngineEveryInstanceShowsStopped() throws {
        let home = TempHome()
        #expect(try run(["-c", "new; set sim.takers 600; start 1"], home: home).status == 0)
        Thread.sleep(forTimeInterval: 1.5)
        let killed = home.enginePid
        home.killEngine()
        let after = try run(["-c", "status 1; log 1 -n 100"], home: home)
        #expect(after.status == 0, "\(after.err)")
        #expect(home.enginePid != killed, "a new engine serves")
        #expect(after.out.contains("stopped"))
        #expect(after.out.contains("ended interrupted"))
        #expect(after.out.contains("started on sim BTCUSDT"))
        #expect(after.out.contains("the last run ended without stopping (mmsh was killed); its simulated market ended with it"))
    }

    /// With autostart on, an instance interrupted by a crash of the engine starts again by itself
    /// in the next engine; one without it stays stopped.
    @Test func autostartBringsInstancesBackAfterACrash() throws {
        let home = TempHome()
        #expect(try run(["-c", "new back; set autostart on; start 1; new stays; start 2"], home: home).status == 0)
        home.killEngine()
        let after = try run(["-c", "status --json"], home: home)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(after.out.utf8)) as? [String: Any])
        let states = (object["instances"] as? [[String: Any]] ?? []).map { $0["state"] as? String ?? "" }
        // The first client may arrive before the start is done: wait for it a little.
        var running = states.first == "running"
        for _ in 0..<50 where !running {
            usleep(100_000)
            running = try run(["-c", "status 1 --json"], home: home).out.contains("\"state\": \"running\"")
        }
        #expect(running, "\(after.out)")
        #expect(!(try run(["-c", "status 2 --json"], home: home).out.contains("\"state\": \"running\"")), "autostart is off for 2")
        let log = try run(["-c", "log 1 -n 10"], home: home).out
        #expect(log.contains("the last run ended without stopping") && log.contains("started on sim"), "\(log)")
    }

    /// A stale socket from a crash is replaced, and a client never hangs on it.
    @Test func aStaleSocketIsReplaced() throws {
        let home = TempHome()
        #expect(try run(["-c", "new"], home: home).status == 0)
        home.killEngine()
        #expect(FileManager.default.fileExists(atPath: home.url.appendingPathComponent("mmsh.sock").path))
        let again = try run(["-c", "list"], home: home)
        #expect(again.status == 0 && again.out.contains("mm1"), "\(again.err)")
    }
}
