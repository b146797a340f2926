import Crypto
import Foundation

/// MEXC's request signing: every parameter in the query string, in order, with `recvWindow`
/// and `timestamp` last; values percent-encoded with uppercase hex (RFC 3986 unreserved
/// characters kept); `signature` = lowercase hex HMAC-SHA256 of that string, keyed with the
/// secret, appended last.
public enum MEXCSigner {
    /// Whether a byte is an RFC 3986 unreserved character, by its value.
    static let unreserved: [Bool] = (0..<256).map { b in
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8.contains(UInt8(b))
    }
    static let hex = Array("0123456789ABCDEF".utf8)
    static let lowerHex = Array("0123456789abcdef".utf8)

    /// Percent-encodes with uppercase hex, keeping only RFC 3986 unreserved characters.
    public static func encode(_ value: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(value.utf8.count)
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func append(_ value: String, to out: inout [UInt8]) {
        for byte in value.utf8 {
            if unreserved[Int(byte)] {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    static func append(_ n: Int64, to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = n.magnitude, count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            } while v > 0
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    static func appendQuery(_ parameters: [(String, String)], to out: inout [UInt8]) {
        for (i, (name, value)) in parameters.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            append(name, to: &out)
            out.append(UInt8(ascii: "="))
            append(value, to: &out)
        }
    }

    /// `k=v&k=v` in the given order.
    public static func query(_ parameters: [(String, String)]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(parameters.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 } + 16)
        appendQuery(parameters, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex HMAC-SHA256 of `totalParams`, keyed with the secret.
    public static func signature(_ totalParams: String, secret: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(64)
        SigningKey(secret: secret).appendSignature(of: Array(totalParams.utf8), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The whole signed query string: parameters, `recvWindow`, `timestamp`, then `signature`.
    public static func signedQuery(_ parameters: [(String, String)], timestamp: Int64, recvWindow: Int? = 5000,
                                   secret: String) -> String {
        signedQuery(parameters, timestamp: timestamp, recvWindow: recvWindow, key: SigningKey(secret: secret))
    }

    /// The same with a key made once (as the client holds it): the query is written once, as
    /// bytes, and signed in place.
    public static func signedQuery(_ parameters: [(String, String)], timestamp: Int64, recvWindow: Int? = 5000,
                                   key: SigningKey) -> String {
        var out = [UInt8]()
        out.reserveCapacity(parameters.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 } + 128)
        appendQuery(parameters, to: &out)
        if let recvWindow {
            if !out.isEmpty { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: "recvWindow=".utf8)
            append(Int64(recvWindow), to: &out)
        }
        if !out.isEmpty { out.append(UInt8(ascii: "&")) }
        out.append(contentsOf: "timestamp=".utf8)
        append(timestamp, to: &out)
        let signed = out.count
        out.append(contentsOf: "&signature=".utf8)
        key.appendSignature(of: out[..<signed], to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// An API secret made ready to sign with: HMAC's keyed state, computed once instead of at
/// every request (the secret's padding and the two inner hashes it starts). Sendable by hand:
/// the keyed state is never changed, only copied (value semantics) and the copy updated.
public struct SigningKey: @unchecked Sendable {
    private let keyed: HMAC<SHA256>

    public init(secret: String) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
    }

    /// Appends the lowercase hex HMAC-SHA256 of `message`.
    func appendSignature(of message: some DataProtocol, to out: inout [UInt8]) {
        var mac = keyed
        mac.update(data: message)
        for byte in mac.finalize() {
            out.append(MEXCSigner.lowerHex[Int(byte >> 4)])
            out.append(MEXCSigner.lowerHex[Int(byte & 0x0F)])
        }
    }
}
