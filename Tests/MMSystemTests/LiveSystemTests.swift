import Foundation
import Testing

/// `mmsh sim serve` as its own process, on a free loopback port.
final class SimServeProcess {
    let process = Process()
    let output = Pipe()
    let key = "mx0systemtest"
    let secret = "5f1c9e2a7b3d4c6e8f0a1b2c3d4e5f60"
    private(set) var url = ""
    private(set) var banner = ""

    init(_ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: mmshBinary)
        process.arguments = ["sim", "serve", "--port", "0", "--key", key, "--secret", secret] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        banner = readUntil(output.fileHandleForReading.fileDescriptor, contains: "In mmsh:")
        if let range = banner.range(of: #"http://127\.0\.0\.1:\d+"#, options: .regularExpression) { url = String(banner[range]) }
    }

    /// Stops it as Ctrl-C would, and returns the rest of what it printed.
    func stop() -> String {
        process.interrupt()
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}

@Suite(.serialized) struct LiveSystemTests {
    func environment(_ server: SimServeProcess) -> [String: String] {
        ["MMSH_PASSPHRASE": "correct horse battery staple", "MMSH_API_KEY": server.key, "MMSH_API_SECRET": server.secret]
    }

    @Test func simServeAnnouncesItselfAndRefusesBadOptions() throws {
        let server = try SimServeProcess(["--pair", "ETHUSDT", "--faults", "5xx=0.01,seed=3"])
        #expect(server.url.hasPrefix("http://127.0.0.1:"), "\(server.banner)")
        #expect(server.banner.contains("(ETHUSDT)") && server.banner.contains("faults: 5xx=0.01,seed=3"))
        #expect(server.banner.contains("key:    \(server.key)"))
        #expect(server.stop().contains("stopped; requests:"))
        #expect(server.process.terminationStatus == 0)

        let home = TempHome()
        for (args, message) in [(["--faults", "boom=1"], "unknown fault 'boom'"), (["--pair", "BTC"], "--pair: 'BTC' is not a symbol"),
                                (["--key", "k"], "give --key and --secret together"), (["--set", "sim.tick=0.003"], "sim.tick must be a power of ten")] {
            let r = try run(["sim", "serve", "--port", "0"] + args, home: home)
            #expect(r.status != 0 && r.err.contains(message), "\(args): \(r.err)")
        }
    }

    /// A terminal that goes away (tmux kill-session: the tty vanishes) while live instances quote
    /// against the local MEXC: they keep quoting in the engine, every order stays tracked, and a
    /// later stop cancels and confirms them all.
    @Test func losingTheTerminalLeavesNoOrderBehind() throws {
        let server = try SimServeProcess(["--set", "sim.seed=5", "--set", "sim.takers=60"])
        defer { _ = server.stop() }
        let home = TempHome()
        let env = environment(server)
        let ws = server.url.replacingOccurrences(of: "http", with: "ws") + "/ws"
        let setup = try run(["-c", "keys set; new a; set venue live; set mexc.rest_url \(server.url); set mexc.ws_url \(ws); copy 1 b"],
                            home: home, environment: env)
        #expect(setup.status == 0, "\(setup.err)")
        let t = Terminal(home: home)
        try t.start(environment: ["MMSH_PASSPHRASE": env["MMSH_PASSPHRASE"]!])
        try t.waitFor("mmsh")
        try t.type("start all")
        try t.send("Enter")
        try t.waitFor("started 2 'b' on live BTCUSDT")
        Thread.sleep(forTimeInterval: 1)
        t.stop()
        Thread.sleep(forTimeInterval: 2)
        let status = try run(["-c", "status --json"], home: home, environment: env)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any], "\(status)")
        let instances = object["instances"] as? [[String: Any]] ?? []
        #expect(instances.map { $0["state"] as? String } == ["running", "running"], "\(status.out)")
        #expect(instances.allSatisfy { ($0["orders"] as? [Any])?.isEmpty == false }, "still quoting")
        let stopped = try run(["-c", "stop all; log 1 -n 100; log 2 -n 100"], home: home, environment: env)
        #expect(stopped.status == 0, "\(stopped.err)")
        #expect(!stopped.out.contains("could not confirm"), "\(stopped.out)")
        // The venue's own list agrees: nothing of ours is left open.
        let open = try run(["-c", "orders 1 --json; orders 2 --json"], home: home, environment: env)
        #expect(!open.out.contains("client_id"), "\(open.out)")
        let summary = server.stop()
        #expect(summary.contains("openOrders"), "\(summary)")
    }

    /// The whole path a user takes: keys into the vault, an instance pointed at the local MEXC,
    /// started, killed hard while quoting, and started again: the orphans are found and cancelled.
    @Test func aLiveInstanceFromTheShellSurvivesAHardKill() throws {
        let server = try SimServeProcess(["--set", "sim.seed=4", "--set", "sim.takers=0", "--set", "sim.volatility=0"])
        defer { _ = server.stop() }
        let home = TempHome()
        let env = environment(server)
        let setup = try run(["-c", "keys set; new; set venue live; set mexc.rest_url \(server.url); set mexc.ws_url \(server.url.replacingOccurrences(of: "http", with: "ws"))/ws; set levels.count 2; keys test; preview"],
                            home: home, environment: env)
        #expect(setup.status == 0, "\(setup.err)")
        #expect(setup.out.contains("the keys of account 'default' work at \(server.url); assets held: BTC, USDT"), "\(setup.out)")
        // The ladder it would place, from the local MEXC's book and the account's balances.
        #expect(setup.out.contains("live BTCUSDT · reference price 60000"), "\(setup.out)")

        let mmsh = try PipedMmsh(home: home, environment: env)
        mmsh.send("start 1\norders 1\n")
        mmsh.waitFor("started 1 'mm1' on live BTCUSDT")
        Thread.sleep(forTimeInterval: 1.5)
        // The engine dies, as a crash would, with the instance's orders resting on the venue.
        home.killEngine()
        mmsh.signal(SIGKILL)

        let again = try run(["-c", "start 1; stop 1; log 1 -n 200"], home: home, environment: env)
        #expect(again.status == 0, "\(again.err)")
        let cancelledOrphans = again.out.components(separatedBy: "cancelled an order left by an earlier run").count - 1
        #expect(cancelledOrphans == 4, "\(again.out)")
        #expect(again.out.contains("stopped (stop)"))
        let open = try run(["-c", "orders 1 --json"], home: home, environment: env)
        #expect(!open.out.contains("\"NEW\""), "\(open.out)")
        let summary = server.stop()
        #expect(summary.contains("ok "))
        // The secret appears nowhere mmsh wrote: not in its output, its log or its database.
        for text in [setup.out, setup.err, again.out, again.err] { #expect(!text.contains(server.secret)) }
        for file in home.dataFiles {
            let data = (try? Data(contentsOf: home.url.appendingPathComponent(file))) ?? Data()
            #expect(data.range(of: Data(server.secret.utf8)) == nil, "\(file) holds the secret")
        }
    }
}
