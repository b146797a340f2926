import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
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
        // Heads are read whole up to 16 MiB, so that an oversized one gets its 414 or 431 from
        // `respond`. (Past the parser's limit a connection just closes: the WebSocket upgrade
        // decides the pipeline only after the head, so no handler of ours sees the parser's error.)
        let http1 = HTTP1Channel.Configuration(
            httpDecoderConfiguration: .init(maxHeaderFieldSize: RequestLimits.parsedHead, maxHeaderListSize: RequestLimits.parsedHead))
        let app = Application(responder: responder,
                              server: .http1WebSocketUpgrade(configuration: .init(http1: http1)) { request, channel, _ in
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
            // Oversized requests get HTTP's answer, never silence or a 500 (MEXC's requests are a few KB).
            if let refusal = RequestLimits.refusal(request) { return refusal }
            var body: ByteBuffer
            do { body = try await request.body.collect(upTo: RequestLimits.body) } catch {
                return RequestLimits.answer(.contentTooLarge, "Request Entity Too Large")
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

/// What the simulator takes in one request, as a web front such as MEXC's does: a request line
/// of at most 16 KiB (414 beyond), header fields of at most 16 KiB each and 64 KiB in all
/// (431 beyond), a body of at most 1 MiB (413 beyond).
enum RequestLimits {
    static let target = 16 << 10
    static let field = 16 << 10
    static let head = 64 << 10
    static let body = 1 << 20
    /// What the HTTP parser reads before it gives up on a head.
    static let parsedHead = 16 << 20

    static func refusal(_ request: Request) -> Response? {
        if (request.head.path?.utf8.count ?? 0) > target { return answer(.uriTooLong, "Request-URI Too Large") }
        var total = 0
        for field in request.headers {
            let size = field.name.rawName.utf8.count + field.value.utf8.count + 4
            if size > Self.field { return answer(.requestHeaderFieldsTooLarge, "Request Header Fields Too Large") }
            total += size
        }
        if total > head { return answer(.requestHeaderFieldsTooLarge, "Request Header Fields Too Large") }
        return nil
    }

    static func answer(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .connection: "close"],
                 body: .init(byteBuffer: ByteBuffer(string: #"{"code":\#(status.code),"msg":"\#(message)"}"#)))
    }
}
