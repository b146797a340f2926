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
    /// A frame that could not be read (it is skipped).
    case unreadable(String)
}

/// One WebSocket connection to MEXC's stream API, kept up: it subscribes to its channels (at most
/// 30), sends `PING` every 30 s and treats a missing answer as a dead connection, reconnects
/// with exponential backoff and jitter (resubscribing; the owner rebuilds its book on
/// `.connected`), and replaces itself before MEXC's 24-hour limit. Binary frames are decoded into
/// events; JSON control answers are checked for refusals.
public actor StreamConnection {
    public let channels: [String]
    /// The URL to connect to, asked before every connection (a private stream refreshes its listenKey there).
    let url: @Sendable () async throws -> String
    let notify: @Sendable (StreamNotice) async -> Void
    var task: Task<Void, Never>?
    public private(set) var connections = 0
    public private(set) var lastMessageAt: ContinuousClock.Instant?

    public var pingEvery: Duration = .seconds(30)
    /// A connection older than this is replaced (MEXC closes them at 24 h).
    public var lifetime: Duration = .seconds(23 * 3600 + 50 * 60)
    public var backoff: (first: Duration, max: Duration) = (.milliseconds(200), .seconds(30))

    public init(channels: [String], url: @escaping @Sendable () async throws -> String,
                notify: @escaping @Sendable (StreamNotice) async -> Void) {
        precondition(channels.count <= 30, "MEXC allows 30 subscriptions a connection")
        self.channels = channels
        self.url = url
        self.notify = notify
    }

    public func configure(pingEvery: Duration? = nil, lifetime: Duration? = nil, backoff: (Duration, Duration)? = nil) {
        if let pingEvery { self.pingEvery = pingEvery }
        if let lifetime { self.lifetime = lifetime }
        if let backoff { self.backoff = backoff }
    }

    public func start() {
        guard task == nil else { return }
        task = Task { await self.keepUp() }
    }

    public func stop() async {
        task?.cancel()
        await task?.value
        task = nil
    }

    func touched() { lastMessageAt = .now }
    func connected() { connections += 1 }

    struct Replace: Error {}
    struct Refused: Error { var message: String }
    struct Silent: Error {}

    func keepUp() async {
        var failures = 0
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let reason: String
            do {
                try await runOnce()
                reason = "closed by the server"
            } catch is Replace {
                reason = "replaced before MEXC's 24-hour limit"
                failures = -1
            } catch let r as Refused {
                reason = r.message
            } catch is Silent {
                reason = "no answer to PING"
            } catch {
                reason = "\(error)"
            }
            if Task.isCancelled { break }
            await notify(.disconnected(reason: reason))
            // A connection that lived a while starts the backoff again.
            if ContinuousClock.now - started > .seconds(60) { failures = 0 }
            failures += 1
            if failures > 0 {
                let exponent = min(failures - 1, 16)
                let base = min(backoff.max, backoff.first * (1 << exponent))
                let jitter = Double.random(in: 0.5...1.0)
                try? await Task.sleep(for: base * jitter)
            }
        }
    }

    func runOnce() async throws {
        let address = try await url()
        let channels = self.channels, pingEvery = self.pingEvery, lifetime = self.lifetime, notify = self.notify
        var logger = Logger(label: "mmsh.stream")
        logger.logLevel = .critical
        // wss:// gets TLS with the system's trust roots from WSClient itself.
        let client = WebSocketClient(url: address, configuration: .init(maxFrameSize: 1 << 20), logger: logger) {
            inbound, outbound, _ in
            let subscribe = "{\"method\":\"SUBSCRIPTION\",\"params\":[\(channels.map { "\"\($0)\"" }.joined(separator: ","))],\"id\":1}"
            try await outbound.write(.text(subscribe))
            self.touchedFromOutside()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // PING, and a connection that stays silent for two periods is dead.
                    while true {
                        try await Task.sleep(for: pingEvery)
                        try await outbound.write(.text("{\"method\":\"PING\"}"))
                        if let last = await self.lastMessageAt, ContinuousClock.now - last > pingEvery * 2 { throw Silent() }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: lifetime)
                    throw Replace()
                }
                group.addTask {
                    var subscribed = false
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        await self.touched()
                        switch message {
                        case .binary(let buffer):
                            do {
                                let event = try StreamFrames.decode(Data(buffer.readableBytesView))
                                await notify(.event(event))
                            } catch {
                                await notify(.unreadable("\(error)"))
                            }
                        case .text(let text):
                            if text.contains("Not Subscribed successfully") || text == "Invalid listen key" { throw Refused(message: text) }
                            if !subscribed, text.contains("\"msg\":\"spot@") {
                                subscribed = true
                                await self.connected()
                                await notify(.connected)
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

    nonisolated func touchedFromOutside() { Task { await self.touched() } }
}
