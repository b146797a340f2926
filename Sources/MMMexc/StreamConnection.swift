import Foundation
import Logging
import NIOCore
import WSClient

/// What a stream connection reports to its owner.
public enum StreamNotice: Sendable, Equatable {
    /// Connected and subscribed: anything kept from before (a local book) must be rebuilt.
    case connected
    /// The connection ended; it is being made again after a pause.
    case disconnected(reason: String)
    case event(StreamEvent)
    /// An event with the frame's bytes as received, instead of `event`, when the connection
    /// keeps frames (a recording writes them).
    case frame(StreamEvent, [UInt8])
    /// A frame that could not be read (it is skipped).
    case unreadable(String)
}

/// One WebSocket subscription to MEXC's stream API, kept up: it subscribes to its channels (at
/// most 30 a connection), sends `PING` and takes two periods of silence for a dead connection,
/// reconnects with exponential backoff and jitter (the owner rebuilds its book on `.connected`),
/// and replaces its connection before MEXC's 24-hour limit without a gap: the new connection
/// subscribes while the old one still delivers, and takes over where the old one stopped
/// (depth diffs and deals the old one already delivered are not delivered twice).
public actor StreamConnection {
    /// A transport error as a person reads it: NIO's `SingleConnectionFailure(target: [IPv4]…)`
    /// and the like become "cannot connect to HOST:PORT (connection refused)".
    static func inWords(_ error: any Error) -> String {
        let raw = "\(error)"
        let lower = raw.lowercased()
        var target = ""
        if let r = raw.range(of: #"\d{1,3}(\.\d{1,3}){3}/\d{1,3}(\.\d{1,3}){3}:\d+"#, options: .regularExpression) {
            let hostPort = raw[r].split(separator: "/").last.map(String.init) ?? ""
            target = " to \(hostPort)"
        }
        if lower.contains("connection refused") || lower.contains("econnrefused") || lower.contains("connectionrefused") {
            return "cannot connect\(target) (connection refused: nothing listens there)"
        }
        if lower.contains("timeout") || lower.contains("timedout") { return "cannot connect\(target) (no answer in time)" }
        if lower.contains("singleconnectionfailure") || lower.contains("connectionfailure") { return "cannot connect\(target)" }
        if lower.contains("ioerror") || lower.contains("connection reset") { return "the connection broke (\(raw.prefix(80)))" }
        return raw.count > 160 ? String(raw.prefix(160)) + "…" : raw
    }

    public let channels: [String]
    /// The URL to connect to, asked before every connection (a private stream refreshes its listenKey there).
    let url: @Sendable () async throws -> String
    let notify: @Sendable (StreamNotice) async -> Void
    var supervisor: Task<Void, Never>?
    /// Connections made so far (replacements included).
    public private(set) var connections = 0
    public private(set) var lastMessageAt: ContinuousClock.Instant?

    public var pingEvery: Duration = .seconds(30)
    /// A connection older than this is replaced (MEXC closes them at 24 h).
    public var lifetime: Duration = .seconds(23 * 3600 + 50 * 60)
    public var backoff: (first: Duration, max: Duration) = (.milliseconds(200), .seconds(30))
    /// Events come with their frame's bytes (`.frame`), for a recording.
    public var keepFrames = false

    // Generations: the connection whose events are delivered, and its replacement while it subscribes.
    var generation = 0
    var active = 0
    var incoming: Int?
    /// The replacement is subscribed, and waits for the old connection to reach its first diff.
    var incomingReady = false
    var readySince: ContinuousClock.Instant?
    var held: [(notice: StreamNotice, bytes: [UInt8]?)] = []
    var flushing = false
    var tasks: [Int: Task<Void, any Error>] = [:]
    var promoted: Task<Void, any Error>?
    /// What the active connection delivered last: where a replacement takes over.
    var lastDepth: [String: Int64] = [:]
    var recentDeals: [String] = []

    public init(channels: [String], url: @escaping @Sendable () async throws -> String,
                notify: @escaping @Sendable (StreamNotice) async -> Void) {
        precondition(channels.count <= 30, "MEXC allows 30 subscriptions a connection")
        self.channels = channels
        self.url = url
        self.notify = notify
    }

    public func configure(pingEvery: Duration? = nil, lifetime: Duration? = nil, backoff: (Duration, Duration)? = nil,
                          keepFrames: Bool? = nil) {
        if let keepFrames { self.keepFrames = keepFrames }
        if let pingEvery { self.pingEvery = pingEvery }
        if let lifetime { self.lifetime = lifetime }
        if let backoff { self.backoff = backoff }
    }

    public func start() {
        guard supervisor == nil else { return }
        supervisor = Task { await self.keepUp() }
    }

    public func stop() async {
        supervisor?.cancel()
        for t in tasks.values { t.cancel() }
        await supervisor?.value
        supervisor = nil
    }

    struct Refused: Error { var message: String }
    struct Silent: Error {}

    func keepUp() async {
        var failures = 0
        var current = launch()
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let connection = current
            let result = await withTaskCancellationHandler { await connection.result } onCancel: { connection.cancel() }
            if Task.isCancelled { break }
            if promoted == nil, incomingReady { await takeOver() }
            if let next = promoted {
                // Replaced: the new connection already delivers; follow it.
                promoted = nil
                current = next
                continue
            }
            let reason: String
            switch result {
            case .success: reason = "closed by the server"
            case .failure(let r as Refused): reason = r.message
            case .failure(is Silent): reason = "no answer to PING"
            case .failure(let error): reason = Self.inWords(error)
            }
            await notify(.disconnected(reason: reason))
            // A connection that lived a while starts the backoff again.
            if ContinuousClock.now - started > .seconds(60) { failures = 0 }
            failures += 1
            let base = min(backoff.max, backoff.first * (1 << min(failures - 1, 16)))
            try? await Task.sleep(for: base * Double.random(in: 0.5...1.0))
            if Task.isCancelled { break }
            if let g = incoming { tasks[g]?.cancel() }
            incoming = nil
            incomingReady = false
            held = []
            current = launch()
        }
        for t in tasks.values { t.cancel() }
        tasks = [:]
    }

    /// Starts a connection as the active one.
    func launch() -> Task<Void, any Error> {
        generation += 1
        active = generation
        lastDepth = [:]
        recentDeals = []
        return connect(generation)
    }

    func connect(_ g: Int) -> Task<Void, any Error> {
        connections += 1
        let task = Task {
            defer { self.ended(g) }
            try await self.run(g)
        }
        tasks[g] = task
        return task
    }

    /// A connection is over: a replacement that never took over is forgotten (another is tried).
    func ended(_ g: Int) {
        if incoming == g {
            incoming = nil
            incomingReady = false
            held = []
        }
        if g != active { tasks[g] = nil }
        heardAt[g] = nil
    }

    /// The active connection is old: a new one subscribes beside it.
    func replace(_ g: Int) {
        guard g == active, incoming == nil else { return }
        generation += 1
        incoming = generation
        incomingReady = false
        held = []
        _ = connect(generation)
    }

    /// A connection's subscription was confirmed.
    func subscribed(_ g: Int) async {
        if g == active {
            await notify(.connected)
        } else if g == incoming {
            incomingReady = true
            readySince = .now
            await takeOverWhenAligned()
        }
    }

    /// The replacement takes over once the old connection has delivered every depth diff that
    /// comes before the first one the replacement holds (a diff published before the replacement
    /// subscribed reaches only the old connection, and may still be on its way); after a
    /// minute it takes over regardless (a gap then asks for a snapshot, as any gap does).
    func takeOverWhenAligned() async {
        guard incomingReady, promoted == nil else { return }
        var firstHeld: [String: Int64] = [:]
        for case .event(.depth(let symbol, let diff)) in held.map(\.notice) where firstHeld[symbol] == nil { firstHeld[symbol] = diff.fromVersion }
        let depthChannels = channels.filter { $0.contains(".depth.") }
        let aligned = depthChannels.isEmpty
            || (!firstHeld.isEmpty && firstHeld.allSatisfy { symbol, from in (lastDepth[symbol] ?? .min) >= from - 1 })
        let waitedTooLong = readySince.map { ContinuousClock.now - $0 > .seconds(60) } ?? false
        if aligned || waitedTooLong { await takeOver() }
    }

    /// Deliver what the new connection holds past what the old one delivered, then end the old one.
    func takeOver() async {
        guard let g = incoming, let task = tasks[g] else { return }
        let old = active
        active = g
        incoming = nil
        incomingReady = false
        promoted = task
        // While the held frames go out, newer ones of the new connection queue behind them.
        flushing = true
        while !held.isEmpty {
            let next = held.removeFirst()
            await forward(next.notice, bytes: next.bytes)
        }
        flushing = false
        tasks[old]?.cancel()
        tasks[old] = nil
    }

    /// A frame of connection `g`: passed on if it is the active one, held if it is the
    /// replacement (or while the replacement's held frames go out), dropped otherwise.
    func deliver(_ g: Int, _ n: StreamNotice, bytes: [UInt8]? = nil) async {
        lastMessageAt = .now
        if g == incoming {
            held.append((n, bytes))
            if case .event(.depth) = n { await takeOverWhenAligned() }
            return
        }
        guard g == active else { return }
        if flushing {
            held.append((n, bytes))
            return
        }
        await forward(n, bytes: bytes)
        if incomingReady, case .event(.depth) = n { await takeOverWhenAligned() }
    }

    /// Passes a frame of the active connection on; right after a takeover, depth diffs and deals
    /// the old connection already delivered are dropped.
    func forward(_ n: StreamNotice, bytes: [UInt8]? = nil) async {
        switch n {
        case .event(.depth(let symbol, let diff)):
            if let last = lastDepth[symbol], diff.toVersion <= last, promotedRecently { return }
            lastDepth[symbol] = diff.toVersion
        case .event(.deals(let symbol, let deals)):
            let fresh = deals.filter { !recentDeals.contains($0.tradeId) || $0.tradeId.isEmpty }
            recentDeals += deals.map(\.tradeId)
            if recentDeals.count > 500 { recentDeals.removeFirst(recentDeals.count - 500) }
            if fresh.count != deals.count {
                // A recording keeps the frame as received, repeats and all: rare, at a takeover.
                if !fresh.isEmpty { await notify(bytes.map { .frame(.deals(symbol: symbol, fresh), $0) } ?? .event(.deals(symbol: symbol, fresh))) }
                return
            }
        default: break
        }
        if let bytes, case .event(let event) = n { await notify(.frame(event, bytes)) } else { await notify(n) }
    }

    /// Whether the active connection took over from another one (its first frames may repeat
    /// what the old one delivered; after that a repeat is the exchange's, and is passed on).
    var promotedRecently: Bool { promoted != nil }

    func run(_ g: Int) async throws {
        let address = try await url()
        let channels = self.channels, pingEvery = self.pingEvery, lifetime = self.lifetime, keepFrames = self.keepFrames
        var logger = Logger(label: "mmsh.stream")
        logger.logLevel = .critical
        // wss:// gets TLS with the system's trust roots from WSClient itself.
        // A dead or refusing server gets a second, not 15, to answer our close.
        let client = WebSocketClient(url: address, configuration: .init(maxFrameSize: 1 << 20, closeTimeout: .seconds(1)), logger: logger) {
            inbound, outbound, _ in
            let subscribe = "{\"method\":\"SUBSCRIPTION\",\"params\":[\(channels.map { "\"\($0)\"" }.joined(separator: ","))],\"id\":1}"
            try await outbound.write(.text(subscribe))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // PING, and a connection that stays silent for two periods is dead.
                    var lastHeard = await self.lastMessageAt ?? .now
                    while true {
                        try await Task.sleep(for: pingEvery)
                        try await outbound.write(.text("{\"method\":\"PING\"}"))
                        let heard = await self.heard(g) ?? lastHeard
                        if ContinuousClock.now - heard > pingEvery * 2 { throw Silent() }
                        lastHeard = heard
                    }
                }
                group.addTask {
                    // Replaced when old; the replacement cancels this connection once it delivers,
                    // and another is tried while it does not.
                    try await Task.sleep(for: lifetime)
                    while true {
                        await self.replace(g)
                        try await Task.sleep(for: min(lifetime, .seconds(60)))
                    }
                }
                group.addTask {
                    var subscribed = false
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        await self.heardNow(g)
                        switch message {
                        case .binary(let buffer):
                            do {
                                let event = try StreamFrames.decode(Data(buffer.readableBytesView))
                                await self.deliver(g, .event(event), bytes: keepFrames ? Array(buffer.readableBytesView) : nil)
                            } catch {
                                await self.deliver(g, .unreadable("\(error)"))
                            }
                        case .text(let text):
                            if text.contains("Not Subscribed successfully") || text == "Invalid listen key" { throw Refused(message: text) }
                            if !subscribed, text.contains("\"msg\":\"spot@") {
                                subscribed = true
                                await self.subscribed(g)
                            }
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
        try await client.run()
    }

    // When each connection was last heard from (PONG answers included).
    var heardAt: [Int: ContinuousClock.Instant] = [:]
    func heardNow(_ g: Int) {
        heardAt[g] = .now
        if g == active { lastMessageAt = .now }
    }
    func heard(_ g: Int) -> ContinuousClock.Instant? { heardAt[g] }
}
