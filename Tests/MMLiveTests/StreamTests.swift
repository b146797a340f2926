import Foundation
import MMCore
import MMMexc
import MMSimServer
import MMStrategy
import Synchronization
import Testing

/// Collects what a stream connection reports, and keeps a local book from it the way the live
/// venue does: a REST snapshot on every (re)connection and whenever the versions break.
actor StreamRecorder {
    var notices: [StreamNotice] = []
    var book = LocalBook()
    var snapshots = 0
    let client: MEXCClient
    let symbol: String

    init(client: MEXCClient, symbol: String = "BTCUSDT") {
        self.client = client
        self.symbol = symbol
    }

    func handle(_ n: StreamNotice) async {
        notices.append(n)
        switch n {
        case .connected:
            book.reset()
            await resnapshot()
        case .event(.depth(_, let diff)):
            if case .needsSnapshot = book.apply(diff) { await resnapshot() }
        default: break
        }
    }

    func resnapshot() async {
        guard let depth = try? await client.depth(symbol: symbol, limit: 1000), let levels = try? depth.levels() else { return }
        snapshots += 1
        if case .needsSnapshot = book.snapshot(lastUpdateId: depth.lastUpdateId, bids: levels.bids.map { BookLevel($0.0, $0.1) },
                                                asks: levels.asks.map { BookLevel($0.0, $0.1) }) {
            // Diffs in flight are older than the snapshot's gap: the next diff asks again.
        }
    }

    var events: [StreamEvent] { notices.compactMap { if case .event(let e) = $0 { e } else { nil } } }
    var connects: Int { notices.filter { $0 == .connected }.count }
}

/// Polls `condition` until it holds; the limit only matters when it never does (a loaded machine
/// running the suite in parallel can be slow).
func waitUntil(_ seconds: Double = 20, _ condition: () async -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

@Suite(.serialized) struct StreamTests {
    /// The book changes only through orders placed and cancelled over REST; after each change the
    /// local book, kept from the stream, must equal the server's, faults or not.
    @Test(arguments: ["", "gap=0.2,seed=4", "dup=0.2,seed=5", "reorder=0.2,seed=6", "wsdrop=0.1,seed=7"])
    func theLocalBookEqualsTheServersBook(faults: String) async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0", "sim.volatility": "0", "sim.seed": "3", "sim.base": "10",
                                                          "sim.quote": "1000000"])
        defer { Task { await server.stop() } }
        let client = server.client()
        let recorder = StreamRecorder(client: client)
        let ws = server.url.replacingOccurrences(of: "http://", with: "ws://") + "/ws"
        let connection = StreamConnection(channels: ["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"], url: { ws }) { await recorder.handle($0) }
        await connection.configure(backoff: (.milliseconds(50), .milliseconds(200)))
        await connection.start()
        #expect(try await waitUntil { await recorder.book.isSynced })
        if !faults.isEmpty { await server.simulator.setFaults(try FaultPlan(spec: faults)) }
        let mid = Dec(60000)
        for i in 0..<40 {
            let side = i % 2 == 0 ? "BUY" : "SELL"
            let price = i % 2 == 0 ? mid - Dec(20 + i) : mid + Dec(20 + i)
            _ = try await client.placeOrder(NewOrder(symbol: "BTCUSDT", side: side, type: "LIMIT_MAKER", quantity: "0.0\(1 + i % 9)",
                                                     price: price.description, clientId: "s-\(i)"))
            if i % 3 == 2 { _ = try await client.cancelOrder(symbol: "BTCUSDT", clientId: "s-\(i - 1)") }
            try await Task.sleep(for: .milliseconds(60))
        }
        // Calm again: one more change flushes whatever a fault held back.
        await server.simulator.setFaults(.none)
        _ = try await client.placeOrder(NewOrder(symbol: "BTCUSDT", side: "BUY", type: "LIMIT_MAKER", quantity: "0.5", price: "59000", clientId: "last"))
        let want = await server.simulator.book("BTCUSDT")
        let equal = try await waitUntil {
            let b = await recorder.book
            return b.isSynced && b.bids == want.bids && b.asks == want.asks
        }
        #expect(equal, "faults \(faults): the local book differs from the server's")
        let counts = await server.simulator.counts
        if let kind = faults.split(separator: "=").first {
            let name = ["gap": "stream gap", "dup": "stream duplicate", "reorder": "stream reorder", "wsdrop": "stream drop"][String(kind)]!
            #expect((counts[name] ?? 0) > 0, "the fault happened: \(counts)")
            if kind == "wsdrop" { #expect(await recorder.connects >= 2, "reconnected") }
            if kind != "reorder" || (counts[name] ?? 0) > 0 { #expect(await recorder.snapshots >= 2, "resnapshotted") }
        }
        await connection.stop()
        await server.stop()
    }

    /// The market moves at MEXC's cadence, not once a second: a client that waits for 25 diffs
    /// before its snapshot (a common pattern) has them within seconds, and its book syncs from
    /// the snapshot it then takes. A 10 ms subscription gets its own channel's frames.
    @Test func diffsComeAtTheSubscribedCadence() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "5", "sim.takers": "0"])
        defer { Task { await server.stop() } }
        final class Diffs: Sendable {
            let seen = Mutex<[String: Int]>([:])
            func add(_ kind: String) { seen.withLock { $0[kind, default: 0] += 1 } }
            func count(_ kind: String) -> Int { seen.withLock { $0[kind] ?? 0 } }
        }
        let diffs = Diffs()
        let ws = server.url.replacingOccurrences(of: "http://", with: "ws://") + "/ws"
        let channels = ["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT", "spot@public.aggre.depth.v3.api.pb@10ms@BTCUSDT"]
        let connections = channels.map { channel in
            StreamConnection(channels: [channel], url: { ws }) { notice in
                if case .event(.depth) = notice { diffs.add(channel) }
            }
        }
        let started = ContinuousClock.now
        for c in connections { await c.start() }
        #expect(try await waitUntil(10) { diffs.count(channels[0]) >= 25 }, "25 diffs at 100 ms")
        let waited = ContinuousClock.now - started
        #expect(waited < .seconds(10), "took \(waited)")
        #expect(diffs.count(channels[1]) >= 20, "the 10 ms channel publishes too: \(diffs.seen.withLock { $0 })")
        // Then the snapshot, and the diffs after it keep the book synced.
        let recorder = StreamRecorder(client: server.client())
        let synced = StreamConnection(channels: [channels[0]], url: { ws }) { await recorder.handle($0) }
        await synced.start()
        #expect(try await waitUntil { await recorder.book.isSynced })
        for c in connections { await c.stop() }
        await synced.stop()
        await server.stop()
    }

    @Test func publicDealsTickerAndPrivateChannels() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0", "sim.volatility": "0", "sim.seed": "3"])
        defer { Task { await server.stop() } }
        let client = server.client()
        let key = try await client.createListenKey()
        try await client.keepListenKey(key)
        let base = server.url.replacingOccurrences(of: "http://", with: "ws://") + "/ws"
        let publicRecorder = StreamRecorder(client: client), privateRecorder = StreamRecorder(client: client)
        let publicStream = StreamConnection(channels: ["spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT",
                                                       "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"], url: { base }) {
            await publicRecorder.handle($0)
        }
        let privateStream = StreamConnection(channels: ["spot@private.orders.v3.api.pb", "spot@private.deals.v3.api.pb",
                                                        "spot@private.account.v3.api.pb"], url: { base + "?listenKey=" + key }) {
            await privateRecorder.handle($0)
        }
        await publicStream.start()
        await privateStream.start()
        #expect(try await waitUntil {
            let a = await publicRecorder.connects, b = await privateRecorder.connects
            return a == 1 && b == 1
        })
        let depth = try await client.depth(symbol: "BTCUSDT", limit: 1).levels()
        let ask = depth.asks[0].0
        _ = try await client.placeOrder(NewOrder(symbol: "BTCUSDT", side: "BUY", type: "LIMIT_MAKER", quantity: "0.01", price: "59000", clientId: "p-1"))
        _ = try await client.placeOrder(NewOrder(symbol: "BTCUSDT", side: "BUY", type: "IMMEDIATE_OR_CANCEL", quantity: "0.002",
                                                 price: ask.description, clientId: "p-2"))
        _ = try await client.cancelOrder(symbol: "BTCUSDT", clientId: "p-1")
        #expect(try await waitUntil { await privateRecorder.events.contains { if case .fill = $0 { true } else { false } } })
        try await Task.sleep(for: .milliseconds(250))
        let events = await privateRecorder.events
        let orders = events.compactMap { if case .order(_, let o) = $0 { o } else { nil } }
        #expect(orders.contains { $0.clientId == "p-1" && $0.status == "CANCELED" })
        #expect(orders.contains { $0.clientId == "p-2" && $0.status == "FILLED" && $0.executed == Dec("0.002") })
        let fills = events.compactMap { if case .fill(_, let f) = $0 { f } else { nil } }
        #expect(fills.count == 1 && fills[0].clientId == "p-2" && fills[0].price == ask && fills[0].quantity == Dec("0.002") && fills[0].feeAsset == "USDT")
        let account = try await client.account()
        let balances = events.compactMap { if case .balance(let b) = $0 { b } else { nil } }
        let lastBTC = try #require(balances.last { $0.asset == "BTC" })
        #expect(try lastBTC.free == account.balance("BTC").free)
        // The public side: the fill printed nowhere public (it took participants' liquidity, which
        // the sim does not print), but the best ask moved.
        #expect(await publicRecorder.events.contains { if case .bookTicker = $0 { true } else { false } })

        // A listenKey that is closed ends its connections; an unknown one is refused.
        try await client.closeListenKey(key)
        #expect(try await waitUntil { await privateRecorder.notices.contains { if case .disconnected = $0 { true } else { false } } })
        await publicStream.stop()
        await privateStream.stop()
        await server.stop()
    }

    /// Connections are replaced (here every 0.7 s instead of before 24 h) with no gap: the book
    /// never needs a second snapshot and the owner never sees a reconnection.
    @Test func replacementsLeaveNoGap() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0", "sim.volatility": "0", "sim.seed": "3", "sim.base": "10",
                                                          "sim.quote": "1000000"])
        defer { Task { await server.stop() } }
        let client = server.client()
        let recorder = StreamRecorder(client: client)
        let connection = StreamConnection(channels: ["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"], url: { server.wsURL }) { await recorder.handle($0) }
        await connection.configure(pingEvery: .milliseconds(300), lifetime: .milliseconds(700))
        await connection.start()
        #expect(try await waitUntil { await recorder.book.isSynced })
        for i in 0..<60 {
            let buy = i % 2 == 0
            _ = try await client.placeOrder(NewOrder(symbol: "BTCUSDT", side: buy ? "BUY" : "SELL", type: "LIMIT_MAKER", quantity: "0.01",
                                                     price: (buy ? Dec(59_900 - i) : Dec(60_100 + i)).description, clientId: "r-\(i)"))
            try await Task.sleep(for: .milliseconds(70))
        }
        let want = await server.simulator.book("BTCUSDT")
        #expect(try await waitUntil { let b = await recorder.book; return b.bids == want.bids && b.asks == want.asks })
        #expect(await connection.connections >= 4, "replaced several times")
        let (connects, snapshots) = (await recorder.connects, await recorder.snapshots)
        #expect(connects == 1 && snapshots == 1, "no reconnection seen, no second snapshot")
        #expect(!(await recorder.notices).contains { if case .disconnected = $0 { true } else { false } })
        await connection.stop()
        await server.stop()
    }

    @Test func aSilentConnectionIsTakenForDeadAndMadeAgain() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"])
        defer { Task { await server.stop() } }
        let recorder = StreamRecorder(client: server.client())
        let connection = StreamConnection(channels: ["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"], url: { server.wsURL }) { await recorder.handle($0) }
        await connection.configure(pingEvery: .milliseconds(200), backoff: (.milliseconds(50), .milliseconds(100)))
        await connection.start()
        #expect(try await waitUntil { await recorder.connects == 1 })
        try await Task.sleep(for: .seconds(1))
        #expect(!(await recorder.notices).contains { if case .disconnected = $0 { true } else { false } }, "PONGs keep it alive")
        await server.simulator.muteStreams(true)
        #expect(try await waitUntil { await recorder.notices.contains(.disconnected(reason: "no answer to PING")) })
        await server.simulator.muteStreams(false)
        #expect(try await waitUntil { await recorder.connects >= 2 }, "made again")
        await connection.stop()
        await server.stop()
    }
}
