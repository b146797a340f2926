import Foundation
import MMCore
import MMEngine
import MMMexc
import MMSim
import MMSimServer
import MMStorage
import MMStrategy
import Testing

/// A market busy enough that quotes near the touch fill within seconds.
let busyMarket = ["sim.seed": "5", "sim.takers": "1500", "sim.volatility": "0.05%"]

func liveSettings(_ server: LoopbackServer, _ extra: [String: String] = [:]) throws -> Settings {
    var s = Settings()
    let values = ["venue": "live", "mexc.rest_url": server.url, "mexc.ws_url": server.wsURL, "pair": "BTCUSDT", "levels.count": "2", "spread.bid": "0.004%",
                  "spread.ask": "0.004%", "levels.spread": "0.004%", "order.amount": "0.002", "refresh.time": "1s",
                  "refresh.fill_delay": "0s"].merging(extra) { $1 }
    for (k, v) in values { s.set(k, try Catalog.lookup(k).parse(v)) }
    return s
}

/// After a run: every fill the server made for this instance is in the store exactly once, the
/// account's balances are the starting ones plus those fills, and no order of ours is open.
func expectReconciled(_ server: LoopbackServer, _ store: Store, instance id: Int, start: (base: Dec, quote: Dec),
                      sourceLocation: SourceLocation = #_sourceLocation) async throws {
    await server.simulator.setFaults(.none)
    let prefix = InstanceRunner.instancePrefix(id)
    let serverFills = await server.simulator.fills("BTCUSDT").filter { $0.clientId.hasPrefix(prefix) }
    let stored = try store.fills(instance: id)
    #expect(Set(stored.map(\.tradeId)) == Set(serverFills.map { "\($0.orderId)#\($0.tradeId)" }), "no fill missed", sourceLocation: sourceLocation)
    #expect(stored.count == serverFills.count, "no fill counted twice", sourceLocation: sourceLocation)
    var base = start.base, quote = start.quote
    for f in stored {
        let q = Dec(f.quantity)!, p = Dec(f.price)!, fee = Dec(f.fee)!
        if f.side == "buy" { base += q; quote -= q * p + fee } else { base -= q; quote += q * p - fee }
    }
    let account = try #require(await server.simulator.balances("BTCUSDT"), sourceLocation: sourceLocation)
    #expect(account.asBalances.base.total == base && account.asBalances.quote.total == quote, "balances reconcile with the server's",
            sourceLocation: sourceLocation)
    #expect(await server.simulator.openOrders("BTCUSDT").filter { $0.clientId.hasPrefix(prefix) }.isEmpty, "no order left open",
            sourceLocation: sourceLocation)
    #expect(try store.orders(instance: id, openOnly: true).isEmpty, "no order open in our records", sourceLocation: sourceLocation)
}

/// A process that starts an instance, quotes once, then dies: no stop, nothing cancelled.
func quoteThenDie(_ server: LoopbackServer, _ store: Store, _ r: InstanceRecord, _ settings: Settings) async throws {
    let crashed = InstanceManager(store: store)
    try await crashed.start(id: r.id, name: r.name, settings: settings, credentials: server.credentials, loop: false)
    await crashed.tickAll()
}

@Suite(.serialized) struct LiveVenueTests {
    @Test func quotesGetsFilledFollowsNewSettingsAndStopsClean() async throws {
        let server = try await LoopbackServer.start(sim: busyMarket)
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "live", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server), credentials: server.credentials)
        var sawLadder = false
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(100))
            let open = await server.simulator.openOrders("BTCUSDT")
            sawLadder = sawLadder || (open.filter { $0.side == .buy }.count == 2 && open.filter { $0.side == .sell }.count == 2)
        }
        #expect(sawLadder, "two levels a side, on the server")
        // One level a side from now on.
        await manager.update(r.id, settings: try liveSettings(server, ["levels.count": "1"]), change: "levels.count 1")
        try await Task.sleep(for: .seconds(2.5))
        var oneLevel = true
        for _ in 0..<10 {
            try await Task.sleep(for: .milliseconds(150))
            let open = await server.simulator.openOrders("BTCUSDT")
            oneLevel = oneLevel && open.filter { $0.side == .buy }.count <= 1 && open.filter { $0.side == .sell }.count <= 1
        }
        #expect(oneLevel, "the new setting took effect")
        let report = try #require(await manager.report(r.id))
        #expect(report.fills > 0, "fills happen")
        #expect(report.startBase == Dec("0.1") && report.startQuote == 6000)
        _ = try #require(await manager.stop(r.id))
        // After stop nothing is locked in orders: the final balances are asked of the venue, not
        // of a private stream that may lag the last cancels.
        let after = try #require(await manager.report(r.id)?.snapshot?.balances)
        #expect(after.base.locked.isZero && after.quote.locked.isZero, "\(after)")
        #expect(after.base.available == after.base.total && after.quote.available == after.quote.total)
        try await expectReconciled(server, store, instance: r.id, start: (report.startBase, report.startQuote))
        let events = try store.events(instance: r.id)
        #expect(events.first?.message.hasPrefix("started on live BTCUSDT") == true)
        #expect(events.contains { $0.kind == "filled" })
        #expect(!events.contains { $0.level == "error" }, "\(events.filter { $0.level == "error" }.map(\.message))")
        await server.stop()
    }

    /// Each kind of trouble the server can make, at a rate that hits many requests of a run.
    @Test(arguments: ["5xx=0.2", "429=0.1", "drop=0.2", "lost=0.2", "latency=0.5@120ms"])
    func underFaultsNothingIsOrphanedMissedOrCountedTwice(faults: String) async throws {
        let server = try await LoopbackServer.start(sim: busyMarket)
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "faults", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server), credentials: server.credentials)
        await server.simulator.setFaults(try FaultPlan(spec: faults + ",seed=9"))
        try await Task.sleep(for: .seconds(5))
        let report = try #require(await manager.report(r.id))
        _ = await manager.stop(r.id)
        let counts = await server.simulator.counts
        let kind = String(faults.prefix { $0 != "=" })
        if kind != "latency" { #expect((counts[kind] ?? 0) > 0, "the fault happened: \(counts)") }
        #expect(report.fills > 0, "fills happen under \(faults)")
        try await expectReconciled(server, store, instance: r.id, start: (report.startBase, report.startQuote))
        // Every order the server took from us is in our records, including those whose reply was lost.
        let recorded = Set(try store.orders(instance: r.id, openOnly: false).map(\.clientId))
        let placed = await server.simulator.clientIds("BTCUSDT")
        #expect(!placed.isEmpty && placed.isSubset(of: recorded), "\(placed.subtracting(recorded))")
        // And none of them is taken for refused or never placed.
        let misjudged = try store.orders(instance: r.id, openOnly: false).filter { ["REJECTED", "NOT_PLACED", "NOT_FOUND"].contains($0.status) && placed.contains($0.clientId) }
        #expect(misjudged.isEmpty, "\(misjudged.map { "\($0.clientId) \($0.status)" })")
        await server.stop()
    }

    @Test func aCrashMidQuotingLeavesOrdersThatTheNextStartCancels() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "8", "sim.takers": "0"])
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "crash", limit: 10)
        let settings = try liveSettings(server)
        try await quoteThenDie(server, store, r, settings)
        let left = await server.simulator.openOrders("BTCUSDT")
        #expect(left.count == 4)
        #expect(try store.orders(instance: r.id, openOnly: true).count == 4)
        // An order of the same account that is not ours, which must never be touched.
        let client = server.client()
        let bid = (left.filter { $0.side == .buy }.map(\.price).min()! - 10).description
        _ = try await client.placeOrder(NewOrder(symbol: "BTCUSDT", side: "BUY", type: "LIMIT_MAKER", quantity: "0.001", price: bid, clientId: "manual-1"))

        let restarted = InstanceManager(store: store)
        try await restarted.start(id: r.id, name: r.name, settings: settings, credentials: server.credentials, loop: false)
        let open = await server.simulator.openOrders("BTCUSDT")
        #expect(!open.contains { left.map(\.clientId).contains($0.clientId) }, "every orphan cancelled")
        #expect(open.contains { $0.clientId == "manual-1" }, "someone else's order left alone")
        let events = try store.events(instance: r.id)
        #expect(events.filter { $0.message.hasPrefix("cancelled an order left by an earlier run") }.count == 4)
        let records = try store.orders(instance: r.id, openOnly: false).filter { r in left.contains { $0.clientId == r.clientId } }
        #expect(records.count == 4 && records.allSatisfy { $0.status == "CANCELED" })
        await restarted.tickAll()
        _ = await restarted.stop(r.id)
        let after = await server.simulator.openOrders("BTCUSDT")
        #expect(after.map(\.clientId) == ["manual-1"])
        await server.stop()
    }

    /// An orphan whose cancel fails at start is tried again until it is gone, counted in the
    /// report meanwhile, and the venue's list confirms at stop that nothing of the instance rests.
    @Test func anOrphanWhoseCancelFailsIsRetriedUntilGone() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "8", "sim.takers": "0"])
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "orphans", limit: 10)
        let settings = try liveSettings(server, ["refresh.time": "1h"])
        try await quoteThenDie(server, store, r, settings)
        let left = Set(await server.simulator.openOrders("BTCUSDT").map(\.clientId))
        #expect(left.count == 4)
        // Every cancel fails (a 503) while the reads go through: cancels are DELETEs.
        await server.simulator.setFaults(try FaultPlan(spec: "5xx=1,seed=2", methods: ["DELETE"]))
        let restarted = InstanceManager(store: store)
        try await restarted.start(id: r.id, name: r.name, settings: settings, credentials: server.credentials, loop: false)
        #expect(await restarted.report(r.id)?.orphans == 4)
        #expect(Set(await server.simulator.openOrders("BTCUSDT").map(\.clientId)).isSuperset(of: left))
        await server.simulator.setFaults(.none)
        await restarted.tickAll()
        #expect(await restarted.report(r.id)?.orphans == 0)
        #expect(Set(await server.simulator.openOrders("BTCUSDT").map(\.clientId)).isDisjoint(with: left), "every orphan cancelled")
        _ = await restarted.stop(r.id)
        #expect(await server.simulator.openOrders("BTCUSDT").isEmpty)
        await server.stop()
    }

    /// Start-up reads are retried with backoff under a flaky venue instead of giving up.
    @Test func startHoldsOnUnderAFlakyVenue() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "3", "sim.takers": "0"])
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        for attempt in 0..<4 {
            let r = try store.createInstance(name: "flaky\(attempt)", limit: 10)
            await server.simulator.setFaults(try FaultPlan(spec: "5xx=0.4,drop=0.1,lost=0.1,seed=\(attempt + 1)"))
            let manager = InstanceManager(store: store)
            try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server, ["mexc.streams": "off"]),
                                    credentials: server.credentials, loop: false)
            await server.simulator.setFaults(.none)
            _ = await manager.stop(r.id)
            try store.deleteInstance(r.id)
        }
        await server.stop()
    }

    @Test func orphansCanBeAdoptedInstead() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "8", "sim.takers": "0"])
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "adopt", limit: 10)
        let settings = try liveSettings(server, ["orphans": "adopt", "refresh.time": "1h", "refresh.tolerance": "5%"])
        try await quoteThenDie(server, store, r, settings)
        let left = await server.simulator.openOrders("BTCUSDT")
        #expect(left.count == 4)
        let restarted = InstanceManager(store: store)
        try await restarted.start(id: r.id, name: r.name, settings: settings, credentials: server.credentials, loop: false)
        let report = try #require(await restarted.report(r.id))
        #expect(Set(report.orders.map(\.clientId)) == Set(left.map(\.clientId)), "the orphans are this run's orders now")
        #expect(try store.events(instance: r.id).filter { $0.message.hasPrefix("adopted an order left by an earlier run") }.count == 4)
        _ = await restarted.stop(r.id)
        #expect(await server.simulator.openOrders("BTCUSDT").isEmpty, "adopted orders are cancelled at stop")
        await server.stop()
    }

    @Test func aPairThatCannotBeTradedIsRefusedAtStart() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"])
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let manager = InstanceManager(store: store)
        await #expect(throws: EngineError("cannot start instance 1: NOPEUSDT is not a MEXC spot symbol (MEXC -1121)")) {
            try await manager.start(id: 1, name: "x", settings: try liveSettings(server, ["pair": "NOPEUSDT"]), credentials: server.credentials)
        }
        await #expect(throws: EngineError("instance 1 trades live and needs the API keys of account 'default'")) {
            try await manager.start(id: 1, name: "x", settings: try liveSettings(server))
        }
        await server.stop()
    }
}

/// The live venue on streams: the book from the depth stream, fills and balances from the
/// private streams, REST polling only while a stream is cut.
@Suite(.serialized) struct StreamingVenueTests {
    func depthPolls(_ server: LoopbackServer) async -> Int { await server.simulator.counts["GET /api/v3/depth"] ?? 0 }

    @Test func theAccountStreamSendsTheAccountsBalanceOfASharedQuoteAsset() async throws {
        // Two pairs share USDT: the stream's USDT is the account's, as MEXC sends it and REST says.
        let server = try await LoopbackServer.start(pairs: ["BTCUSDT", "ETHUSDT"], sim: ["sim.seed": "4", "sim.takers": "0"])
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "two", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server, ["refresh.time": "1h"]), credentials: server.credentials)
        #expect(try await waitUntil { await server.simulator.openOrders("BTCUSDT").count == 4 })
        let client = MEXCClient(baseURL: server.url, credentials: server.credentials)
        let usdt = try await client.account().balance("USDT")
        #expect(try await waitUntil { await manager.report(r.id)?.snapshot?.source == "stream" })
        // The placements above changed the balance: it came on the stream (a pocket's share would never match).
        #expect(try await waitUntil(10) {
            guard let quote = await manager.report(r.id)?.snapshot?.balances.quote else { return false }
            return quote.available == usdt.free && quote.total == usdt.free + usdt.locked
        }, "the stream's quote balance against REST \(usdt)")
        let quote = try #require(await manager.report(r.id)?.snapshot?.balances.quote)
        let eth = try #require(await server.simulator.balances("ETHUSDT"))
        #expect(quote.total > eth.quoteFree + eth.quoteLocked, "more than one pocket's share")
        _ = await manager.stop(r.id)
        await server.stop()
    }

    @Test func streamsFeedTheBookAndPollingTakesOverWhileTheyAreCut() async throws {
        let server = try await LoopbackServer.start(sim: busyMarket)
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "streams", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server), credentials: server.credentials)
        #expect(try await waitUntil { await server.simulator.openStreams == 2 }, "a public and a private connection")
        try await Task.sleep(for: .seconds(1))
        let before = await depthPolls(server)
        try await Task.sleep(for: .seconds(2))
        let streamed = await depthPolls(server) - before
        #expect(streamed <= 2, "on streams the book is not polled (\(streamed) depth requests in 2 s)")
        #expect(await manager.report(r.id)?.snapshot?.source == "stream")

        await server.simulator.cutStreams(refuse: true)
        let cutAt = await depthPolls(server)
        let placedBefore = try store.orders(instance: r.id, openOnly: false).count
        try await Task.sleep(for: .seconds(2))
        let polled = await depthPolls(server) - cutAt
        #expect(polled >= 5, "while the streams are cut, REST polling takes over (\(polled) depth requests in 2 s)")
        #expect(await manager.report(r.id)?.snapshot?.source == "rest")
        #expect(try store.orders(instance: r.id, openOnly: false).count > placedBefore, "quoting goes on")

        await server.simulator.cutStreams(refuse: false)
        #expect(try await waitUntil(30) { await server.simulator.openStreams == 2 }, "reconnected")
        try await Task.sleep(for: .seconds(1))
        let back = await depthPolls(server)
        try await Task.sleep(for: .seconds(2))
        #expect(await depthPolls(server) - back <= 2, "polling stops when the streams are back")

        let report = try #require(await manager.report(r.id))
        #expect(report.fills > 0)
        _ = await manager.stop(r.id)
        try await expectReconciled(server, store, instance: r.id, start: (report.startBase, report.startQuote))
        #expect(await server.simulator.openStreams == 0, "stopping closes the streams")
        // The log tells the story.
        let stream = try store.events(instance: r.id).filter { $0.kind == "stream" }.map(\.message)
        #expect(stream.contains("public stream connected") && stream.contains("private stream connected"), "\(stream)")
        #expect(stream.contains { $0.hasPrefix("public stream down:") && $0.hasSuffix("polling REST meanwhile") }, "\(stream)")
        await server.stop()
    }

    @Test func anExpiredListenKeyIsMadeAnew() async throws {
        let server = try await LoopbackServer.start(sim: busyMarket)
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "key", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server), credentials: server.credentials)
        // Both streams subscribed (an upgrade the server counts may not have subscribed yet).
        #expect(try await waitUntil {
            ((try? store.events(instance: r.id)) ?? []).contains { $0.message == "private stream connected" }
        })
        await server.simulator.expireListenKeys()
        #expect(try await waitUntil(30) { await server.simulator.openStreams == 2 }, "the private stream is back")
        #expect(await server.simulator.counts["POST /api/v3/userDataStream"] == 2, "with a new listenKey")
        #expect(try await waitUntil {
            ((try? store.events(instance: r.id)) ?? []).filter { $0.message == "private stream connected" }.count == 2
        })
        let report = try #require(await manager.report(r.id))
        _ = await manager.stop(r.id)
        try await expectReconciled(server, store, instance: r.id, start: (report.startBase, report.startQuote))
        let stream = try store.events(instance: r.id).filter { $0.kind == "stream" }.map(\.message)
        #expect(stream.filter { $0 == "private stream connected" }.count == 2, "\(stream)")
        #expect(await server.simulator.counts["DELETE /api/v3/userDataStream"] == 1, "the listenKey is closed at stop")
        await server.stop()
    }

    @Test func decisionsFollowTheStreamNotTheTimer() async throws {
        let server = try await LoopbackServer.start(sim: busyMarket)
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "fast", limit: 10)
        // A 10-second timer: only changes of the book can wake the instance more often.
        let manager = InstanceManager(store: store, interval: .seconds(10))
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server), credentials: server.credentials)
        try await Task.sleep(for: .seconds(3))
        let cycles = await manager.report(r.id)?.cycles ?? 0
        #expect(cycles >= 3, "a decision for each change of the book, not one per 10 s (\(cycles) in 3 s)")
        _ = await manager.stop(r.id)
        await server.stop()
    }

    @Test func staleMarketDataCancelsTheQuotesUntilItIsFresh() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "8", "sim.takers": "0"])
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "stale", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server, ["market.stale_after": "1s", "refresh.time": "1h"]),
                                credentials: server.credentials)
        #expect(try await waitUntil { await server.simulator.openOrders("BTCUSDT").count == 4 })
        // Nothing fresh arrives any more: the streams are cut and no REST answer comes back
        // (requests are processed, their replies lost).
        await server.simulator.cutStreams(refuse: true)
        await server.simulator.setFaults(try FaultPlan(spec: "lost=1"))
        #expect(try await waitUntil(20) { await server.simulator.openOrders("BTCUSDT").isEmpty }, "the quotes are cancelled")
        #expect(try await waitUntil { await manager.report(r.id)?.stale == true })
        #expect(try store.events(instance: r.id).contains { $0.message.hasPrefix("no fresh market data for") })
        // Fresh again: quoting resumes at once, not when the refresh timer (an hour here) runs out.
        await server.simulator.setFaults(.none)
        await server.simulator.cutStreams(refuse: false)
        #expect(try await waitUntil(30) { !(await server.simulator.openOrders("BTCUSDT")).isEmpty }, "quoting resumes")
        #expect(try store.events(instance: r.id).contains { $0.message == "market data is fresh again; quoting resumes" })
        let report = try #require(await manager.report(r.id))
        _ = await manager.stop(r.id)
        try await expectReconciled(server, store, instance: r.id, start: (report.startBase, report.startQuote))
        await server.stop()
    }

    @Test func aVenueThatIsGoneIsSaidSoAndAStopThatCannotConfirmSaysWhy() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "8", "sim.takers": "0"])
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "gone", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server, ["refresh.time": "1h", "mexc.streams": "off"]),
                                credentials: server.credentials)
        #expect(try await waitUntil { await server.simulator.openOrders("BTCUSDT").count == 4 })
        let goneAt = Int64(Date().timeIntervalSince1970 * 1000)
        await server.stop()
        #expect(try await waitUntil(20) { await manager.report(r.id)?.contactLost != nil })
        let report = try #require(await manager.report(r.id))
        let since = try #require(report.contactLostAt)
        #expect(since >= goneAt, "since when: after the server went")
        #expect(report.contactLost?.contains("SingleConnectionFailure") == false, "in words: \(report.contactLost ?? "")")
        // What stop can and cannot say.
        _ = await manager.stop(r.id)
        let after = try #require(await manager.report(r.id))
        #expect(after.unconfirmedAtStop > 0)
        #expect(try store.events(instance: r.id, levels: ["error"]).contains {
            $0.message.hasPrefix("could not confirm that every order is cancelled: the venue does not answer (")
        })
    }

    @Test func aRESTAndAStreamEndpointOfDifferentExchangesAreRefused() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.takers": "0"])
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        _ = try store.createInstance(name: "x", limit: 10)
        let manager = InstanceManager(store: store)
        var settings = try liveSettings(server)
        settings.set("mexc.ws_url", .text("wss://wbs-api.mexc.com/ws"))
        await #expect(throws: EngineError.self) { try await manager.start(id: 1, name: "x", settings: settings, credentials: server.credentials) }
        settings.set("mexc.streams", .bool(false))
        try await manager.start(id: 1, name: "x", settings: settings, credentials: server.credentials, loop: false)
        #expect(await server.simulator.openStreams == 0)
        _ = await manager.stop(1)
        await server.stop()
    }
}

/// The paper venue: the real market's public data (here the simulator's), simulated orders.
@Suite(.serialized) struct PaperVenueTests {
    @Test(arguments: [true, false])
    func paperOrdersFillAgainstTheRealMarketAndNeverReachIt(streams: Bool) async throws {
        let server = try await LoopbackServer.start(sim: busyMarket)
        defer { Task { await server.stop() } }
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "paper", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        let settings = try liveSettings(server, ["venue": "paper", "sim.base": "1", "sim.quote": "50000", "sim.fee": "0.1%",
                                                 "mexc.streams": streams ? "on" : "off"])
        try await manager.start(id: r.id, name: r.name, settings: settings)
        if streams { #expect(try await waitUntil { await server.simulator.openStreams == 1 }, "one public connection, no private one") }
        // Fills come within seconds; a loaded machine (the whole suite at once) gets longer.
        #expect(try await waitUntil(30) { (await manager.report(r.id)?.fills ?? 0) > 0 }, "paper orders fill as the real market trades through them")
        let report = try #require(await manager.report(r.id))
        #expect(report.startBase == 1 && report.startQuote == 50000)
        _ = await manager.stop(r.id)
        // Nothing was ever sent to the exchange but public requests.
        let counts = await server.simulator.counts
        #expect(counts["POST /api/v3/order"] == nil && counts["GET /api/v3/account"] == nil && counts["DELETE /api/v3/order"] == nil, "\(counts)")
        #expect(await server.simulator.fills("BTCUSDT").isEmpty)
        // The paper account is its start plus its fills.
        let fills = try store.fills(instance: r.id)
        var base = report.startBase, quote = report.startQuote
        for f in fills {
            let q = Dec(f.quantity)!, p = Dec(f.price)!, fee = Dec(f.fee)!
            if f.side == "buy" { base += q; quote -= q * p + fee } else { base -= q; quote += q * p - fee }
        }
        let end = try #require(await manager.report(r.id)?.snapshot?.balances)
        #expect(end.base.total == base && end.quote.total == quote)
        #expect(end.base.locked == 0 && end.quote.locked == 0, "stopping cancelled every paper order")
        #expect(try store.orders(instance: r.id, openOnly: true).isEmpty)
        await server.stop()
    }
}
