import Foundation
import HTTPTypes
import Hummingbird
import MMControl
import MMCore
import MMEngine
import MMShell
import NIOCore

/// An API error: a stable code and the same one-line message the shell prints.
struct HTTPFailure: Error {
    var status: HTTPResponse.Status
    var code: String
    var message: String

    var response: Response {
        let body = "{\"error\":{\"code\":\(JSONText.quote(code)),\"message\":\(JSONText.quote(message))}}\n"
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A shell (API) error as the HTTP API answers it: its kind decides the status and code.
    init(_ e: ShellError) {
        message = e.message
        code = e.code
        switch e.kind {
        case .usage: status = .badRequest
        case .notFound: status = .notFound
        case .conflict: status = .conflict
        case .locked: status = HTTPResponse.Status(code: 423, reasonPhrase: "Locked")
        case .interrupted: status = .requestTimeout
        case .failure, .reported:
            // Commands that state their failure in words only, until each names its kind.
            if e.message.hasPrefix("there is no instance") { (status, code) = (.notFound, "not_found") }
            else if e.message.contains("running already") || e.message.contains("is not running") { (status, code) = (.conflict, "conflict") }
            else { status = .unprocessableContent }
        }
    }

    init(status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}

enum JSONText {
    static func quote(_ s: String) -> String {
        let data = (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension EngineService {
    /// Every path of the API. `openapi.json` describes each; a test holds the two together.
    public static let paths: [(method: String, path: String)] = [
        ("GET", "/v1/openapi.json"), ("GET", "/v1/daemon"), ("POST", "/v1/daemon/stop"), ("POST", "/v1/daemon/token"),
        ("GET", "/v1/instances"), ("GET", "/v1/instances/{id}"), ("POST", "/v1/instances/{id}/start"),
        ("POST", "/v1/instances/{id}/stop"), ("POST", "/v1/instances/{id}/pause"), ("POST", "/v1/instances/{id}/resume"),
        ("POST", "/v1/halt"), ("GET", "/v1/instances/{id}/orders"), ("GET", "/v1/instances/{id}/fills"),
        ("GET", "/v1/instances/{id}/events"), ("GET", "/v1/instances/{id}/settings"), ("GET", "/v1/instances/{id}/book"),
        ("GET", "/v1/instances/{id}/trades"), ("GET", "/v1/instances/{id}/balance"), ("GET", "/v1/instances/{id}/pnl"),
        ("GET", "/v1/instances/{id}/market"), ("POST", "/v1/commands"),
        ("GET", "/metrics"), ("POST", "/v1/engine/{call}"),
    ]

    func routes(_ router: Router<EngineRequestContext>) {
        router.get("/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/v1/daemon") { _, _ in await self.describe() }
        router.post("/v1/daemon/stop") { _, _ in
            let running = await self.engine.manager.runningCount
            self.requestStop()
            return Self.json("{\"stopping\":true,\"running\":\(running)}\n", status: .accepted)
        }
        router.post("/v1/daemon/token") { _, _ in
            do {
                let token = try APIToken.create(in: self.directory.url)
                return Self.json("{\"token\":\(JSONText.quote(token))}\n", status: .ok)
            } catch {
                throw HTTPFailure(status: .internalServerError, code: "failed", message: "cannot write the token's file in \(self.directory.url.path)")
            }
        }
        router.get("/v1/instances") { _, _ in await self.command("status --json") }
        router.get("/v1/instances/{id}") { _, c in await self.command("status \(try Self.id(c)) --json") }
        router.post("/v1/instances/{id}/start") { _, c in await self.command("start \(try Self.id(c))", json: false) }
        router.post("/v1/instances/{id}/stop") { _, c in await self.command("stop \(try Self.id(c))", json: false) }
        router.post("/v1/instances/{id}/pause") { _, c in await self.command("pause \(try Self.id(c))", json: false) }
        router.post("/v1/instances/{id}/resume") { _, c in await self.command("resume \(try Self.id(c))", json: false) }
        router.post("/v1/halt") { _, _ in await self.command("halt all", json: false) }
        router.get("/v1/instances/{id}/orders") { _, c in await self.command("orders \(try Self.id(c)) --json") }
        router.get("/v1/instances/{id}/fills") { r, c in
            let n = try Self.count(r, "limit")
            return await self.command("fills \(try Self.id(c))\(n.map { " -n \($0)" } ?? "") --json")
        }
        router.get("/v1/instances/{id}/events") { r, c in
            let n = try Self.count(r, "limit")
            return await self.command("log \(try Self.id(c))\(n.map { " -n \($0)" } ?? "") --json")
        }
        router.get("/v1/instances/{id}/settings") { _, c in await self.command("show \(try Self.id(c)) --json") }
        router.get("/v1/instances/{id}/book") { r, c in
            let n = try Self.count(r, "depth")
            return await self.command("book \(try Self.id(c))\(n.map { " --depth \($0)" } ?? "") --json")
        }
        router.get("/v1/instances/{id}/trades") { r, c in
            let n = try Self.count(r, "limit")
            return await self.command("trades \(try Self.id(c))\(n.map { " -n \($0)" } ?? "") --json")
        }
        router.get("/v1/instances/{id}/balance") { _, c in await self.command("balance \(try Self.id(c)) --json") }
        router.get("/v1/instances/{id}/pnl") { r, c in
            let since = try Self.duration(r, "since")
            return await self.command("pnl \(try Self.id(c))\(since.map { " --since \($0)" } ?? "") --json")
        }
        router.get("/v1/instances/{id}/market") { r, c in
            let since = try Self.duration(r, "since")
            return await self.command("market \(try Self.id(c))\(since.map { " --since \($0)" } ?? "") --json")
        }
        router.post("/v1/commands") { request, _ in
            let line = try await Self.commandLine(request)
            return await self.command(line, json: false, wholeResult: true)
        }
        EngineCallRoutes.add(to: router, server: calls, activity: { self.touch() }, attached: { n in self.sessions.withLock { $0 += n } })
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: await EngineMetrics.render(self.engine, sessions: self.sessions.withLock { $0 },
                                                                                     uptime: Date().timeIntervalSince(self.startedAt)))))
        }
    }

    static func id(_ c: EngineRequestContext) throws -> Int {
        let text = c.parameters.get("id") ?? ""
        guard let id = Int(text), id > 0 else {
            throw HTTPFailure(status: .badRequest, code: "bad_request", message: "'\(text)' is not an instance id; ids are whole numbers from 1")
        }
        return id
    }

    static func count(_ r: Request, _ name: String) throws -> Int? {
        guard let text = r.uri.queryParameters.get(name) else { return nil }
        guard let n = Int(text), (1...1_000_000).contains(n) else {
            throw HTTPFailure(status: .badRequest, code: "bad_request", message: "\(name): '\(text)' is not a count from 1 to 1000000")
        }
        return n
    }

    /// A duration query parameter (`30m`, `24h`, `7d`), given to the command in its normal form.
    static func duration(_ r: Request, _ name: String) throws -> String? {
        guard let text = r.uri.queryParameters.get(name) else { return nil }
        guard let span = Units.parseDuration(String(text)), span.milliseconds > 0 else {
            throw HTTPFailure(status: .badRequest, code: "bad_request", message: "\(name): '\(text)' is not a duration such as 30m, 24h or 7d")
        }
        return span.description
    }

    /// The body of `POST /v1/commands`: `{"line": "..."}` and nothing else.
    static func commandLine(_ request: Request) async throws -> String {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 64 * 1024) } catch {
            throw HTTPFailure(status: .contentTooLarge, code: "too_large", message: "the request body is over 64 KiB")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw HTTPFailure(status: .badRequest, code: "bad_request", message: "the body must be a JSON object such as {\"line\": \"status --json\"}")
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "line" }) {
            throw HTTPFailure(status: .badRequest, code: "bad_request", message: "unknown field '\(unknown)'; the body takes only \"line\"")
        }
        guard let line = object["line"] as? String else {
            throw HTTPFailure(status: .badRequest, code: "bad_request", message: "\"line\" must be a string: the command to run")
        }
        return line
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Runs one command line in a shell of its own (no current instance, nobody to ask) and
    /// answers its JSON, or its result as `{"exit_code", "output", "errors"}`.
    func command(_ line: String, json: Bool = true, wholeResult: Bool = false) async -> Response {
        touch()
        let console = BufferConsole()
        let shell: Shell
        do { shell = try await Shell(api: engine, console: console, detachable: true, environment: options.environment) } catch {
            return HTTPFailure(error).response
        }
        let error = await shell.run(line: line, origin: .argument)
        let (out, err) = console.take()
        if wholeResult {
            let body = "{\"exit_code\":\(error?.exitCode ?? 0),\"output\":\(JSONText.quote(out)),\"errors\":\(JSONText.quote(err))}\n"
            return Self.json(body, status: error.map { HTTPFailure($0).status } ?? .ok)
        }
        if let error { return HTTPFailure(error).response }
        if json { return Self.json(out) }
        return Self.json("{\"message\":\(JSONText.quote(out.trimmingCharacters(in: .newlines)))}\n")
    }

    func describe() async -> Response {
        let running = await engine.manager.runningIds
        let body = """
            {"pid":\(getpid()),"data_directory":\(JSONText.quote(directory.url.path)),"started_at":\(JSONText.quote(LogTime.format(Int(startedAt.timeIntervalSince1970)))),\
            "uptime_seconds":\(Int(Date().timeIntervalSince(startedAt))),"sessions":\(sessions.withLock { $0 }),"running":\(running),\
            "idle_exit_seconds":\(options.idleExit.map { "\($0.components.seconds)" } ?? "null"),"api":"\(EngineFiles.apiVersion)"}

            """
        return Self.json(body)
    }
}

extension HTTPFailure: ResponseGenerator {
    func response(from request: Request, context: some RequestContext) throws -> Response { response }
}

extension HTTPFailure: HTTPResponseError {
    var headers: HTTPFields { [.contentType: "application/json"] }
    func body(allocator: ByteBufferAllocator) -> ByteBuffer? {
        ByteBuffer(string: "{\"error\":{\"code\":\(JSONText.quote(code)),\"message\":\(JSONText.quote(message))}}\n")
    }
}
