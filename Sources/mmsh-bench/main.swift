import Foundation

// scripts/bench: every benchmark with its target, as a table.
let filter = CommandLine.arguments.dropFirst().first
func selected(_ name: String) -> Bool { filter == nil || name.contains(filter!) }

// The ten instances' memory is the peak of a process of their own: here, the other benchmarks'
// data (a million fills, a month of samples) would be counted with them.
if ProcessInfo.processInfo.environment["MMSH_BENCH_CHILD"] == "ten instances" {
    let row = try await tenInstances(seconds: Int(ProcessInfo.processInfo.environment["MMSH_BENCH_SECONDS"] ?? "") ?? 30)
    print(row.joined(separator: "\u{1F}"))
    exit(0)
}

if ProcessInfo.processInfo.environment["MMSH_BENCH_CHILD"] == "sweep", let data = ProcessInfo.processInfo.environment["MMSH_BENCH_DATA"] {
    let row = try await sweepRow(path: data)
    print(row.joined(separator: "\u{1F}"))
    exit(0)
}

// `mmsh-bench --count NAME N`: runs the one benchmark whose name starts with NAME N times, untimed,
// inside `countedLoop`, for an instruction count under callgrind (scripts/bench-guard) or a
// profile under perf.
if CommandLine.arguments.count == 4, CommandLine.arguments[1] == "--count", let n = Int(CommandLine.arguments[3]) {
    let all = strategyBenchmarks() + avellanedaBenchmarks() + matchingBenchmarks() + mexcBenchmarks() + streamBenchmarks()
    guard let b = all.first(where: { $0.name.hasPrefix(CommandLine.arguments[2]) }) else {
        FileHandle.standardError.write(Data("mmsh-bench: no benchmark named \(CommandLine.arguments[2])…\n".utf8))
        exit(2)
    }
    b.body()
    countedLoop(b.body, n)
    exit(0)
}

// `mmsh-bench --backtest N`: the backtest benchmark's hour, backtested N times and nothing else
// (for a profile under perf: the table's other benchmarks build their data when listed).
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--backtest", let n = Int(CommandLine.arguments[2]) {
    try await profileBacktest(times: n)
    exit(0)
}

let benchmarks = (strategyBenchmarks() + avellanedaBenchmarks() + ledgerBenchmarks() + matchingBenchmarks() + mexcBenchmarks() + streamBenchmarks()).filter { selected($0.name) }
var results: [Measurement] = []
for b in benchmarks { results.append(measure(b)) }
if !results.isEmpty { printTable(results) }
var missed = results.contains { $0.verdict == "MISSED" }

if selected("round trip") {
    let row = try await placeOrderRoundTrip(count: 2000)
    print("")
    print(["benchmark", "p50", "p99", "target", "result"].joined(separator: "  |  "))
    print(row.joined(separator: "  |  "))
    missed = missed || row.last == "MISSED"
}

if selected("recording") || selected("replay") || selected("backtest") || selected("sweep") {
    let rows = try await backtestBenchmarks()
    print("")
    print(["benchmark", "figure", "time", "target", "result"].joined(separator: "  |  "))
    for row in rows { print(row.joined(separator: "  |  ")) }
    missed = missed || rows.contains { $0.last == "MISSED" }
}

if selected("ten instances") {
    let row = try childRow("ten instances")
    print("")
    print(["benchmark", "cpu", "memory", "target", "result"].joined(separator: "  |  "))
    print(row.joined(separator: "  |  "))
    missed = missed || row.last == "MISSED"
}
if selected("engine") {
    let rows = try engineBenchmarks(seconds: Int(ProcessInfo.processInfo.environment["MMSH_BENCH_LOAD_SECONDS"] ?? "") ?? 10)
    print("")
    print(["benchmark", "p50", "p99", "target", "result"].joined(separator: "  |  "))
    for row in rows { print(row.joined(separator: "  |  ")) }
    missed = missed || rows.contains { $0.last == "MISSED" }
}
exit(missed ? 1 : 0)
