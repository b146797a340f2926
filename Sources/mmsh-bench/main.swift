import Foundation

// scripts/bench: every benchmark with its target, as a table.
let filter = CommandLine.arguments.dropFirst().first
let benchmarks = (strategyBenchmarks() + matchingBenchmarks()).filter { filter == nil || $0.name.contains(filter!) }
var results: [Measurement] = []
for b in benchmarks { results.append(measure(b)) }
printTable(results)
exit(results.contains { $0.verdict == "MISSED" } ? 1 : 0)
