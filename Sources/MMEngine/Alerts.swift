import Foundation
import MMCore
import MMMexc

/// Something a desk wants to hear about without watching a screen: sent as a JSON POST to
/// `option alerts.webhook`. Never carries a secret: only the instance, its figures and a line.
public struct Alert: Sendable, Equatable, Codable {
    /// One of `AlertKinds.all`.
    public var event: String
    public var level: String
    public var instance: Int?
    public var name: String?
    public var pair: String?
    /// UTC, ISO 8601 with milliseconds.
    public var time: String
    public var message: String
    /// The figures behind the message, decimals as strings.
    public var figures: [String: String]

    public init(event: String, level: EventLevel, instance: Int?, name: String?, pair: String?, time: Int64, message: String,
                figures: [String: String] = [:]) {
        self.event = event
        self.level = level.rawValue
        self.instance = instance
        self.name = name
        self.pair = pair
        self.time = TimeText.iso(time)
        self.message = message
        self.figures = figures
    }
}

/// Where alerts go and which are wanted, read from the stored options at each delivery (another
/// shell may change them while the engine runs).
public struct AlertTarget: Sendable, Equatable {
    public var url: String?
    public var events: Set<String>
    /// Lost contact is alerted only once it has lasted this long.
    public var contactAfter: Duration
    public init(url: String?, events: Set<String>, contactAfter: Duration = .seconds(30)) {
        self.url = url
        self.events = events
        self.contactAfter = contactAfter
    }
}

/// Delivers alerts in the background: posting never waits on the network, a failed delivery is
/// retried with backoff, and an alert that cannot be delivered (or has to be dropped because the
/// queue is full) is reported through `failed`, never lost without a word. Fills, when wanted,
/// are batched: one alert for the fills of a few seconds.
public actor AlertSender {
    /// Made at the first delivery: an engine that sends no alert never starts libcurl (and
    /// OpenSSL with it) for them.
    var transport: (any HTTPTransport)?
    let makeTransport: @Sendable () -> any HTTPTransport
    let target: @Sendable () -> AlertTarget
    let failed: @Sendable (Alert?, String) -> Void
    let backoff: [Duration]
    let fillBatch: Duration
    var queue: [Alert] = []
    var draining = false
    var fills: [Alert] = []
    var fillTimer: Task<Void, Never>?
    /// Per instance: a lost contact waiting for `contactAfter`, or one that was alerted.
    var contactPending: [Int: Task<Void, Never>] = [:]
    var contactAlerted: Set<Int> = []
    /// Alerts delivered, and those given up on, since the engine started (for /metrics and tests).
    public private(set) var delivered = 0
    public private(set) var undelivered = 0
    static let queueLimit = 10_000
    /// Alerts in the order they were posted, handed to the actor by one reader.
    nonisolated let inbox: AsyncStream<Alert>.Continuation

    public init(transport: @escaping @Sendable () -> any HTTPTransport = { CurlTransport(connectTimeout: .seconds(3), totalTimeout: .seconds(5), label: "mmsh.alerts") },
                backoff: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16)],
                fillBatch: Duration = .seconds(5),
                target: @escaping @Sendable () -> AlertTarget, failed: @escaping @Sendable (Alert?, String) -> Void) {
        self.makeTransport = transport
        self.target = target
        self.failed = failed
        self.backoff = backoff
        self.fillBatch = fillBatch
        let (stream, inbox) = AsyncStream<Alert>.makeStream()
        self.inbox = inbox
        Task { [weak self] in
            for await alert in stream { await self?.enqueue(alert) }
        }
    }

    deinit { inbox.finish() }

    /// Hands an alert over; returns at once.
    public nonisolated func post(_ alert: Alert) {
        inbox.yield(alert)
    }

    func enqueue(_ alert: Alert) {
        let t = target()
        guard t.url != nil, t.events.contains(alert.event) else { return }
        let instance = alert.instance ?? 0
        switch alert.event {
        case "contact_lost":
            // Short outages are not news: alerted only when contact stays lost for `contactAfter`.
            guard contactPending[instance] == nil, !contactAlerted.contains(instance) else { return }
            let wait = t.contactAfter
            contactPending[instance] = Task { [weak self] in
                try? await Task.sleep(for: wait)
                guard !Task.isCancelled else { return }
                await self?.contactStillLost(alert, instance: instance, after: wait)
            }
            return
        case "contact_restored":
            if let pending = contactPending.removeValue(forKey: instance) { pending.cancel(); return }
            guard contactAlerted.remove(instance) != nil else { return }
        default: break
        }
        if alert.event == "fills" {
            fills.append(alert)
            if fillTimer == nil {
                let wait = fillBatch
                fillTimer = Task { [weak self] in
                    try? await Task.sleep(for: wait)
                    await self?.flushFills()
                }
            }
            return
        }
        add(alert)
    }

    func contactStillLost(_ alert: Alert, instance: Int, after wait: Duration) {
        guard contactPending.removeValue(forKey: instance) != nil else { return }
        contactAlerted.insert(instance)
        var a = alert
        a.message += " (for \(wait.components.seconds) s and counting)"
        add(a)
    }

    func add(_ alert: Alert) {
        if queue.count >= Self.queueLimit {
            let dropped = queue.removeFirst()
            undelivered += 1
            failed(dropped, "alert queue full (\(Self.queueLimit) waiting); dropped the oldest")
        }
        queue.append(alert)
        if !draining {
            draining = true
            Task { await self.drain() }
        }
    }

    func flushFills() {
        fillTimer = nil
        guard let first = fills.first else { return }
        let batch = fills
        fills = []
        var figures: [String: String] = ["count": "\(batch.count)"]
        for (i, f) in batch.prefix(100).enumerated() { figures["fill.\(i)"] = f.message }
        let message = batch.count == 1 ? first.message : "\(batch.count) fills: " + batch.prefix(3).map(\.message).joined(separator: "; ") + (batch.count > 3 ? "; …" : "")
        var alert = first
        alert.message = message
        alert.figures = figures
        if Set(batch.map(\.instance)).count > 1 { alert.instance = nil; alert.name = nil; alert.pair = nil }
        add(alert)
    }

    func drain() async {
        while !queue.isEmpty {
            let alert = queue.removeFirst()
            await deliver(alert)
        }
        draining = false
    }

    func deliver(_ alert: Alert) async {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let body = try? encoder.encode(alert) else { return }
        var lastError = ""
        for attempt in 0...backoff.count {
            guard let url = target().url else { return }   // switched off meanwhile
            let request = HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json"), ("User-Agent", "mmsh-alerts")],
                                      body: String(decoding: body, as: UTF8.self))
            let http = transport ?? makeTransport()
            transport = http
            do {
                let response = try await http.send(request)
                if (200..<300).contains(response.status) { delivered += 1; return }
                lastError = "HTTP \(response.status)"
            } catch {
                lastError = error.description
            }
            if attempt < backoff.count { try? await Task.sleep(for: backoff[attempt]) }
        }
        undelivered += 1
        failed(alert, "could not deliver the '\(alert.event)' alert to the webhook after \(backoff.count + 1) attempts (\(lastError)): \(alert.message)")
    }
}
