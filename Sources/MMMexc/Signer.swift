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
        for byte in value.utf8 {
            if unreserved.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `k=v&k=v` in the given order.
    public static func query(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    /// Lowercase hex HMAC-SHA256 of `totalParams`, keyed with the secret.
    public static func signature(_ totalParams: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(totalParams.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
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
