import Foundation

/// An attached shell's session with the engine: a WebSocket (RFC 6455) over the Unix socket,
/// written directly on the blocking connection. Only what the session needs: text frames,
/// fragments, ping and pong, close.
public final class SessionClient {
    let connection: SocketConnection
    public var fd: Int32 { connection.fd }

    public init(socket path: String) throws(ControlError) {
        connection = try SocketConnection(path: path)
        var key = [UInt8](repeating: 0, count: 16)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        let request = "GET /\(EngineFiles.apiVersion)/session HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try connection.write(Array(request.utf8))
        let head = try connection.readHead()
        guard head.hasPrefix("HTTP/1.1 101") else {
            let status = head.split(separator: "\r\n").first ?? ""
            throw ControlError("the engine refused the session (\(status))")
        }
    }

    public func send(_ frame: SessionFrame) throws(ControlError) {
        try sendFrame(opcode: 1, payload: Array(frame.encoded().utf8))
    }

    private func sendFrame(opcode: UInt8, payload: [UInt8]) throws(ControlError) {
        var header: [UInt8] = [0x80 | opcode]
        let n = payload.count
        if n < 126 {
            header.append(0x80 | UInt8(n))
        } else if n <= 0xFFFF {
            header += [0x80 | 126, UInt8(n >> 8), UInt8(n & 0xFF)]
        } else {
            header.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { header.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xFF)) }
        }
        // Client frames are masked (RFC 6455 §5.3).
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        header += mask
        var masked = payload
        for i in masked.indices { masked[i] ^= mask[i & 3] }
        try connection.write(header + masked)
    }

    /// Waits up to `timeoutMs` (-1: for ever) for the next frame; nil when none came in time.
    public func receive(timeoutMs: Int32 = -1) throws(ControlError) -> SessionFrame? {
        guard connection.readable(timeoutMs: timeoutMs) else { return nil }
        var message: [UInt8] = []
        while true {
            let h = try connection.read(exactly: 2)
            let fin = h[0] & 0x80 != 0, opcode = h[0] & 0x0F
            var length = UInt64(h[1] & 0x7F)
            if length == 126 {
                let b = try connection.read(exactly: 2)
                length = UInt64(b[0]) << 8 | UInt64(b[1])
            } else if length == 127 {
                length = try connection.read(exactly: 8).reduce(0) { $0 << 8 | UInt64($1) }
            }
            let mask = h[1] & 0x80 != 0 ? try connection.read(exactly: 4) : nil
            guard length < 1 << 30 else { throw ControlError("the engine sent a frame of \(length) bytes") }
            var payload = try connection.read(exactly: Int(length))
            if let mask { for i in payload.indices { payload[i] ^= mask[i & 3] } }
            switch opcode {
            case 0x8:
                throw ControlError("the engine ended the session")
            case 0x9:
                try sendFrame(opcode: 0xA, payload: payload)
                continue
            case 0xA:
                continue
            default:
                message += payload
            }
            if fin { break }
        }
        guard let frame = SessionFrame.decode(String(decoding: message, as: UTF8.self)) else {
            throw ControlError("the engine sent a frame this mmsh does not understand; is it a different version?")
        }
        return frame
    }

    public func close() {
        try? sendFrame(opcode: 0x8, payload: [0x03, 0xE8])
    }
}
