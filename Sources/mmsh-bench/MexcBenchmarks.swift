import Foundation
import MMCore
import MMMexc
import MMSimServer

/// The REST connector's own costs: signing a request and reading MEXC's answers.
func mexcBenchmarks() -> [Benchmark] {
    let secret = "45d0b3c26f2644f19bfb98b07741b2f5"
    let parameters = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT_MAKER"), ("quantity", "0.002"),
                      ("price", "59970.12"), ("newClientOrderId", "mm3-k2j9x1-1f")]
    let order = Data("""
        {"symbol":"BTCUSDT","orderId":"C02__413312345678901234","orderListId":-1,"clientOrderId":"mm3-k2j9x1-1f","price":"59970.12",
        "origQty":"0.002","executedQty":"0","cummulativeQuoteQty":"0","status":"NEW","timeInForce":null,"type":"LIMIT_MAKER",
        "side":"BUY","stopPrice":null,"icebergQty":null,"time":1795770000000,"updateTime":1795770000000,"isWorking":true,
        "origQuoteOrderQty":"119.94024"}
        """.utf8)
    let levels = (0..<100).map { i in "[\"\(60000 - i).5\",\"0.\(100 + i)\"]" }.joined(separator: ",")
    let depth = Data("{\"lastUpdateId\":\"3786421907\",\"bids\":[\(levels)],\"asks\":[\(levels)],\"timestamp\":1795770000000}".utf8)
    var sink = 0
    // As the client signs: with its secret keyed for HMAC once, when it is made.
    let key = SigningKey(secret: secret)
    return [
        Benchmark(name: "mexc: sign a place-order request", target: .latency(medianNs: 5_000, p99Ns: 20_000)) {
            sink &+= MEXCSigner.signedQuery(parameters, timestamp: 1_795_770_000_000, key: key).utf8.count
        },
        Benchmark(name: "mexc: parse an order answer", target: .latency(medianNs: 30_000, p99Ns: 100_000)) {
            sink &+= (try? decodeMEXC(OrderResponse.self, from: order))?.symbol.count ?? 0
        },
        Benchmark(name: "mexc: parse a 100-level depth answer into decimals", target: .latency(medianNs: 500_000, p99Ns: 2_000_000)) {
            sink &+= (try? decodeMEXC(Depth.self, from: depth).levels().bids.count) ?? 0
        },
    ]
}

/// A post-only order placed and cancelled through the client against `mmsh sim serve` on
/// loopback: the round trip of the place, from the call to its decoded answer.
func placeOrderRoundTrip(count: Int) async throws -> [String] {
    let credentials = APICredentials(key: "mx0bench", secret: "0123456789abcdef0123456789abcdef")
    var options = SimServerOptions(credentials: credentials)
    options.port = 0
    options.ipLimit = 1_000_000
    options.uidLimit = 1_000_000
    options.settings.set("sim.takers", .decimal(0))
    options.settings.set("sim.quote", .decimal(100_000_000))
    let server = try SimServer(options: options)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let task = Task { try await server.run { continuation.yield($0) } }
    defer { task.cancel() }
    var port = 0
    for await p in ports { port = p; break }
    let pool = WeightPool(capacity: 1_000_000)
    let client = MEXCClient(baseURL: "http://127.0.0.1:\(port)", credentials: credentials, ipPool: pool, uidPool: pool)
    try await client.syncTime()
    var times: [Double] = []
    for i in 0..<(count + 50) {
        let o = NewOrder(symbol: "BTCUSDT", side: "BUY", type: "LIMIT_MAKER", quantity: "0.001", price: "50000", clientId: "bench-\(i)")
        let t0 = nowNs()
        _ = try await client.placeOrder(o)
        let t = Double(nowNs() - t0)
        _ = try await client.cancelOrder(symbol: "BTCUSDT", clientId: o.clientId)
        if i >= 50 { times.append(t) }
    }
    times.sort()
    let p50 = times[times.count / 2], p99 = times[times.count * 99 / 100]
    let ok = p50 <= 1_000_000 && p99 <= 5_000_000
    return ["place-order round trip, client and simulator server on loopback (\(count) orders)",
            Measurement.time(p50), Measurement.time(p99), "p50 ≤ 1 ms, p99 ≤ 5 ms", ok ? "ok" : "MISSED"]
}
