import Foundation
import MMCore
import MMEngine
import MMMexc
import MMSimServer
import MMStorage
import MMStrategy
import Synchronization
import Testing

/// A webhook on a loopback port: answers each POST with the next status of `statuses` (then
/// 200) and keeps the bodies it accepted.
final class WebhookReceiver: Sendable {
    let port: Int
    private let fd: Int32
    private let state: Mutex<(bodies: [Data], statuses: [Int], requests: Int)>

    init(statuses: [Int] = []) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        state = Mutex(([], statuses, 0))
        let listener = fd
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                self.serve(client)
            }
        }
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var bodies: [Data] { state.withLock { $0.bodies } }
    var requests: Int { state.withLock { $0.requests } }
    /// The accepted alerts, decoded.
    var alerts: [[String: Any]] { bodies.compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Headers, then as much body as Content-Length says.
        while true {
            let n = read(client, &buffer, buffer.count)
            guard n > 0 else { return }
            data.append(contentsOf: buffer[0..<n])
            guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { continue }
            let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            if data.count - end.upperBound >= length {
                let body = data[end.upperBound..<(end.upperBound + length)]
                let status = state.withLock { s -> Int in
                    s.requests += 1
                    let status = s.statuses.isEmpty ? 200 : s.statuses.removeFirst()
                    if status == 200 { s.bodies.append(Data(body)) }
                    return status
                }
                let reply = "HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = reply.withCString { write(client, $0, strlen($0)) }
                return
            }
        }
    }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}

func webhook(_ store: Store, _ receiver: WebhookReceiver, events: String = "all", contactAfter: String = "1s") throws {
    try store.setOption("alerts.webhook", receiver.url)
    try store.setOption("alerts.events", events)
    try store.setOption("alerts.contact_after", contactAfter)
}

@Suite(.serialized) struct AlertTests {
    @Test func alertsAreRetriedWithBackoffAndAFailureIsSaidNeverSilent() async throws {
        // Two failures, then the webhook takes it.
        let receiver = try WebhookReceiver(statuses: [500, 503])
        defer { receiver.stop() }
        let failures = Mutex<[String]>([])
        let sender = AlertSender(backoff: [.milliseconds(50), .milliseconds(50), .milliseconds(50)], fillBatch: .milliseconds(200),
                                 target: { AlertTarget(url: receiver.url, events: Set(AlertKinds.all)) },
                                 failed: { _, problem in failures.withLock { $0.append(problem) } })
        sender.post(Alert(event: "halted", level: .error, instance: 1, name: "btc", pair: "BTCUSDT", time: 1_796_126_400_123,
                          message: "instance 1 'btc' halted: paused by hand", figures: ["state": "halted"]))
        #expect(try await waitUntil(10) { receiver.alerts.count == 1 })
        #expect(receiver.requests == 3)
        let alert = try #require(receiver.alerts.first)
        #expect(alert["event"] as? String == "halted" && alert["instance"] as? Int == 1 && alert["name"] as? String == "btc")
        #expect(alert["time"] as? String == "2026-12-01T12:00:00.123Z" && alert["level"] as? String == "error")
        #expect((alert["figures"] as? [String: String])?["state"] == "halted")
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(try await waitUntil(5) { await sender.delivered == 1 })

        // Fills come batched: three in one alert.
        for i in 1...3 {
            sender.post(Alert(event: "fills", level: .success, instance: 1, name: "btc", pair: "BTCUSDT", time: 0, message: "filled buy 0.00\(i) at 100"))
        }
        #expect(try await waitUntil(10) { receiver.alerts.count == 2 })
        let fills = try #require(receiver.alerts.last)
        #expect(fills["event"] as? String == "fills" && (fills["figures"] as? [String: String])?["count"] == "3")
        #expect(fills["message"] as? String == "3 fills: filled buy 0.001 at 100; filled buy 0.002 at 100; filled buy 0.003 at 100")

        // A webhook that never takes it: given up after every retry, and said.
        let down = try WebhookReceiver(statuses: Array(repeating: 500, count: 10))
        defer { down.stop() }
        let failing = AlertSender(backoff: [.milliseconds(20), .milliseconds(20)], target: { AlertTarget(url: down.url, events: ["error"]) },
                                  failed: { _, problem in failures.withLock { $0.append(problem) } })
        failing.post(Alert(event: "error", level: .error, instance: 1, name: nil, pair: nil, time: 0, message: "boom"))
        failing.post(Alert(event: "halted", level: .error, instance: 1, name: nil, pair: nil, time: 0, message: "not wanted"))
        #expect(try await waitUntil(10) { !failures.withLock { $0 }.isEmpty })
        #expect(failures.withLock { $0 } == ["could not deliver the 'error' alert to the webhook after 3 attempts (HTTP 500): boom"])
        #expect(down.requests == 3, "the event not in alerts.events is not sent at all")
    }

    @Test func theDeadmansSwitchHaltsOnASilentVenueAndAlertsWithoutSecrets() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "8", "sim.takers": "0"])
        defer { Task { await server.stop() } }
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let store = try Store.inMemory()
        try webhook(store, receiver)
        let r = try store.createInstance(name: "dm", limit: 10)
        let manager = InstanceManager(store: store, interval: .milliseconds(100))
        // The stale-data guard is set long, so that what acts here is the dead-man's switch.
        try await manager.start(id: r.id, name: r.name, settings: try liveSettings(server, ["risk.deadman": "2s", "market.stale_after": "10m",
                                                                                           "refresh.time": "1h"]),
                                credentials: server.credentials)
        #expect(try await waitUntil { await server.simulator.openOrders("BTCUSDT").count == 4 })
        // Silence: the streams are cut and no REST answer comes back (requests processed, replies lost).
        await server.simulator.cutStreams(refuse: true)
        await server.simulator.setFaults(try FaultPlan(spec: "lost=1"))
        #expect(try await waitUntil(20) { await manager.report(r.id)?.risk.binding?.limit == "risk.deadman" })
        #expect(try await waitUntil(20) { await server.simulator.openOrders("BTCUSDT").isEmpty }, "the orders are cancelled")
        #expect(try await waitUntil(10) { receiver.alerts.contains { $0["event"] as? String == "halted" } })
        #expect(try await waitUntil(10) { receiver.alerts.contains { $0["event"] as? String == "contact_lost" } }, "lost for longer than alerts.contact_after")
        let halted = try #require(receiver.alerts.first { $0["event"] as? String == "halted" })
        #expect((halted["message"] as? String)?.contains("risk.deadman") == true && halted["pair"] as? String == "BTCUSDT")
        // Back: the switch lifts itself and quoting resumes.
        await server.simulator.setFaults(.none)
        await server.simulator.cutStreams(refuse: false)
        #expect(try await waitUntil(30) { await server.simulator.openOrders("BTCUSDT").count == 4 }, "quoting resumes")
        #expect(await manager.report(r.id)?.risk.mode == .active)
        #expect(try await waitUntil(10) { receiver.alerts.contains { $0["event"] as? String == "resumed" } })
        #expect(try store.events(instance: r.id).contains { $0.message == "active again (market data and MEXC's answers are back); quoting resumes" })
        let report = try #require(await manager.report(r.id))
        _ = await manager.stop(r.id)
        try await expectReconciled(server, store, instance: r.id, start: (report.startBase, report.startQuote))
        // No secret in any payload.
        for body in receiver.bodies {
            let text = String(decoding: body, as: UTF8.self)
            #expect(!text.contains(server.credentials.key) && !text.contains(server.credentials.secret))
        }
        await server.stop()
    }
}
