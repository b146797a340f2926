import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MMAPI
import NIOCore

/// `POST /v1/engine/{call}`: the typed engine API (`EngineWire`) that a shell in another
/// process calls through `RemoteEngine`.
enum EngineCallRoutes {
    /// Sweeps carry their plans in the body: as much as 100,000 combinations.
    static let maxBody = 64 << 20

    static func add<Context: RequestContext>(to router: Router<Context>, server: EngineCallServer,
                                             activity: @escaping @Sendable () -> Void = {},
                                             attached: @escaping @Sendable (Int) -> Void = { _ in }) {
        router.post("/v1/engine/{call}") { request, context in
            activity()
            let call = context.parameters.get("call") ?? ""
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: maxBody) } catch {
                throw HTTPFailure(status: .contentTooLarge, code: "too_large", message: "the request body is over \(maxBody >> 20) MiB")
            }
            let ticket = request.uri.queryParameters.get("ticket").map { String($0) }
            switch await server.answer(call, body: Data(buffer: body), ticket: ticket) {
            case .value(let status, let data):
                return Response(status: HTTPResponse.Status(code: status, reasonPhrase: ""), headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: data)))
            case .stream(let lines, let gone):
                // A client holding the notifications stream is an attached shell.
                let isSession = call == "notifications"
                if isSession { attached(1) }
                return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
                    defer { if isSession { attached(-1); activity() } }
                    for await line in lines {
                        do { try await writer.write(ByteBuffer(bytes: line)) } catch { gone(); return }
                    }
                    try? await writer.finish(nil)
                })
            }
        }
    }
}

/// The engine API on a socket of its own, for a given engine: what tests run the shell through.
public enum EngineCallListener {
    public static func serve(_ engine: any EngineAPI, socket path: String, onListening: @escaping @Sendable () -> Void) async throws {
        var logger = Logger(label: "mmsh.engine-calls")
        logger.logLevel = .critical
        let router = Router()
        EngineCallRoutes.add(to: router, server: EngineCallServer(engine: engine))
        unlink(path)
        let app = Application(router: router, configuration: .init(address: .unixDomainSocket(path: path)),
                              onServerRunning: { _ in onListening() }, logger: logger)
        try await app.run()
    }
}
