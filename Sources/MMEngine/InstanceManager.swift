import Foundation
import MMCore
import MMMexc
import MMSim
import MMStorage
import MMStrategy
import Synchronization

public struct EngineError: Error, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Owns the running instances: one actor each, each with its own loop, so a slow or failing
/// instance never blocks another one or the prompt.
public actor InstanceManager {
    let store: Store
    public nonisolated let clock: any EngineClock
    let interval: Duration
    let notify: @Sendable (Int, EventLevel, String) -> Void
    var runners: [Int: InstanceRunner] = [:]
    var loops: [Int: Task<Void, Never>] = [:]
    var active: Set<Int> = []
    /// MEXC's rate-limit pools, shared by every live instance of this process: the IP pool per
    /// REST endpoint, the UID pool per API key.
    var ipPools: [String: WeightPool] = [:]
    var uidPools: [String: WeightPool] = [:]
    /// Alerts to `option alerts.webhook`, shared by every instance.
    public let alerts: AlertSender
    /// Every instance's log entries as they happen.
    public nonisolated let events = EventBus()

    public init(store: Store, clock: any EngineClock = WallClock(), interval: Duration = .milliseconds(500),
                alertBackoff: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16)],
                notify: @escaping @Sendable (Int, EventLevel, String) -> Void = { _, _, _ in }) {
        self.store = store
        self.clock = clock
        self.interval = interval
        self.notify = notify
        let lastTarget = LastAlertTarget()
        self.alerts = AlertSender(backoff: alertBackoff, target: { InstanceManager.alertTarget(store, last: lastTarget) }) { alert, problem in
            // An alert that cannot be delivered is said in its instance's log and above the prompts;
            // in the engine's own log (daemon.log) when it has no instance or the store refuses it.
            guard let id = alert?.instance else {
                FileHandle.standardError.write(Data("mmsh: warning: \(problem)\n".utf8))
                return
            }
            do {
                _ = try store.appendEvent(EventRecord(instanceId: id, time: clock.now(), level: EventLevel.warning.rawValue,
                                                      kind: "alert", message: problem), keep: 10_000)
            } catch {
                FileHandle.standardError.write(Data("mmsh: warning: instance \(id): \(problem) (not in its log: \((error as? StoreError)?.message ?? "\(error)"))\n".utf8))
            }
            notify(id, .warning, problem)
        }
    }

    /// Where alerts go, as the stored options say now. When they cannot be read, the last target
    /// read stands (alerts go on to the same webhook) and the engine's log says why.
    static func alertTarget(_ store: Store, last: LastAlertTarget) -> AlertTarget {
        let options: [String: String]
        do { options = try store.options() } catch {
            FileHandle.standardError.write(Data("mmsh: warning: cannot read the alert options (\(error.message)); the last ones read stand\n".utf8))
            return last.value.withLock { $0 } ?? target(from: [:])
        }
        let target = target(from: options)
        last.value.withLock { $0 = target }
        return target
    }

    static func target(from options: [String: String]) -> AlertTarget {
        func value(_ key: String) -> SettingValue {
            let spec = OptionCatalog.specs.first { $0.key == key }!
            return options[key].flatMap { try? spec.parse($0) } ?? spec.defaultValue
        }
        let events = value("alerts.events").text?.split(separator: ",").map(String.init) ?? AlertKinds.defaults
        return AlertTarget(url: value("alerts.webhook").text, events: Set(events),
                           contactAfter: .milliseconds(value("alerts.contact_after").duration?.milliseconds ?? 30_000))
    }

    public var runningIds: [Int] { active.sorted() }
    public var runningCount: Int { active.count }
    public func isRunning(_ id: Int) -> Bool { active.contains(id) }

    /// Starts an instance; `loop` false leaves ticking to the caller (tests drive the clock).
    /// A live instance needs the API credentials of its account.
    public func start(id: Int, name: String, settings: Settings, credentials: APICredentials? = nil,
                      loop: Bool = true) async throws(EngineError) {
        guard !active.contains(id) else { throw EngineError("instance \(id) is running already") }
        let exchange: any Exchange
        var seedNote: String?
        switch settings.venue {
        case "sim":
            let config = SimMarketConfig(settings)
            let seed = config.seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
            seedNote = "\(seed)\(config.seed == nil ? ", random" : "")"
            let trap = DecRangeTrap()
            let clock = self.clock
            exchange = await Dec.withTrap(trap) { SimExchange(config: config, seed: seed, clock: clock) }
            if let e = trap.error { throw EngineError("cannot start instance \(id): \(e); lower sim.mid, sim.base or sim.quote") }
        case "live":
            exchange = try liveExchange(id: id, settings: settings, credentials: credentials)
        case "paper":
            exchange = try paperExchange(settings: settings)
        default:
            throw EngineError("unknown venue \(settings.venue)")
        }
        let token = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let alerts = self.alerts
        let runner = InstanceRunner(id: id, name: name, settings: settings, store: store, exchange: exchange, clock: clock,
                                    token: token, notify: notify, alert: { alerts.post($0) }, events: events)
        do { try await runner.start(seedNote: seedNote) } catch {
            await exchange.close()
            throw EngineError("cannot start instance \(id): \(error.message)")
        }
        runners[id] = runner
        active.insert(id)
        if loop {
            let interval = self.interval
            // A decision at least every `interval`, and at once when the venue's book changes
            // (streams): quotes follow the market within a frame, not a timer period.
            let wakeup = Wakeup()
            await exchange.onMarketChange { wakeup.signal() }
            loops[id] = Task { [weak self] in
                var followingUp = false
                while !Task.isCancelled {
                    let again = await runner.tick()
                    let state = await runner.runState
                    if state != .running && state != .waiting {
                        await self?.ended(id)
                        return
                    }
                    // One decision at once after one that cancelled to make its ladder anew; never a run of them.
                    if again && !followingUp {
                        followingUp = true
                        continue
                    }
                    followingUp = false
                    await wakeup.wait(upTo: interval)
                }
            }
        }
    }

    /// A live venue for the instance, its requests counted in the process's shared pools.
    func liveExchange(id: Int, settings: Settings, credentials: APICredentials?) throws(EngineError) -> LiveExchange {
        guard let credentials else { throw EngineError("instance \(id) trades live and needs the API keys of account '\(settings["account"].text!)'") }
        let url = settings["mexc.rest_url"].text!
        let ipPool = ipPools[url] ?? WeightPool(), uidPool = uidPools[credentials.key] ?? WeightPool()
        ipPools[url] = ipPool
        uidPools[credentials.key] = uidPool
        let client = MEXCClient(baseURL: url, credentials: credentials, ipPool: ipPool, uidPool: uidPool)
        let previous = try? store.lastRun(instance: id)
        let streams = settings["mexc.streams"].bool == true ? settings["mexc.ws_url"].text : nil
        try checkSameExchange(rest: url, stream: streams)
        return LiveExchange(client: client, symbol: settings.pair, clock: clock, fillsSince: previous?.startedAt, streamURL: streams,
                            staleAfter: .milliseconds(settings["market.stale_after"].duration?.milliseconds ?? 5000))
    }

    /// The paper venue: MEXC's public data (no keys), simulated orders and balances.
    func paperExchange(settings: Settings) throws(EngineError) -> PaperExchange {
        let url = settings["mexc.rest_url"].text!
        let streams = settings["mexc.streams"].bool == true ? settings["mexc.ws_url"].text : nil
        try checkSameExchange(rest: url, stream: streams)
        let ipPool = ipPools[url] ?? WeightPool()
        ipPools[url] = ipPool
        let client = MEXCClient(baseURL: url, credentials: nil, ipPool: ipPool)
        let sim = SimMarketConfig(settings)
        return PaperExchange(client: client, symbol: settings.pair, clock: clock, base: sim.base, quote: sim.quote, fee: sim.rules.makerFee,
                             streamURL: streams, staleAfter: .milliseconds(settings["market.stale_after"].duration?.milliseconds ?? 5000))
    }

    /// Quoting one market's book while trading on another is the costliest mistake to make with a
    /// local simulator: a REST and a stream endpoint that are not both local or both remote are refused.
    func checkSameExchange(rest: String, stream: String?) throws(EngineError) {
        guard let stream else { return }
        func local(_ u: String) -> Bool {
            let host = URLComponents(string: u)?.host ?? ""
            return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        }
        guard local(rest) == local(stream) else {
            throw EngineError("mexc.rest_url (\(rest)) and mexc.ws_url (\(stream)) point at different exchanges; set mexc.ws_url to the same one (for mmsh sim serve: ws://HOST:PORT/ws), or set mexc.streams off")
        }
    }

    /// The paper market as an instance that is not running would see it now (REST only).
    public func paperMarket(settings: Settings) async throws(EngineError) -> (MarketSnapshot, MarketRules) {
        var polling = settings
        polling.set("mexc.streams", .bool(false))
        let exchange = try paperExchange(settings: polling)
        do {
            let rules = try await exchange.rules()
            let snapshot = try await exchange.snapshot()
            await exchange.close()
            return (snapshot, rules)
        } catch {
            await exchange.close()
            throw EngineError("\(error.message) (MEXC \(error.code))")
        }
    }

    /// The live market as an instance that is not running would see it now: rules, book and
    /// balances, for `preview`.
    public func liveMarket(id: Int, settings: Settings, credentials: APICredentials?) async throws(EngineError) -> (MarketSnapshot, MarketRules) {
        var polling = settings
        polling.set("mexc.streams", .bool(false))
        let exchange = try liveExchange(id: id, settings: polling, credentials: credentials)
        do {
            let rules = try await exchange.rules()
            return (try await exchange.snapshot(), rules)
        } catch {
            throw EngineError("\(error.message) (MEXC \(error.code))")
        }
    }

    func ended(_ id: Int) {
        active.remove(id)
        loops[id] = nil
    }

    /// Stops an instance: cancels and confirms its orders. Returns how many were cancelled, or
    /// nil when it was not running.
    public func stop(_ id: Int, reason: String = "stop") async -> Int? {
        guard active.contains(id), let runner = runners[id] else { return nil }
        loops[id]?.cancel()
        await loops[id]?.value
        let n = await runner.stop(reason: reason)
        ended(id)
        return n
    }

    /// Stops every running instance. Returns (id, orders cancelled) for each.
    public func stopAll(reason: String) async -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        for id in active.sorted() { if let n = await stop(id, reason: reason) { out.append((id, n)) } }
        return out
    }

    /// What an instance is doing, without asking its venue for anything.
    public func runState(_ id: Int) async -> RunState? {
        guard let runner = runners[id] else { return nil }
        return await runner.runState
    }

    /// The market rules its venue gave the instance's run, without asking the venue again.
    public func rules(_ id: Int) async -> MarketRules? {
        guard let runner = runners[id] else { return nil }
        return await runner.rules
    }

    public func report(_ id: Int) async -> InstanceReport? {
        guard let runner = runners[id] else { return nil }
        return await runner.report()
    }

    public func update(_ id: Int, settings: Settings, change: String) async {
        await runners[id]?.update(settings, change: change)
    }

    /// One cycle of every running instance, in id order (for tests on a manual clock).
    public func tickAll() async {
        for id in active.sorted() {
            guard let runner = runners[id] else { continue }
            await runner.tick()
            let state = await runner.runState
            if state != .running && state != .waiting { ended(id) }
        }
    }

    /// Halts a running instance by hand: cancels its orders and places nothing until `resume`.
    /// Returns how many orders were cancelled, or nil when it is not running.
    public func pause(_ id: Int, binding: RiskBinding) async -> Int? {
        guard active.contains(id), let runner = runners[id] else { return nil }
        return await runner.pause(binding)
    }

    /// Lifts a halt; nil when the instance is not running.
    public func resume(_ id: Int) async throws(EngineError) -> Bool {
        guard active.contains(id), let runner = runners[id] else { return false }
        try await runner.resume()
        return true
    }

    /// Whether the venue lists none of the instance's orders; nil when it does not answer.
    public func confirmNoOrders(_ id: Int) async -> Bool? {
        guard let runner = runners[id] else { return nil }
        return await runner.confirmNoOrders()
    }

    /// MEXC request weight used now in each rate-limit pool: the IP pool per REST endpoint and
    /// the UID pool per API key (numbered, the key itself never shown), with their capacities.
    public func poolUsage() async -> [(pool: String, used: Int, capacity: Int)] {
        var out: [(String, Int, Int)] = []
        for (url, pool) in ipPools.sorted(by: { $0.key < $1.key }) { out.append(("ip \(url)", await pool.used, await pool.capacity)) }
        for (i, pool) in uidPools.sorted(by: { $0.key < $1.key }).map(\.value).enumerated() { out.append(("uid \(i + 1)", await pool.used, await pool.capacity)) }
        return out
    }

    /// The risk state of every running instance that is not active.
    public func riskModes() async -> [Int: RiskMode] {
        var out: [Int: RiskMode] = [:]
        for id in active { if let mode = await runners[id]?.risk.mode, mode != .active { out[id] = mode } }
        return out
    }

    /// Forgets a stopped instance's runner (when the instance is deleted).
    public func forget(_ id: Int) { if !active.contains(id) { runners[id] = nil } }
}

/// The alert target last read from the store, for when it cannot be read.
final class LastAlertTarget: Sendable {
    let value = Mutex<AlertTarget?>(nil)
}
