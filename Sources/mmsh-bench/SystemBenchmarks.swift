import Foundation
import MMCore
import MMEngine
import MMStorage

/// Ten instances on busy sim markets with a 1 s refresh, in real time, against a database
/// file: the process's CPU share and peak resident memory.
func tenInstances(seconds: Int) async throws -> [String] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-bench-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try Store.open(directory: try DataDirectory(url: dir))
    let manager = InstanceManager(store: store)
    for i in 1...10 {
        let r = try store.createInstance(name: "bench\(i)", limit: 10)
        var s = Settings()
        for (k, v) in ["sim.seed": "\(i)", "sim.takers": "300", "sim.volatility": "0.2%", "refresh.time": "1s",
                       "levels.count": "3", "spread.bid": "0.02%", "spread.ask": "0.02%", "refresh.fill_delay": "1s"] {
            s.set(k, try Catalog.lookup(k).parse(v))
        }
        try await manager.start(id: r.id, name: r.name, settings: s)
    }
    let cpu0 = cpuSeconds(), wall0 = Date()
    try await Task.sleep(for: .seconds(seconds))
    let cpu = cpuSeconds() - cpu0, wall = Date().timeIntervalSince(wall0)
    var fills = 0
    for i in 1...10 { fills += await manager.report(i)?.fills ?? 0 }
    _ = await manager.stopAll(reason: "benchmark")
    let share = cpu / wall * 100
    let rss = peakResidentMB()
    let ok = share < 5 && rss < 64
    return ["ten instances, busy sim markets, 1 s refresh (\(seconds) s, \(fills) fills)",
            String(format: "%.2f%% of a core", share), String(format: "%.1f MB peak", rss),
            "< 5% of a core, < 64 MB", ok ? "ok" : "MISSED"]
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// VmHWM from /proc/self/status, in MB.
func peakResidentMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}
