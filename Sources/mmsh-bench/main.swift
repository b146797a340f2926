import Foundation

// scripts/bench: every benchmark with its target, as a table.
let filter = CommandLine.arguments.dropFirst().first
func selected(_ name: String) -> Bool { filter == nil || name.contains(filter!) }

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

if selected("recording") || selected("replay") || selected("backtest") {
    let rows = try await backtestBenchmarks()
    print("")
    print(["benchmark", "figure", "time", "target", "result"].joined(separator: "  |  "))
    for row in rows { print(row.joined(separator: "  |  ")) }
    missed = missed || rows.contains { $0.last == "MISSED" }
}

if selected("ten instances") {
    let row = try await tenInstances(seconds: Int(ProcessInfo.processInfo.environment["MMSH_BENCH_SECONDS"] ?? "") ?? 30)
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
