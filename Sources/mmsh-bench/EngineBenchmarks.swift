import Foundation
import MMControl

/// The engine as its users meet it: the release `mmsh` binary (`$MMSH_BIN`, which scripts/bench
/// builds) as the engine and as its clients, on a private data directory.
struct EngineBench {
    let binary: String
    let home: String
    var socket: String { home + "/mmsh.sock" }
    var engine: Process?

    init(binary: String) {
        self.binary = binary
        home = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-bench-engine-\(getpid())").path
    }

    mutating func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["daemon"]
        p.environment = ProcessInfo.processInfo.environment.merging(["MMSH_HOME": home]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        engine = p
        let deadline = Date().addingTimeInterval(10)
        while (try? SocketConnection(path: socket)) == nil && Date() < deadline { usleep(10_000) }
    }

    func stop() {
        _ = try? ControlHTTP.request(socket: socket, method: "POST", path: "/v1/daemon/stop")
        engine?.waitUntilExit()
        try? FileManager.default.removeItem(atPath: home)
    }

    /// Runs `mmsh ARGS` as a client; its wall time in ns. Spawned and waited for directly:
    /// Foundation's `Process.waitUntilExit` polls, and added up to 100 ms to every run.
    func client(_ args: [String]) throws -> UInt64 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environment = ProcessInfo.processInfo.environment.merging(["MMSH_HOME": home]) { $1 }.map { "\($0.key)=\($0.value)" }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let t0 = nowNs()
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard rc == 0 else { throw CocoaError(.executableLoad) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return nowNs() - t0
    }

    /// VmRSS of the engine, in MB.
    func engineResidentMB() -> Double {
        guard let pid = engine?.processIdentifier,
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}

func percentile(_ xs: [UInt64], _ p: Double) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return Double(s[min(s.count - 1, Int(Double(s.count - 1) * p))])
}

/// `mmsh -c 'status --json'` end to end against a running engine (process start, attach, the
/// command, exit); the idle engine's memory; then 50 API clients for 10 s beside 10 busy instances.
func engineBenchmarks(seconds: Int) throws -> [[String]] {
    guard let binary = ProcessInfo.processInfo.environment["MMSH_BIN"], FileManager.default.isExecutableFile(atPath: binary) else {
        return [["engine benchmarks", "-", "-", "need MMSH_BIN (scripts/bench sets it)", "MISSED"]]
    }
    var bench = EngineBench(binary: binary)
    try bench.start()
    defer { bench.stop() }
    // Idle: started, nothing running, no call for a while (after ten seconds it gives back
    // what start-up used).
    usleep(12_000_000)
    let idle = bench.engineResidentMB()
    var setup: [String] = []
    for i in 1...10 {
        setup.append("new busy\(i); set sim.seed \(i); set sim.takers 300; set sim.volatility 0.2%; set refresh.time 1s; set levels.count 3")
    }
    _ = try bench.client(["-c", setup.joined(separator: "; ")])
    var times: [UInt64] = []
    for _ in 0..<60 { times.append(try bench.client(["-c", "status --json"])) }
    let p50 = percentile(times, 0.5), p99 = percentile(times, 0.99)
    var rows: [[String]] = []
    rows.append(["mmsh -c 'status --json' (10 instances) against a running engine, end to end", Measurement.time(p50), Measurement.time(p99),
                 "p50 ≤ 50 ms, p99 ≤ 100 ms", p50 <= 50e6 && p99 <= 100e6 ? "ok" : "MISSED"])
    rows.append(["the idle engine's resident memory", String(format: "%.1f MB", idle), "-", "< 40 MB", idle < 40 ? "ok" : "MISSED"])

    // The ten instances busy, then fifty clients asking for status and fills as fast as they can.
    _ = try bench.client(["-c", "start all"])
    let socket = bench.socket
    final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var times: [UInt64] = []
        var errors = 0
    }
    let tally = Tally()
    let deadline = Date().addingTimeInterval(Double(seconds))
    let group = DispatchGroup()
    for c in 0..<50 {
        group.enter()
        Thread.detachNewThread {
            var mine: [UInt64] = [], errors = 0, n = 0
            while Date() < deadline {
                let path = (c + n) % 2 == 0 ? "/v1/instances" : "/v1/instances/\(1 + c % 10)/fills?limit=50"
                n += 1
                let t0 = nowNs()
                if let a = try? ControlHTTP.request(socket: socket, method: "GET", path: path), a.status == 200 { mine.append(nowNs() - t0) } else { errors += 1 }
            }
            tally.lock.lock()
            tally.times += mine
            tally.errors += errors
            tally.lock.unlock()
            group.leave()
        }
    }
    group.wait()
    let lp99 = percentile(tally.times, 0.99), lp50 = percentile(tally.times, 0.5)
    rows.append(["50 API clients (status, fills) for \(seconds) s beside 10 busy instances: \(tally.times.count) requests, \(tally.errors) errors",
                 Measurement.time(lp50), Measurement.time(lp99), "no error (p99 reported)",
                 tally.errors == 0 ? "ok" : "MISSED"])
    return rows
}
