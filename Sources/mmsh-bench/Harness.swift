import CMallocCounter
import Foundation

/// A benchmark: an operation timed many times, with its target.
struct Benchmark {
    enum Target {
        /// Median and p99 of one operation, in nanoseconds.
        case latency(medianNs: Double, p99Ns: Double)
        /// Operations per second at least.
        case throughput(perSecond: Double)
        /// Reported only.
        case none
    }

    var name: String
    var target: Target
    /// Operations one call of `body` performs.
    var operationsPerCall = 1
    /// Calls timed (and before them, a tenth as many to warm up); slow operations take fewer.
    var samples = 20_000
    var body: () -> Void
}

struct Measurement {
    var name: String
    var medianNs: Double
    var p99Ns: Double
    var perSecond: Double
    var allocationsPerOp: Double
    var target: Benchmark.Target

    var verdict: String {
        switch target {
        case .latency(let m, let p): medianNs <= m && p99Ns <= p ? "ok" : "MISSED"
        case .throughput(let t): perSecond >= t ? "ok" : "MISSED"
        case .none: "-"
        }
    }

    var targetText: String {
        switch target {
        case .latency(let m, let p): "median ≤ \(Measurement.time(m)), p99 ≤ \(Measurement.time(p))"
        case .throughput(let t): "≥ \(Measurement.rate(t))/s"
        case .none: "report"
        }
    }

    static func time(_ ns: Double) -> String {
        ns < 1000 ? String(format: "%.0f ns", ns) : ns < 1_000_000 ? String(format: "%.2f µs", ns / 1000) : String(format: "%.2f ms", ns / 1_000_000)
    }

    static func rate(_ r: Double) -> String {
        r >= 1_000_000 ? String(format: "%.2fM", r / 1_000_000) : r >= 1000 ? String(format: "%.1fk", r / 1000) : String(format: "%.0f", r)
    }
}

@inline(__always) func nowNs() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// Warms up, then times `samples` calls one by one for the percentiles.
func measure(_ b: Benchmark) -> Measurement {
    let samples = b.samples, warmup = max(1, b.samples / 10)
    for _ in 0..<warmup { b.body() }
    var times = [Double](repeating: 0, count: samples)
    let allocationsBefore = mm_allocation_count()
    let start = nowNs()
    for i in 0..<samples {
        let t0 = nowNs()
        b.body()
        times[i] = Double(nowNs() - t0) / Double(b.operationsPerCall)
    }
    let elapsed = Double(nowNs() - start)
    let allocations = mm_allocation_count() - allocationsBefore
    times.sort()
    let ops = Double(samples * b.operationsPerCall)
    return Measurement(name: b.name, medianNs: times[samples / 2], p99Ns: times[samples * 99 / 100],
                       perSecond: ops / (elapsed / 1e9), allocationsPerOp: Double(allocations) / ops, target: b.target)
}

func printTable(_ results: [Measurement]) {
    let header = ["benchmark", "median", "p99", "ops/s", "allocs/op", "target", "result"]
    let rows = results.map {
        [$0.name, Measurement.time($0.medianNs), Measurement.time($0.p99Ns), Measurement.rate($0.perSecond),
         String(format: "%.1f", $0.allocationsPerOp), $0.targetText, $0.verdict]
    }
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == 0 || i == 5 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            : String(repeating: " ", count: widths[i] - c.count) + c }.joined(separator: "  ")
    }
    print(line(header))
    for r in rows { print(line(r)) }
}

/// The loop callgrind counts (its name is what `--toggle-collect` matches): never inlined, so
/// that the setup before it and the exit after it stay out of the count.
@inline(never) func countedLoop(_ body: () -> Void, _ n: Int) {
    for _ in 0..<n { body() }
}

/// Seconds in a duration, for the tables.
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// One row measured by this binary run again as a child (`MMSH_BENCH_CHILD=name`, and
/// `environment`), which prints the row's cells separated by U+001F. `onEveryCore` lets the child
/// run on every core (through taskset) rather than the one this process is pinned to.
func childRow(_ name: String, environment: [String: String] = [:], onEveryCore: Bool = false) throws -> [String] {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let child = Process()
    if onEveryCore, FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") {
        child.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        child.arguments = ["-c", "0-\(ProcessInfo.processInfo.processorCount - 1)", me]
    } else {
        child.executableURL = URL(fileURLWithPath: me)
    }
    child.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["MMSH_BENCH_CHILD": name]) { $1 }) { $1 }
    let out = Pipe()
    child.standardOutput = out
    try child.run()
    let answer = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    return answer.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "\u{1F}")
}
