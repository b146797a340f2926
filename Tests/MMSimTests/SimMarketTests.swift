import MMCore
import MMStrategy
import Testing
@testable import MMSim

@Suite struct SimMarketTests {
    func config(_ changes: [String: String] = [:]) -> SimMarketConfig {
        var s = Settings()
        for (k, v) in changes { s.set(k, try! Catalog.lookup(k).parse(v)) }
        return SimMarketConfig(s)
    }

    @Test func aStillMarketStaysStill() {
        var m = SimMarket(config: config(["sim.volatility": "0", "sim.takers": "0"]), seed: 7, start: 0)
        let before = m.engine.book()
        #expect(m.advance(to: 3_600_000).isEmpty)
        #expect(m.mid == 60000 && m.engine.book() == before && m.time == 3_600_000)
        #expect(before.bestBid == Dec("59985") && before.bestAsk == Dec("60015"))
        #expect(before.bids.count == SimBook.depth && before.asks.count == SimBook.depth)
        // Thinner away from the touch.
        #expect(before.bids.last!.amount < before.bids.first!.amount)
    }

    @Test func theSameSeedReplaysExactly() throws {
        func run(_ seed: UInt64) throws -> ([Dec], [ExchangeTrade]) {
            var m = SimMarket(config: config(["sim.volatility": "0.2%", "sim.takers": "120"]), seed: seed, start: 0)
            _ = try m.withEngine { e throws(ExchangeError) in
                try e.place(clientId: "b", side: .buy, type: .limitMaker, price: "59990", quantity: "0.01", time: 0)
            }
            var mids: [Dec] = [], trades: [ExchangeTrade] = []
            for minute in 1...10 {
                trades += m.advance(to: Int64(minute) * 60_000)
                mids.append(m.mid)
            }
            return (mids, trades)
        }
        let (a, ta) = try run(42), (b, tb) = try run(42), (c, _) = try run(43)
        #expect(a == b && ta == tb)
        #expect(a != c)
        #expect(Set(a).count >= 8, "the mid moves")
    }

    @Test func takersFillQuotesAtTheTouch() throws {
        var m = SimMarket(config: config(["sim.volatility": "0", "sim.takers": "600"]), seed: 1, start: 0)
        // Join the best bid and ask; takers arrive ten times a second on average... per minute: 600.
        _ = try m.withEngine { e throws(ExchangeError) in
            try e.place(clientId: "bid", side: .buy, type: .limitMaker, price: "59985", quantity: "0.001", time: 0)
        }
        _ = try m.withEngine { e throws(ExchangeError) in
            try e.place(clientId: "ask", side: .sell, type: .limitMaker, price: "60015", quantity: "0.001", time: 0)
        }
        var filled: Set<String> = []
        for s in 1...120 where filled.count < 2 {
            for t in m.advance(to: Int64(s) * 1000) where t.orderFilled { filled.insert(t.clientId) }
        }
        #expect(filled == ["bid", "ask"])
        #expect(m.lastTrade != nil)
        // Start 0.1 / 6000; bought 0.001 at 59985 and sold 0.001 at 60015, no fee.
        #expect(m.engine.account == AccountBalances(baseFree: "0.1", quoteFree: Dec(6000) + Dec("0.03")))
    }

    @Test func aMovingMarketFillsQuotesItPassesThrough() throws {
        var m = SimMarket(config: config(["sim.volatility": "5%", "sim.takers": "0"]), seed: 3, start: 0)
        _ = try m.withEngine { e throws(ExchangeError) in
            try e.place(clientId: "ask", side: .sell, type: .limitMaker, price: "60030", quantity: "0.001", time: 0)
        }
        _ = try m.withEngine { e throws(ExchangeError) in
            try e.place(clientId: "bid", side: .buy, type: .limitMaker, price: "59970", quantity: "0.001", time: 0)
        }
        var fills = 0
        for s in 1...600 { fills += m.advance(to: Int64(s) * 1000).count }
        #expect(fills >= 1)
        if let bid = m.engine.bestBid, let ask = m.engine.bestAsk { #expect(bid < ask) }
    }

    @Test func randomSamplesLookRight() {
        var g = SeededGenerator(seed: 9)
        let n = 20_000
        let normals = (0..<n).map { _ in g.normal() }
        let mean = normals.reduce(0, +) / Double(n)
        let sd = (normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)).squareRoot()
        #expect(abs(mean) < 0.03 && abs(sd - 1) < 0.03)
        let poissons = (0..<n).map { _ in g.poisson(2.5) }
        #expect(abs(Double(poissons.reduce(0, +)) / Double(n) - 2.5) < 0.05)
    }
}
