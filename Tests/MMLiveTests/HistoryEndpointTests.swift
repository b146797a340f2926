import Foundation
import MMCore
import MMMexc
import MMSimServer
import Synchronization
import Testing

/// MEXC's market-history endpoints on the simulator, with its clock in the test's hands:
/// shapes as MEXC documents them, and figures that agree with each other.
@Suite struct HistoryEndpointTests {
    final class Clock: Sendable {
        let t = Mutex<Int64>(1_800_000_000_000)   // a minute boundary
        func now() -> Int64 { t.withLock { $0 } }
        func advance(_ ms: Int64) { t.withLock { $0 += ms } }
    }

    func simulator(_ clock: Clock) throws -> SimulatedMEXC {
        var options = SimServerOptions(credentials: APICredentials(key: "mx0testkey", secret: "0123456789abcdef0123456789abcdef"))
        for (k, v) in ["sim.takers": "600", "sim.seed": "9", "sim.volatility": "0.5%"] { options.settings.set(k, try Catalog.lookup(k).parse(v)) }
        options.ipLimit = 1_000_000
        return try SimulatedMEXC(options: options, now: { clock.now() })
    }

    func get(_ sim: SimulatedMEXC, _ path: String, _ query: String) async -> (Int, Any) {
        let answer = await sim.handle(SimRequest(method: "GET", path: path, rawQuery: query, body: "", apiKey: nil))
        return (answer.status, try! JSONSerialization.jsonObject(with: Data(answer.body.utf8), options: [.fragmentsAllowed]))
    }

    func dec(_ v: Any?) -> Dec { Dec(v as! String)! }

    @Test func klinesTickersAndTradesAgree() async throws {
        let clock = Clock()
        let sim = try simulator(clock)
        // Ten minutes and five seconds, touched every five seconds as the server's publishing does.
        for _ in 0..<121 {
            clock.advance(5000)
            _ = await get(sim, "/api/v3/ticker/price", "symbol=BTCUSDT")
        }
        let (status, klines) = await get(sim, "/api/v3/klines", "symbol=BTCUSDT&interval=1m")
        #expect(status == 200)
        let bars = try #require(klines as? [[Any]])
        // Ten whole minutes, and the one that the last five seconds opened.
        #expect(bars.count == 11)
        for bar in bars {
            let open = (bar[0] as! NSNumber).int64Value, close = (bar[6] as! NSNumber).int64Value
            #expect(open % 60_000 == 0 && close == open + 60_000)
            let (o, h, l, c) = (dec(bar[1]), dec(bar[2]), dec(bar[3]), dec(bar[4]))
            #expect(h >= max(o, c) && l <= min(o, c))
            #expect(bar.count == 8)
        }
        // A minute's volume is the sum of that minute's trades.
        let last = bars[bars.count - 2]
        let start = (last[0] as! NSNumber).int64Value
        let (_, agg) = await get(sim, "/api/v3/aggTrades", "symbol=BTCUSDT&startTime=\(start)&endTime=\(start + 59_999)&limit=1000")
        let trades = try #require(agg as? [[String: Any]])
        #expect(!trades.isEmpty && trades.count < 1000)
        #expect(trades.reduce(Dec(0)) { $0 + dec($1["q"]) } == dec(last[5]))
        #expect(trades.allSatisfy { $0.keys.sorted() == ["M", "T", "a", "f", "l", "m", "p", "q"] })
        // Five-minute bars sum the one-minute ones.
        let (_, five) = await get(sim, "/api/v3/klines", "symbol=BTCUSDT&interval=5m")
        let fives = try #require(five as? [[Any]])
        #expect(fives.count == 3)
        #expect(dec(fives[0][5]) == bars.prefix(5).reduce(Dec(0)) { $0 + dec($1[5]) })
        #expect(dec(fives[0][1]) == dec(bars[0][1]) && dec(fives[0][4]) == dec(bars[4][4]))
        // The 24-hour ticker: the whole run so far.
        let (_, t24) = await get(sim, "/api/v3/ticker/24hr", "symbol=BTCUSDT")
        let ticker = try #require(t24 as? [String: Any])
        #expect(dec(ticker["volume"]) == bars.reduce(Dec(0)) { $0 + dec($1[5]) })
        #expect(dec(ticker["openPrice"]) == dec(bars[0][1]) && dec(ticker["highPrice"]) == bars.map { dec($0[2]) }.max()!)
        let (_, price) = await get(sim, "/api/v3/ticker/price", "symbol=BTCUSDT")
        #expect(dec(ticker["lastPrice"]) == dec((price as! [String: Any])["price"]))
        #expect(dec(ticker["priceChange"]) == dec(ticker["lastPrice"]) - dec(ticker["openPrice"]))
        for key in ["symbol", "priceChange", "priceChangePercent", "prevClosePrice", "lastPrice", "bidPrice", "bidQty", "askPrice", "askQty",
                    "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume", "openTime", "closeTime", "count"] {
            #expect(ticker.keys.contains(key), "ticker/24hr has \(key)")
        }
        let (_, all) = await get(sim, "/api/v3/ticker/24hr", "")
        #expect((all as? [[String: Any]])?.map { $0["symbol"] as? String } == ["BTCUSDT"])
        let (_, avg) = await get(sim, "/api/v3/avgPrice", "symbol=BTCUSDT")
        let average = try #require(avg as? [String: Any])
        #expect((average["mins"] as? NSNumber)?.intValue == 5)
        #expect(dec(average["price"]) >= dec(ticker["lowPrice"]) && dec(average["price"]) <= dec(ticker["highPrice"]))
    }

    @Test func badParametersGetMEXCsErrors() async throws {
        let sim = try simulator(Clock())
        func code(_ path: String, _ query: String) async -> (Int, Int?) {
            let (status, body) = await get(sim, path, query)
            return (status, ((body as? [String: Any])?["code"] as? NSNumber)?.intValue)
        }
        #expect(await code("/api/v3/klines", "symbol=BTCUSDT") == (400, 700004))
        #expect(await code("/api/v3/klines", "symbol=BTCUSDT&interval=2m") == (400, -1121))
        #expect(await code("/api/v3/klines", "symbol=NOPEUSDT&interval=1m") == (400, -1121))
        #expect(await code("/api/v3/aggTrades", "symbol=BTCUSDT&startTime=1") == (400, 33333))
        // Beyond the documented maxima: refused, not cut down.
        #expect(await code("/api/v3/depth", "symbol=BTCUSDT&limit=1000000") == (400, 33333))
        #expect(await code("/api/v3/trades", "symbol=BTCUSDT&limit=99999999999") == (400, 33333))
        #expect(await code("/api/v3/klines", "symbol=BTCUSDT&interval=1m&limit=1001") == (400, 33333))
        #expect(await code("/api/v3/depth", "symbol=BTCUSDT&limit=5000").0 == 200)
    }
}
