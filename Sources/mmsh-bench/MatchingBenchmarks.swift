import MMCore
import MMSim
import MMStrategy

/// The matching engine: placing and cancelling post-only orders, and takers sweeping the book.
func matchingBenchmarks() -> [Benchmark] {
    let rules = MarketRules(tick: "0.01", step: "0.000001", minQuantity: "0.000001", minNotional: 1, makerFee: "0.001")
    var engine = MatchingEngine(rules: rules, base: 1_000_000, quote: 1_000_000_000)
    let book = SimBook.around(mid: 60000, spread: "0.0005", rules: rules)
    _ = engine.setParticipants(book, time: 0)
    // Prices and amounts are made once: the benchmark measures the engine, not parsing.
    let prices = (0..<64).map { Dec("59900") + Dec($0) * Dec("0.5") }
    let sellPrices = (0..<64).map { Dec("60100") + Dec($0) * Dec("0.5") }
    let amount: Dec = "0.01", takerAmount: Dec = "0.001"
    var n = 0
    var sink = 0
    return [
        Benchmark(name: "matching: place and cancel a post-only order (2 ops)", target: .throughput(perSecond: 1_000_000),
                  operationsPerCall: 2) {
            n &+= 1
            let id = "b\(n & 1023)"
            let side: Side = n & 1 == 0 ? .buy : .sell
            let price = side == .buy ? prices[n & 63] : sellPrices[n & 63]
            _ = try? engine.place(clientId: id, side: side, type: .limitMaker, price: price, quantity: amount, time: Int64(n))
            _ = try? engine.cancel(clientId: id)
            engine.pruneClosed(keep: 0)
        },
        Benchmark(name: "matching: takers at the touch (book restored every 512, counted)", target: .throughput(perSecond: 1_000_000)) {
            n &+= 1
            sink &+= engine.takerOrder(side: n & 1 == 0 ? .buy : .sell, quantity: takerAmount, time: Int64(n)).count
            if n & 511 == 0 { sink &+= engine.setParticipants(book, time: Int64(n)).count }
        },
    ]
}
