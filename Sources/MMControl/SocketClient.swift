import Foundation

/// Why the engine could not be reached or spoken to, in words.
public struct ControlError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The socket is missing or nobody listens on it (no engine runs).
    public var noEngine: Bool
    public init(_ message: String, noEngine: Bool = false) { self.message = message; self.noEngine = noEngine }
    public var description: String { message }
}

/// A connection to the engine's Unix socket, with plain blocking POSIX calls: the client is a
/// short-lived process, and its start-up must stay in milliseconds (no event loops to spin up).
public final class SocketConnection {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(path: String) throws(ControlError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ControlError("the socket path \(path) is too long for a Unix socket (over 107 bytes); set MMSH_HOME to a shorter directory")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ControlError("cannot create a socket: \(String(cString: strerror(errno)))") }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw ControlError("cannot reach the engine at \(path): \(String(cString: strerror(e)))",
                               noEngine: e == ENOENT || e == ECONNREFUSED)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    public func write(_ bytes: [UInt8]) throws(ControlError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ControlError("the engine closed the connection (\(String(cString: strerror(errno))))")
            }
            offset += n
        }
    }

    /// Bytes waiting to be read, or whether the socket is readable within `timeout` ms (-1: wait).
    public func readable(timeoutMs: Int32) -> Bool {
        if !buffer.isEmpty { return true }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, timeoutMs) > 0
    }

    /// Reads more into the buffer; false at the end of the stream.
    private func fill() throws(ControlError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw ControlError("lost the connection to the engine (\(String(cString: strerror(errno))))") }
            if n == 0 { return false }
            buffer += chunk[0..<n]
            return true
        }
    }

    public func read(exactly count: Int) throws(ControlError) -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw ControlError("the engine closed the connection") }
        }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    /// Reads through the next `terminator`; what came before it (with it, if `keeping`).
    private func read(through terminator: [UInt8], keeping: Bool, ending: String) throws(ControlError) -> String {
        while true {
            if let r = buffer.firstRange(of: terminator) {
                let text = String(decoding: buffer[0..<(keeping ? r.upperBound : r.lowerBound)], as: UTF8.self)
                buffer.removeFirst(r.upperBound)
                return text
            }
            guard buffer.count < 1 << 20, try fill() else { throw ControlError(ending) }
        }
    }

    /// Reads up to and including the blank line that ends HTTP headers.
    public func readHead() throws(ControlError) -> String {
        try read(through: [13, 10, 13, 10], keeping: true, ending: "the engine closed the connection before answering")
    }

    /// One line ending in CRLF, without it.
    public func readLine() throws(ControlError) -> String {
        try read(through: [13, 10], keeping: false, ending: "the engine closed the connection")
    }

    /// Ends the connection from another thread: a read waiting on it returns at once.
    public func abort() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Everything until the peer closes.
    public func readToEnd() throws(ControlError) -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }
}

/// One HTTP/1.1 request to the engine's API over its socket, for short calls (`daemon status`, `daemon stop`).
public enum ControlHTTP {
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
    }

    public static func request(socket path: String, method: String, path target: String, body: String? = nil) throws(ControlError) -> Answer {
        let connection = try SocketConnection(path: path)
        var request = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        request += "\r\n"
        try connection.write(Array((request + (body ?? "")).utf8))
        let head = Head(try connection.readHead())
        let status = head.status
        var bytes: [UInt8]
        if let length = head.contentLength {
            bytes = try connection.read(exactly: length)
        } else if head.chunked {
            bytes = dechunk(try connection.readToEnd())
        } else {
            bytes = try connection.readToEnd()
        }
        return Answer(status: status, body: String(decoding: bytes, as: UTF8.self))
    }

    /// What an answer's head says of its body.
    public struct Head: Sendable {
        public var status: Int
        public var contentLength: Int?
        public var chunked: Bool
        public init(_ text: String) {
            status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
            let lines = text.lowercased().split(separator: "\r\n")
            contentLength = lines.first(where: { $0.hasPrefix("content-length:") })
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
            chunked = lines.contains { $0.hasPrefix("transfer-encoding:") && $0.contains("chunked") }
        }
    }

    static func dechunk(_ raw: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while i < raw.count {
            guard let lineEnd = raw[i...].firstRange(of: [13, 10]) else { break }
            let size = Int(String(decoding: raw[i..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd.upperBound
            out += raw[start..<min(raw.count, start + size)]
            i = start + size + 2
        }
        return out
    }
}
