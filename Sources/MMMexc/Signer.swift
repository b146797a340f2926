import Crypto
import Foundation

/// MEXC's request signing: every parameter in the query string, in order, with `recvWindow`
/// and `timestamp` last; values percent-encoded with uppercase hex (RFC 3986 unreserved
/// characters kept); `signature` = lowercase hex HMAC-SHA256 of that string, keyed with the
/// secret, appended last.
public enum MEXCSigner {
    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
    static let hex = Array("0123456789ABCDEF".utf8)

    /// Percent-encodes with uppercase hex, keeping only RFC 3986 unreserved characters.
    public static func encode(_ value: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(value.utf8.count)
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func append(_ value: String, to out: inout [UInt8]) {
        for byte in value.utf8 {
            if unreserved.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    /// `k=v&k=v` in the given order.
    public static func query(_ parameters: [(String, String)]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(parameters.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 } + 16)
        for (i, (name, value)) in parameters.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            append(name, to: &out)
            out.append(UInt8(ascii: "="))
            append(value, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex HMAC-SHA256 of `totalParams`, keyed with the secret.
    public static func signature(_ totalParams: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(totalParams.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let lower = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in mac {
            out.append(lower[Int(byte >> 4)])
            out.append(lower[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The whole signed query string: parameters, `recvWindow`, `timestamp`, then `signature`.
    public static func signedQuery(_ parameters: [(String, String)], timestamp: Int64, recvWindow: Int? = 5000,
                                   secret: String) -> String {
        var all = parameters
        if let recvWindow { all.append(("recvWindow", "\(recvWindow)")) }
        all.append(("timestamp", "\(timestamp)"))
        let total = query(all)
        return total + "&signature=" + signature(total, secret: secret)
    }
}
