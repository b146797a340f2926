import CCurl
import Dispatch
import Foundation

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    /// A body (webhooks); MEXC's own requests carry their parameters in the query string.
    public var body: String?
    public init(method: String, url: String, headers: [(String, String)] = [], body: String? = nil) {
        self.body = body
        self.method = method
        self.url = url
        self.headers = headers
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names in lowercase.
    public var headers: [String: String]
    public var body: Data
    public init(status: Int, headers: [String: String] = [:], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Sends one HTTP request; a failure to get any answer is `MEXCFailure.network`.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws(MEXCFailure) -> HTTPResponse
}

/// HTTP over libcurl: one easy handle, so one connection kept alive and reused for the host
/// (HTTP/2 where the server offers it over TLS), TCP_NODELAY, connect and total timeouts.
/// Requests run one at a time on the transport's own thread, never on the cooperative pool,
/// so a slow exchange never blocks an actor's executor.
public final class CurlTransport: HTTPTransport, @unchecked Sendable {
    private let queue: DispatchQueue
    // Touched only on `queue`.
    private let handle: UnsafeMutableRawPointer
    public let connectTimeout: Duration
    public let totalTimeout: Duration

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(connectTimeout: Duration = .seconds(5), totalTimeout: Duration = .seconds(10), label: String = "mmsh.curl") {
        _ = Self.globalInit
        self.queue = DispatchQueue(label: label)
        self.handle = curl_easy_init()!
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }

    deinit { curl_easy_cleanup(handle) }

    public func send(_ request: HTTPRequest) async throws(MEXCFailure) -> HTTPResponse {
        let result: Result<HTTPResponse, MEXCFailure> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.perform(request)) }
        }
        return try result.get()
    }

    /// Collects the body and headers of one transfer; curl's callbacks reach it through a pointer.
    private final class Sink {
        var body = Data()
        var headers: [String: String] = [:]
    }

    private func perform(_ request: HTTPRequest) -> Result<HTTPResponse, MEXCFailure> {
        let h = handle
        curl_easy_reset(h)
        let sink = Sink()
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers { list = curl_slist_append(list, "\(name): \(value)") }
        // curl adds "Expect: 100-continue" to some requests; an empty Expect keeps one round trip.
        list = curl_slist_append(list, "Expect:")
        defer { curl_slist_free_all(list) }
        func ms(_ d: Duration) -> Int { Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) }

        mmsh_curl_setopt_string(h, CURLOPT_URL, request.url)
        mmsh_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method)
        if request.method == "POST" || request.method == "PUT" {
            // Every parameter travels in the query string; the body stays empty.
            mmsh_curl_setopt_long(h, CURLOPT_POST, 1)
            if let body = request.body {
                mmsh_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE, body.utf8.count)
                mmsh_curl_setopt_string(h, CURLOPT_COPYPOSTFIELDS, body)
            } else {
                mmsh_curl_setopt_string(h, CURLOPT_POSTFIELDS, "")
                mmsh_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE, 0)
            }
        }
        mmsh_curl_setopt_slist(h, CURLOPT_HTTPHEADER, list)
        mmsh_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        mmsh_curl_setopt_long(h, CURLOPT_TCP_NODELAY, 1)
        mmsh_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        mmsh_curl_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        mmsh_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, ms(connectTimeout))
        mmsh_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, ms(totalTimeout))
        mmsh_curl_setopt_string(h, CURLOPT_ACCEPT_ENCODING, "")
        mmsh_curl_setopt_pointer(h, CURLOPT_WRITEDATA, context)
        mmsh_curl_setopt_callback(h, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if let data, n > 0 { sink.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: n) }
            return n
        }
        mmsh_curl_setopt_pointer(h, CURLOPT_HEADERDATA, context)
        mmsh_curl_setopt_callback(h, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if let data, n > 0 {
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
                if let colon = line.firstIndex(of: ":") {
                    let name = line[..<colon].lowercased()
                    sink.headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                } else if line.hasPrefix("HTTP/") {
                    sink.headers = [:]  // a new response (after a redirect or 100 Continue)
                }
            }
            return n
        }
        let code = curl_easy_perform(h)
        guard code == CURLE_OK else {
            return .failure(.network(String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        mmsh_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
    }
}
