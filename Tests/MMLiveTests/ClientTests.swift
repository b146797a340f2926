import Foundation
import MMCore
import MMMexc
import MMStrategy
import Synchronization
import Testing

/// The REST client against the simulator server on loopback: every endpoint, signing errors,
/// clock drift, and the rate limits on both sides.
@Suite struct ClientTests {
    @Test func everyEndpointAnswersWithOurTypes() async throws {
        // A still market: prices read now are still there a moment later.
        let server = try await LoopbackServer.start(pairs: ["BTCUSDT", "ETHUSDT"], sim: ["sim.seed": "3", "sim.takers": "0", "sim.volatility": "0"])
        defer { Task { await server.stop() } }
        let client = server.client()
        try await client.ping()
        let serverTime = try await client.serverTime()
        #expect(abs(serverTime - Int64(Date().timeIntervalSince1970 * 1000)) < 5000)

        let info = try #require(try await client.exchangeInfo(symbol: "BTCUSDT"))
        #expect(info.baseAsset == "BTC" && info.quoteAsset == "USDT")
        try info.checkTradable()
        #expect(try info.rules() == MarketRules(tick: Dec("0.01"), step: Dec("0.000001"), minQuantity: Dec("0.000001"), minNotional: 1, makerFee: 0))
        #expect(try await client.defaultSymbols() == ["BTCUSDT", "ETHUSDT"])

        let depth = try await client.depth(symbol: "BTCUSDT", limit: 5)
        let levels = try depth.levels()
        #expect(levels.bids.count == 5 && levels.asks.count == 5)
        #expect(levels.bids[0].0 < levels.asks[0].0)
        let ticker = try await client.bookTicker(symbol: "BTCUSDT")
        let (tickerBid, tickerAsk) = (try ticker.bidPrice.decimal(), try ticker.askPrice.decimal())
        #expect(tickerBid == levels.bids[0].0 && tickerAsk == levels.asks[0].0)

        let account = try await client.account()
        #expect(try account.balance("BTC") == (Dec("0.1"), 0))
        #expect(try account.balance("USDT") == (Dec(12000), 0), "the quote of both pockets")
        #expect(try await client.tradeFee(symbol: "BTCUSDT").makerCommission.decimal() == 0)

        // An order under our client id: placed, found by that id, listed, cancelled.
        let bid = (levels.bids[0].0 - 100).description
        let placed = try await client.placeOrder(NewOrder(symbol: "BTCUSDT", side: "BUY", type: "LIMIT_MAKER", quantity: "0.001", price: bid, clientId: "mm1-t-1"))
        #expect(placed.orderId.text.hasPrefix("C02__"))
        let found = try #require(try await client.queryOrder(symbol: "BTCUSDT", clientId: "mm1-t-1"))
        #expect(found.orderId == placed.orderId && found.status == "NEW" && found.price.text == bid)
        #expect(try await client.queryOrder(symbol: "BTCUSDT", clientId: "nobody") == nil)
        #expect(try await client.openOrders(symbol: "BTCUSDT").map { $0.clientOrderId } == ["mm1-t-1"])
        #expect(try await client.account().balance("USDT").locked == Dec(bid)! * Dec("0.001"))
        let cancelled = try await client.cancelOrder(symbol: "BTCUSDT", clientId: "mm1-t-1")
        #expect(cancelled.status == "CANCELED")
        #expect(try await client.openOrders(symbol: "BTCUSDT").isEmpty)

        // A batch: each order its own result; a post-only order that would take is refused alone.
        let ask = levels.asks[0].0
        let results = try await client.batchOrders([
            NewOrder(symbol: "BTCUSDT", side: "SELL", type: "LIMIT_MAKER", quantity: "0.001", price: (ask + 50).description, clientId: "mm1-t-2"),
            NewOrder(symbol: "BTCUSDT", side: "BUY", type: "LIMIT_MAKER", quantity: "0.001", price: (ask + 50).description, clientId: "mm1-t-3"),
        ])
        #expect(results.count == 2)
        #expect(results[0].failure == nil && results[0].newClientOrderId == "mm1-t-2")
        #expect(results[1].failure != nil)
        #expect(try await client.cancelOpenOrders(symbol: "BTCUSDT").map { $0.origClientOrderId } == ["mm1-t-2"])

        // A taking order fills: myTrades shows it with our client id and its fee asset.
        _ = try await client.placeOrder(NewOrder(symbol: "BTCUSDT", side: "BUY", type: "IMMEDIATE_OR_CANCEL", quantity: "0.001",
                                                 price: ask.description, clientId: "mm1-t-4"))
        let trades = try await client.myTrades(symbol: "BTCUSDT")
        try #require(trades.count == 1)
        #expect(trades[0].clientOrderId == "mm1-t-4" && trades[0].isBuyer && !trades[0].isMaker)
        let (price, quantity) = (try trades[0].price.decimal(), try trades[0].qty.decimal())
        #expect(price == ask && quantity == Dec("0.001"))
        #expect(try await client.myTrades(symbol: "ETHUSDT").isEmpty)
    }

    @Test func refusalsKeepMEXCsCodeAndMessage() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"])
        defer { Task { await server.stop() } }
        let wrong = server.client(credentials: APICredentials(key: server.credentials.key, secret: String(repeating: "0", count: 32)))
        await #expect(throws: MEXCFailure.exchange(code: 700002, message: "Signature for this request is not valid.", httpStatus: 400)) {
            _ = try await wrong.account()
        }
        let stranger = server.client(credentials: APICredentials(key: "mx0nobody", secret: server.credentials.secret))
        await #expect(throws: MEXCFailure.exchange(code: 10072, message: "Api key info invalid", httpStatus: 400)) {
            _ = try await stranger.account()
        }
        let client = server.client()
        await #expect(throws: MEXCFailure.exchange(code: -1121, message: "Invalid symbol.", httpStatus: 400)) {
            _ = try await client.openOrders(symbol: "NOPEUSDT")
        }
        do throws(MEXCFailure) {
            _ = try await client.cancelOrder(symbol: "BTCUSDT", clientId: "never-placed")
            Issue.record("cancelling an unknown order succeeded")
        } catch {
            guard case .exchange(let code, _, let status) = error, status == 400 else { Issue.record("\(error)"); return }
            #expect(code == -2011)
        }
        // No server at all: no answer, outcome unknown.
        let nowhere = MEXCClient(baseURL: "http://127.0.0.1:9", credentials: server.credentials,
                                 transport: CurlTransport(connectTimeout: .seconds(1), totalTimeout: .seconds(1)))
        do throws(MEXCFailure) {
            try await nowhere.ping()
            Issue.record("a closed port answered")
        } catch {
            #expect(error.outcomeUnknown)
            guard case .network = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func aClockThatDriftsIsMeasuredAgainOn700003() async throws {
        let shift = ClockShift()
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"], shift: shift)
        defer { Task { await server.stop() } }
        let client = server.client()
        // The offset is measured from the middle of a round trip, so it is off by at most half
        // of it: bounded by how long the call took (a loaded machine may take a while).
        func timed(_ body: () async throws -> Void) async rethrows -> Int64 {
            let d = try await ContinuousClock().measure(body)
            return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 + 1
        }
        let first = try await timed { _ = try await client.account() }
        #expect(abs(await client.timeOffset) <= max(500, first))
        // The server's clock jumps 30 s ahead: our timestamps fall outside recvWindow until the
        // client measures the offset again, which it does on the 700003 by itself.
        shift.ms = 30_000
        let second = try await timed { _ = try await client.account() }
        #expect(abs(await client.timeOffset - 30_000) <= max(500, second))
    }

    @Test func ourLimiterDelaysRatherThanDrops() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"])
        defer { Task { await server.stop() } }
        // 10 weight a second: 25 requests of weight 1 must take at least 1.5 s, and all succeed.
        let pool = WeightPool(capacity: 10, window: .seconds(1))
        let client = server.client(ipPool: pool)
        let started = ContinuousClock.now
        for _ in 0..<25 { try await client.ping() }
        #expect(ContinuousClock.now - started >= .milliseconds(1400))
        #expect(await client.throttled())
        #expect(await server.simulator.counts["429"] == nil)
    }

    @Test func theServersLimitAnd429sAreHonoured() async throws {
        // The server allows 30 weight per 10 s; exchangeInfo weighs 10, so the fourth in a row
        // gets a 429 with Retry-After, and the client waits and sends it again.
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"], limit: 30)
        defer { Task { await server.stop() } }
        let client = server.client()
        let started = ContinuousClock.now
        for _ in 0..<4 { _ = try await client.exchangeInfo(symbol: "BTCUSDT") }
        #expect(ContinuousClock.now - started >= .seconds(5))
        #expect((await server.simulator.counts["429"] ?? 0) >= 1)
        #expect(await client.throttled())
    }
}

@Suite struct WeightPoolTests {
    @Test func heavyRequestsWaitForTheWindow() async {
        let pool = WeightPool(capacity: 20, window: .milliseconds(300))
        #expect(await pool.acquire(15) == .zero)
        #expect(await pool.used == 15)
        let waited = await pool.acquire(10)
        #expect(waited >= .milliseconds(250))
        #expect(await pool.throttled())
    }

    @Test func aClosedPoolOpensAfterRetryAfter() async {
        let pool = WeightPool(capacity: 100, window: .seconds(10))
        await pool.close(for: .milliseconds(200))
        #expect(await pool.throttled())
        let waited = await pool.acquire(1)
        #expect(waited >= .milliseconds(180))
    }

    @Test func aRequestHeavierThanThePoolStillGoesThrough() async {
        let pool = WeightPool(capacity: 5, window: .milliseconds(100))
        #expect(await pool.acquire(50) == .zero, "spends the whole pool rather than waiting forever")
        #expect(await pool.used == 5)
    }
}
