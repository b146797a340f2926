import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MMControl
import MMCore
import NIOCore

/// The bearer token of the TCP listener. Only its SHA-256 is kept (in `api-token.sha256`, 0600,
/// in the data directory): the token itself is shown once, when `mmsh daemon token` makes it,
/// and is never written to a log or another answer.
enum APIToken {
    static let file = "api-token.sha256"

    /// A new token (256 random bits, hex); the old one stops working.
    static func create(in directory: URL) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let token = "mmsh_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let path = directory.appendingPathComponent(file).path
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission) }
        let line = digest(token) + "\n"
        let written = line.withCString { write(fd, $0, strlen($0)) }
        fsync(fd)
        close(fd)
        guard written == line.utf8.count, rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return token
    }

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `presented` is the current token; compared in constant time.
    static func verify(_ presented: String, in directory: URL) -> Bool {
        guard let stored = try? String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8) else { return false }
        let expected = Array(stored.trimmingCharacters(in: .whitespacesAndNewlines).utf8), given = Array(digest(presented).utf8)
        guard expected.count == given.count, !expected.isEmpty else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(expected, given) { difference |= a ^ b }
        return difference == 0
    }

    static func exists(in directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path)
    }
}

/// Requests over TCP need `Authorization: Bearer TOKEN`: no token, no access.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = EngineRequestContext
    let directory: URL
    let stopping: @Sendable () -> Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/v1/daemon/token" {
            return HTTPFailure(status: .forbidden, code: "forbidden", message: "a token is made only over the Unix socket: run 'mmsh daemon token' on the engine's machine").response
        }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), APIToken.verify(String(header.dropFirst("Bearer ".count)), in: directory) else {
            let message = APIToken.exists(in: directory)
                ? "a valid API token is needed: send 'Authorization: Bearer TOKEN' ('mmsh daemon token' makes a new one)"
                : "no API token exists yet: 'mmsh daemon token' makes one; send it as 'Authorization: Bearer TOKEN'"
            var response = HTTPFailure(status: .unauthorized, code: "unauthorized", message: message).response
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await SameUserMiddleware(stopping: stopping, checkPeer: false).handle(request, context: context, next: next)
    }
}

extension EngineService {
    /// Serves the API on `option api.listen` while it is set: started, moved or stopped as the
    /// option changes (every change goes through the engine, which says so; nothing polls).
    func serveTCP() async {
        var current: (address: String, server: GracefulServer, task: Task<Void, Never>)?
        var changes = engine.optionChanged.makeAsyncIterator()
        repeat {
            let wanted = (try? engine.store.options())?["api.listen"].flatMap { ListenAddress($0) }
            if wanted?.description != current?.address {
                if let current {
                    await current.server.stop()
                    await current.task.value
                }
                current = nil
                if let wanted {
                    let server = listener(on: wanted)
                    current = (wanted.description, server, Task { await Self.serve(server, on: wanted) })
                }
            }
        } while await changes.next() != nil && !Task.isCancelled
        if let current {
            await current.server.stop()
            await current.task.value
        }
    }

    static func serve(_ server: GracefulServer, on address: ListenAddress) async {
        do { try await server.run() } catch is CancellationError {} catch {
            FileHandle.standardError.write(Data("\(LogTime.now()) mmsh engine: cannot serve http://\(address): \(error)\n".utf8))
        }
    }

    func listener(on address: ListenAddress) -> GracefulServer {
        var logger = Logger(label: "mmsh.engine.tcp")
        logger.logLevel = .critical
        let router = Router(context: EngineRequestContext.self)
        router.add(middleware: BearerTokenMiddleware(directory: directory.url, stopping: { [weak self] in self?.isStopping ?? true }))
        routes(router)
        let app = Application(router: router,
                              server: .http1(),
                              configuration: .init(address: .hostname(address.host, port: address.port)),
                              onServerRunning: { _ in
                                  FileHandle.standardError.write(Data("\(LogTime.now()) mmsh engine \(getpid()) also serving http://\(address) (bearer token)\n".utf8))
                              },
                              logger: logger)
        return GracefulServer(app, logger: logger)
    }
}
