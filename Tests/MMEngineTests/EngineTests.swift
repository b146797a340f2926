import Foundation
import MMCore
import MMSim
import MMStorage
import MMStrategy
import Synchronization
import Testing
@testable import MMEngine

/// Time that moves only when the test says so.
final class ManualClock: EngineClock {
    private let t = Mutex<Int64>(1_795_770_000_000)
    func now() -> Int64 { t.withLock { $0 } }
    func advance(ms: Int64) { t.withLock { $0 += ms } }
}

func settings(_ changes: [String: String]) -> Settings {
    var s = Settings()
    for (k, v) in changes { s.set(k, try! Catalog.lookup(k).parse(v)) }
    return s
}

/// A busy, seeded sim market that fills quotes often.
let busy = ["sim.seed": "11", "sim.takers": "300", "sim.volatility": "0.2%", "refresh.time": "5s", "levels.count": "3",
            "spread.bid": "0.02%", "spread.ask": "0.02%", "levels.spread": "0.02%", "refresh.fill_delay": "1s",
            "sim.fee": "0.1%", "order.amount": "0.002"]

@Suite struct EngineTests {
    @Test func aSimInstanceQuotesGetsFilledAndReconciles() async throws {
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "a", limit: 10)
        let clock = ManualClock()
        let manager = InstanceManager(store: store, clock: clock)
        try await manager.start(id: r.id, name: r.name, settings: settings(busy), loop: false)
        var sawOrders = false
        for _ in 0..<600 {
            clock.advance(ms: 500)
            await manager.tickAll()
            let report = await manager.report(r.id)!
            if let book = report.snapshot?.book, let bid = book.bestBid, let ask = book.bestAsk {
                // Our orders are part of the book: it never crosses.
                #expect(bid < ask)
            }
            sawOrders = sawOrders || !report.orders.isEmpty
        }
        let report = await manager.report(r.id)!
        #expect(sawOrders)
        #expect(report.fills > 5, "fills happen")
        let fills = try store.fills(instance: r.id)
        #expect(fills.count == report.fills, "each fill recorded once")
        // Start balances + fills − fees = end balances.
        var base = report.startBase, quote = report.startQuote
        for f in fills {
            let q = Dec(f.quantity)!, p = Dec(f.price)!, fee = Dec(f.fee)!
            if f.side == "buy" { base += q; quote -= q * p + fee } else { base -= q; quote += q * p - fee }
        }
        let balances = report.snapshot!.balances
        #expect(balances.base.total == base && balances.quote.total == quote)
        // What is locked is what open orders hold.
        let lockedBase = report.orders.filter { $0.side == .sell }.reduce(Dec(0)) { $0 + $1.remaining }
        #expect(balances.base.locked == lockedBase)
        // Stopping cancels every order and confirms it.
        let cancelled = await manager.stop(r.id)
        #expect(cancelled == report.orders.count)
        #expect(await manager.report(r.id)!.orders.isEmpty)
        #expect(try store.orders(instance: r.id, openOnly: true).isEmpty)
        #expect(await manager.runningCount == 0)
        let events = try store.events(instance: r.id)
        #expect(events.first?.message.hasPrefix("started on sim BTCUSDT (seed 11)") == true)
        #expect(events.last?.message == "stopped (stop); \(cancelled!) order\(cancelled == 1 ? "" : "s") cancelled")
        #expect(events.contains { $0.kind == "filled" && $0.level == "success" })
        #expect(try store.lastRun(instance: r.id)?.endState == "stopped")
        // P&L snapshots once a minute of the 5-minute run, and one at stop.
        let snapshots = try store.pnlSnapshots(instance: r.id)
        #expect(snapshots.count >= 5 && snapshots.count <= 7)
        let last = try #require(snapshots.last)
        #expect(Dec(last.value)!.isPositive && Dec(last.hold)!.isPositive)
        #expect(zip(snapshots, snapshots.dropFirst()).allSatisfy { $0.time < $1.time })
    }

    /// The sim market's public trades reach the strategy: an Avellaneda instance waits, saying
    /// what its estimators still need, then quotes around its reservation price and gets filled.
    @Test func anAvellanedaInstanceWarmsUpThenQuotes() async throws {
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "as", limit: 10)
        let clock = ManualClock()
        let manager = InstanceManager(store: store, clock: clock)
        let s = settings(["strategy": "avellaneda", "as.volatility_buffer": "30", "as.intensity_buffer": "40", "sim.seed": "5",
                          "sim.takers": "120", "levels.count": "2", "order.amount": "0.002", "refresh.time": "5s"])
        try await manager.start(id: r.id, name: r.name, settings: s, loop: false)
        var waited: [String] = [], quotedAt: Int?
        for i in 0..<240 {
            clock.advance(ms: 500)
            await manager.tickAll()
            let report = await manager.report(r.id)!
            if let why = report.waitingFor {
                #expect(report.orders.isEmpty)
                #expect(report.state == .waiting)
                waited.append(why)
            } else if quotedAt == nil, !report.orders.isEmpty {
                quotedAt = i
                let state = try #require(report.strategyState)
                let estimators = try #require((StrategyConfig(s).model as? Avellaneda)?.state(in: state))
                #expect(estimators.volatility.isReady && estimators.intensity.isReady)
            }
        }
        #expect(waited.first?.hasPrefix("avellaneda warming up: σ 30 more mid samples") == true)
        // Thirty one-second changes need mids at seconds 0 to 30: tick 59 (30 s) at the earliest.
        let at = try #require(quotedAt)
        #expect(at >= 59)
        let report = await manager.report(r.id)!
        #expect(report.fills > 0, "its quotes get filled")
        let events = try store.events(instance: r.id)
        #expect(events.contains { $0.kind == "waiting" && $0.message.hasPrefix("avellaneda warming up") })
        #expect(events.contains { $0.kind == "waiting" && $0.message == "the estimators have enough data; quoting starts" })
        #expect(events.contains { $0.kind == "decision" && $0.message.contains("reservation price r = ") })
        _ = await manager.stop(r.id)
    }

    @Test func tenInstancesRunAtOnce() async throws {
        let store = try Store.inMemory()
        let clock = ManualClock()
        let manager = InstanceManager(store: store, clock: clock)
        for i in 1...10 {
            let r = try store.createInstance(name: "i\(i)", limit: 10)
            var s = busy
            s["sim.seed"] = "\(i)"
            try await manager.start(id: r.id, name: r.name, settings: settings(s), loop: false)
        }
        #expect(await manager.runningCount == 10)
        for _ in 0..<120 { clock.advance(ms: 500); await manager.tickAll() }
        for i in 1...10 {
            let report = await manager.report(i)!
            #expect(!report.orders.isEmpty || report.fills > 0)
        }
        let stopped = await manager.stopAll(reason: "quit")
        #expect(stopped.count == 10)
        for i in 1...10 { #expect(try store.orders(instance: i, openOnly: true).isEmpty) }
    }

    @Test func theStopLossStopsTheInstance() async throws {
        // A random walk may rise for a long time: take the first of a few seeds whose market falls.
        var stopped: (Store, InstanceReport)?
        for seed in 1...8 where stopped == nil {
            let store = try Store.inMemory()
            let r = try store.createInstance(name: "sl", limit: 10)
            let clock = ManualClock()
            let manager = InstanceManager(store: store, clock: clock)
            var s = busy
            s["sim.seed"] = "\(seed)"
            s["sim.volatility"] = "5%"
            s["stop_loss.pct"] = "1%"
            s["sim.base"] = "1"
            try await manager.start(id: r.id, name: r.name, settings: settings(s), loop: false)
            for _ in 0..<600 where await manager.isRunning(r.id) { clock.advance(ms: 1000); await manager.tickAll() }
            let report = await manager.report(r.id)!
            if report.state == .stopped_by_stop_loss { stopped = (store, report) }
        }
        let (store, report) = try #require(stopped)
        #expect(report.orders.isEmpty)
        #expect(try store.orders(instance: 1, openOnly: true).isEmpty)
        #expect(try store.events(instance: 1, levels: ["error"]).contains { $0.kind == "stop_loss" })
        #expect(try store.lastRun(instance: 1)?.endState == "stopped_by_stop_loss")
    }

    @Test func theDailyLossHaltsKeepsRunningAndCountsEarlierRunsOfTheDay() async throws {
        // A random walk may rise for a long time: take the first of a few seeds that loses.
        var halted: (Store, InstanceManager, ManualClock, Settings)?
        for seed in 1...8 where halted == nil {
            let store = try Store.inMemory()
            let r = try store.createInstance(name: "dl", limit: 10)
            let clock = ManualClock()
            let manager = InstanceManager(store: store, clock: clock)
            var s = busy
            s["sim.seed"] = "\(seed)"
            s["sim.volatility"] = "1%"
            s["risk.daily_loss"] = "2"
            s["risk.reduce_at"] = "50%"
            let values = settings(s)
            try await manager.start(id: r.id, name: r.name, settings: values, loop: false)
            for _ in 0..<600 where await manager.report(r.id)?.risk.mode != .halted { clock.advance(ms: 1000); await manager.tickAll() }
            if await manager.report(r.id)?.risk.mode == .halted { halted = (store, manager, clock, values) } else { _ = await manager.stop(r.id) }
        }
        let (store, manager, clock, values) = try #require(halted)
        var report = try #require(await manager.report(1))
        #expect(report.risk.binding?.limit == "risk.daily_loss")
        #expect(report.risk.dayPnL <= -2)
        #expect(report.state == .running, "halted is not stopped: fills and limits are still followed")
        clock.advance(ms: 1000)
        await manager.tickAll()
        report = try #require(await manager.report(1))
        #expect(report.orders.isEmpty, "every order cancelled")
        let events = try store.events(instance: 1, levels: ["error"])
        #expect(events.contains { $0.kind == "risk" && $0.message.hasPrefix("halted (risk.daily_loss: today's net P&L -") })
        // Passing through reducing first, at half the limit.
        #expect(try store.events(instance: 1, levels: ["warning"]).contains { $0.kind == "risk" && $0.message.hasPrefix("reducing (risk.daily_loss") })
        await #expect(throws: EngineError.self) { _ = try await manager.resume(1) }
        #expect(await manager.report(1)?.risk.mode == .halted, "a refused resume changes nothing")
        _ = await manager.stop(1)
        // A new run the same day starts from the loss of the first: halted at its first decision.
        let lost = try store.netPnL(instance: 1, from: Risk.dayStart(clock.now(), timeZone: TimeZone(identifier: "UTC")!), excludingRun: -1)
        #expect(lost <= -2)
        let snapshots = try store.pnlSnapshots(instance: 1)
        #expect(lost == Dec(snapshots.last!.value)! - Dec(snapshots.last!.hold)!, "the run began today: its last P&L is its day's")
        try await manager.start(id: 1, name: "dl", settings: values, loop: false)
        clock.advance(ms: 1000)
        await manager.tickAll()
        report = try #require(await manager.report(1))
        #expect(report.risk.mode == .halted && report.risk.binding?.limit == "risk.daily_loss")
        #expect(try store.events(instance: 1).contains { $0.message == "earlier runs today: net P&L \(lost.rounded(places: 8)) counts against risk.daily_loss" })
        _ = await manager.stop(1)
    }

    @Test func otherVenuesSayWhatIsMissing() async throws {
        let store = try Store.inMemory()
        let manager = InstanceManager(store: store, clock: ManualClock())
        await #expect(throws: EngineError("instance 1 trades live and needs the API keys of account 'default'")) {
            try await manager.start(id: 1, name: "x", settings: settings(["venue": "live"]), loop: false)
        }
        // Port 9 on loopback: nothing listens, so nothing leaves this machine.
        do {
            try await manager.start(id: 1, name: "x", settings: settings(["venue": "paper", "mexc.rest_url": "http://127.0.0.1:9",
                                                                          "mexc.ws_url": "ws://127.0.0.1:9/ws"]), loop: false)
            Issue.record("a paper instance started without a market")
        } catch {
            #expect(error.message.hasPrefix("cannot start instance 1: no answer from MEXC"), "\(error.message)")
        }
        #expect(await manager.runningCount == 0)
    }
}
