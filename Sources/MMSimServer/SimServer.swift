import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import MMCore
import MMMexc
import NIOCore

/// The request context of the simulator server: it keeps the connection, so that a fault can
/// close it without an answer.
struct SimRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// `mmsh sim serve`: MEXC's spot REST API on 127.0.0.1 over the sim venue's markets, with
/// injected faults.
public final class SimServer: Sendable {
    public let simulator: SimulatedMEXC
    let port: Int

    /// `now`: the server's clock in ms since the epoch (tests move it to provoke recvWindow errors).
    public init(options: SimServerOptions,
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws(SettingError) {
        simulator = try SimulatedMEXC(options: options, now: now)
        port = options.port
    }

    /// Serves until the task is cancelled; `onListening` gets the port (useful with port 0).
    /// REST and WebSocket share the port: `/ws` (with `?listenKey=` for the private channels)
    /// upgrades to MEXC's WebSocket API.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let simulator = self.simulator
        var logger = Logger(label: "mmsh.sim.serve")
        logger.logLevel = .critical
        let responder = CallbackResponder<SimRequestContext> { request, context in
            try await Self.respond(request, context, simulator)
        }
        let app = Application(responder: responder,
                              server: .http1WebSocketUpgrade { request, channel, _ in
                                  try await Self.upgrade(request, channel, simulator)
                              },
                              configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
                              logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            group.addTask {
                while !Task.isCancelled {
                    await simulator.publish()
                    try await Task.sleep(for: SimulatedMEXC.publishEvery)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// A WebSocket connection at `/ws`: frames from the simulator go out, the client's JSON
    /// requests come in. An unknown listenKey gets MEXC's plain-text refusal and the connection closes.
    static func upgrade(_ request: HTTPRequest, _ channel: any Channel, _ simulator: SimulatedMEXC) async throws
        -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let path = request.path ?? ""
        guard path == "/ws" || path.hasPrefix("/ws?"), await !simulator.refusingStreams else { return .dontUpgrade }
        let listenKey = URLComponents(string: path)?.queryItems?.first { $0.name == "listenKey" }?.value
        guard let (id, frames) = await simulator.openStream(listenKey: listenKey) else {
            return .upgrade([:]) { _, outbound, _ in
                try await outbound.write(.text("Invalid listen key"))
                try await outbound.close(.policyViolation, reason: "Invalid listen key")
            }
        }
        return .upgrade([:]) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await frame in frames {
                        switch frame {
                        case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                        case .text(let text): try await outbound.write(.text(text))
                        case .close:
                            // Dropped as a network would drop it: no close handshake.
                            try await channel.close()
                            return
                        }
                    }
                }
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    if case .text(let text) = message { await simulator.received(text, on: id) }
                }
                group.cancelAll()
            }
            await simulator.closeStream(id)
        }
    }

    static func respond(_ request: Request, _ context: SimRequestContext, _ simulator: SimulatedMEXC) async throws -> Response {
        let (delay, fault) = await simulator.nextFault(method: request.method.rawValue)
        if let delay { try await Task.sleep(for: delay) }
        switch fault {
        case .serverError:
            return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: "503 Service Temporarily Unavailable")))
        case .rateLimited:
            return Response(status: .tooManyRequests, headers: [.contentType: "application/json", .retryAfter: "1"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"code":429,"msg":"Too Many Requests"}"#)))
        case .drop:
            try await context.channel.close()
            throw CancellationError()
        case .lost, nil:
            // A body over 1 MiB (MEXC's requests are a few KB) gets HTTP's answer, not a 500.
            var body: ByteBuffer
            do { body = try await request.body.collect(upTo: 1 << 20) } catch {
                return Response(status: .contentTooLarge, headers: [.contentType: "application/json", .connection: "close"],
                                body: .init(byteBuffer: ByteBuffer(string: #"{"code":413,"msg":"Request Entity Too Large"}"#)))
            }
            let sim = SimRequest(method: request.method.rawValue, path: request.uri.path, rawQuery: request.uri.query ?? "",
                                 body: body.readString(length: body.readableBytes) ?? "",
                                 apiKey: request.headers[HTTPField.Name("X-MEXC-APIKEY")!])
            let answer = await simulator.handle(sim)
            if fault == .lost {
                // Processed, but the reply never arrives.
                try await context.channel.close()
                throw CancellationError()
            }
            var headers = HTTPFields()
            headers[.contentType] = answer.status == 200 || answer.body.hasPrefix("{") ? "application/json" : "text/plain"
            for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
            return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
    }
}
