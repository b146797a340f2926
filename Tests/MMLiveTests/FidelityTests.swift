import Foundation
import MMMexc
import Testing

/// Requests as another MEXC client (CCXT) builds them, taken from its captured request URLs:
/// `timestamp` before `recvWindow`, orders without a client id, batchOrders as a URL-encoded
/// JSON array, cancels by exchange order id. The simulator server must take them unchanged,
/// so that such a client pointed at `mmsh sim serve` works.
@Suite struct FidelityTests {
    func send(_ server: LoopbackServer, _ method: String, _ path: String, _ query: String, signed: Bool = true) async throws -> (Int, Any) {
        var full = query
        var headers: [(String, String)] = []
        if signed {
            let timestamp = Int64(Date().timeIntervalSince1970 * 1000)
            // A wide recvWindow: the suite runs tests in parallel, and a loaded machine can hold
            // a request for seconds (MEXCClient itself measures the offset again on 700003).
            full += (full.isEmpty ? "" : "&") + "timestamp=\(timestamp)&recvWindow=30000"
            full += "&signature=" + MEXCSigner.signature(full, secret: server.credentials.secret)
            headers.append(("X-MEXC-APIKEY", server.credentials.key))
        }
        let url = server.url + path + (full.isEmpty ? "" : "?" + full)
        let response = try await CurlTransport().send(HTTPRequest(method: method, url: url, headers: headers))
        return (response.status, try JSONSerialization.jsonObject(with: response.body, options: [.fragmentsAllowed]))
    }

    @Test func requestsShapedByAnotherClientWork() async throws {
        // A still market: its book is the participants' whole 50 levels a side.
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0", "sim.seed": "2", "sim.volatility": "0"])
        defer { Task { await server.stop() } }
        let (status, placed) = try await send(server, "POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.001&price=50000")
        #expect(status == 200, "\(placed)")
        let order = try #require(placed as? [String: Any])
        let orderId = try #require(order["orderId"] as? String)
        #expect(orderId.hasPrefix("C02__") && order["price"] as? String == "50000" && order["origQty"] as? String == "0.001")

        let batch = "batchOrders=%5B%7B%22symbol%22%3A%22BTCUSDT%22%2C%22side%22%3A%22BUY%22%2C%22type%22%3A%22LIMIT%22%2C%22quantity%22%3A%220.001%22%2C%22price%22%3A%2249000%22%7D%2C%7B%22symbol%22%3A%22BTCUSDT%22%2C%22side%22%3A%22BUY%22%2C%22type%22%3A%22LIMIT%22%2C%22quantity%22%3A%220.002%22%2C%22price%22%3A%2249000.5%22%7D%5D"
        let (batchStatus, batchAnswer) = try await send(server, "POST", "/api/v3/batchOrders", batch)
        #expect(batchStatus == 200)
        #expect((batchAnswer as? [[String: Any]])?.compactMap { $0["orderId"] as? String }.count == 2, "\(batchAnswer)")

        let (_, open) = try await send(server, "GET", "/api/v3/openOrders", "symbol=BTCUSDT")
        #expect((open as? [[String: Any]])?.count == 3)
        let (_, one) = try await send(server, "GET", "/api/v3/order", "symbol=BTCUSDT&orderId=\(orderId)")
        #expect((one as? [String: Any])?["status"] as? String == "NEW")
        let (cancelStatus, cancelled) = try await send(server, "DELETE", "/api/v3/order", "symbol=BTCUSDT&orderId=\(orderId)")
        #expect(cancelStatus == 200 && (cancelled as? [String: Any])?["status"] as? String == "CANCELED", "\(cancelled)")
        let (_, all) = try await send(server, "DELETE", "/api/v3/openOrders", "symbol=BTCUSDT")
        #expect((all as? [[String: Any]])?.count == 2)

        // Every order of the last day, open or closed.
        let (allStatus, every) = try await send(server, "GET", "/api/v3/allOrders", "symbol=BTCUSDT&limit=10")
        let orders = try #require(every as? [[String: Any]], "\(allStatus) \(every)")
        #expect(orders.count == 3 && orders.allSatisfy { $0["status"] as? String == "CANCELED" })
        #expect(orders.first?["orderId"] as? String == orderId)

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let (tradesStatus, trades) = try await send(server, "GET", "/api/v3/myTrades",
                                                   "symbol=BTCUSDT&startTime=\(now - 60_000)&limit=100&endTime=\(now + 60_000)")
        #expect(tradesStatus == 200 && (trades as? [Any])?.isEmpty == true)
        let (_, account) = try await send(server, "GET", "/api/v3/account", "")
        #expect(((account as? [String: Any])?["balances"] as? [[String: Any]])?.map { $0["asset"] as? String } == ["BTC", "USDT"])

        let (_, depth) = try await send(server, "GET", "/api/v3/depth", "symbol=BTCUSDT", signed: false)
        #expect(((depth as? [String: Any])?["bids"] as? [[String]])?.count == 50)
        let (_, tickers) = try await send(server, "GET", "/api/v3/ticker/bookTicker", "", signed: false)
        #expect((tickers as? [[String: Any]])?.first?["symbol"] as? String == "BTCUSDT")
        let (_, time) = try await send(server, "GET", "/api/v3/time", "", signed: false)
        #expect((time as? [String: Any])?["serverTime"] is NSNumber)
        // What the server does not offer is refused as MEXC refuses an unknown path, never a crash.
        let (missing, _) = try await send(server, "GET", "/api/v3/capital/config/getall", "")
        #expect(missing == 404)
    }

    /// A body far beyond anything MEXC takes gets HTTP's answer at once, not a 500.
    @Test func anOversizedBodyGets413() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"])
        defer { Task { await server.stop() } }
        let body = String(repeating: "a", count: 3_000_000)
        let response = try await CurlTransport().send(HTTPRequest(method: "POST", url: server.url + "/api/v3/order", headers: [], body: body))
        #expect(response.status == 413)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"code":413,"msg":"Request Entity Too Large"}"#)
    }

    /// Queries, signatures and headers of 100 KB to 1 MB are answered at once (414 or 431), as a
    /// web front answers them, never left to time out; ordinary requests go on being served.
    @Test func oversizedQueriesAndHeadersGet414And431() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"])
        defer { Task { await server.stop() } }
        let curl = CurlTransport()
        for size in [100_000, 1_000_000] {
            let filler = String(repeating: "a", count: size)
            let query = try await curl.send(HTTPRequest(method: "GET", url: server.url + "/api/v3/depth?symbol=BTCUSDT&x=" + filler))
            #expect(query.status == 414, "a \(size)-byte query")
            #expect(String(decoding: query.body, as: UTF8.self) == #"{"code":414,"msg":"Request-URI Too Large"}"#)
            let signature = try await curl.send(HTTPRequest(method: "GET", url: server.url + "/api/v3/account?timestamp=1&signature=" + filler,
                                                            headers: [("X-MEXC-APIKEY", server.credentials.key)]))
            #expect(signature.status == 414, "a \(size)-byte signature")
            let header = try await curl.send(HTTPRequest(method: "GET", url: server.url + "/api/v3/ping", headers: [("X-Filler", filler)]))
            #expect(header.status == 431, "a \(size)-byte header")
            #expect(String(decoding: header.body, as: UTF8.self) == #"{"code":431,"msg":"Request Header Fields Too Large"}"#)
        }
        // Many ordinary headers adding up beyond 64 KiB are refused the same way.
        let many = (0..<100).map { ("X-Filler-\($0)", String(repeating: "b", count: 1000)) }
        #expect(try await curl.send(HTTPRequest(method: "GET", url: server.url + "/api/v3/ping", headers: many)).status == 431)
        // Just under the limits, and ordinary requests, are served.
        let long = try await curl.send(HTTPRequest(method: "GET", url: server.url + "/api/v3/depth?symbol=BTCUSDT&x=" + String(repeating: "c", count: 15_000)))
        #expect(long.status == 200)
        #expect(try await curl.send(HTTPRequest(method: "GET", url: server.url + "/api/v3/ping")).status == 200)
    }
}
