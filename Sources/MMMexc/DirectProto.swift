import Foundation
import MMCore
import MMStrategy

/// The depth diff frame (`spot@public.aggre.depth.v3.api.pb@…`, MEXC's busiest stream: every 10
/// or 100 ms per pair) read straight from its protobuf bytes into decimals, without building
/// SwiftProtobuf's message objects and their strings first.
///
/// It answers only frames it reads completely and cleanly: anything else (another channel's
/// body, an unknown wire type, a malformed varint or length, a field twice where merging
/// would matter, text that is not a plain decimal or a version) gives nil, and
/// `StreamFrames.decode` decodes the frame the generic way, which also words the refusal. So
/// the two always agree, and the `StreamFrame` fuzz target checks that they do.
enum DirectProto {
    static func depthFrame(_ bytes: Data) -> StreamEvent? {
        bytes.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            return wrapper(&reader)
        }
    }

    /// `PushDataV3ApiWrapper` whose body is `publicAggreDepths` (field 313).
    private static func wrapper(_ r: inout WireReader) -> StreamEvent? {
        var channel: UnsafeRawBufferPointer?, symbol: UnsafeRawBufferPointer?
        var depth: DepthDiff?
        while !r.atEnd {
            guard let (field, wireType) = r.key() else { return nil }
            switch (field, wireType) {
            case (1, 2): guard let s = r.bytes(), isUTF8(s) else { return nil }; channel = s
            case (3, 2): guard let s = r.bytes(), isUTF8(s) else { return nil }; symbol = s
            case (4, 2): guard let s = r.bytes(), isUTF8(s) else { return nil }
            case (5, 0), (6, 0): guard r.varint() != nil else { return nil }
            case (313, 2):
                // A second body of the same field would be merged into the first: left to the generic decoder.
                guard depth == nil, let body = r.bytes() else { return nil }
                var inner = WireReader(body)
                guard let d = depths(&inner) else { return nil }
                depth = d
            case (1...6, _), (303...315, _): return nil  // another body, or a known field of the wrong type
            default: guard r.skip(wireType) else { return nil }
            }
        }
        guard let depth else { return nil }
        let name: String
        if let symbol {
            name = String(decoding: symbol, as: UTF8.self)
        } else {
            let text = channel.map { String(decoding: $0, as: UTF8.self) } ?? ""
            name = String(text.split(separator: "@").last ?? "")
        }
        return .depth(symbol: name, depth)
    }

    /// `PublicAggreDepthsV3Api`.
    private static func depths(_ r: inout WireReader) -> DepthDiff? {
        var asks: [BookLevel] = [], bids: [BookLevel] = []
        var from: Int64 = -1, to: Int64 = -1
        while !r.atEnd {
            guard let (field, wireType) = r.key() else { return nil }
            switch (field, wireType) {
            case (1, 2), (2, 2):
                guard let item = r.bytes() else { return nil }
                var inner = WireReader(item)
                guard let level = self.level(&inner) else { return nil }
                if field == 1 { asks.append(level) } else { bids.append(level) }
            case (3, 2): guard let s = r.bytes(), isUTF8(s) else { return nil }
            case (4, 2): guard let s = r.bytes(), let v = version(s) else { return nil }; from = v
            case (5, 2): guard let s = r.bytes(), let v = version(s) else { return nil }; to = v
            case (6, 0): guard r.varint() != nil else { return nil }
            case (1...6, _): return nil
            default: guard r.skip(wireType) else { return nil }
            }
        }
        // A version left out is the empty string, which the generic decoder refuses.
        guard from >= 0, to >= 0 else { return nil }
        return DepthDiff(fromVersion: from, toVersion: to, bids: bids, asks: asks)
    }

    /// `PublicAggreDepthV3ApiItem`: price and quantity, plain decimals.
    private static func level(_ r: inout WireReader) -> BookLevel? {
        var price: UnsafeRawBufferPointer?, quantity: UnsafeRawBufferPointer?
        while !r.atEnd {
            guard let (field, wireType) = r.key() else { return nil }
            switch (field, wireType) {
            case (1, 2): guard let s = r.bytes() else { return nil }; price = s
            case (2, 2): guard let s = r.bytes() else { return nil }; quantity = s
            case (1...2, _): return nil
            default: guard r.skip(wireType) else { return nil }
            }
        }
        guard let price, let quantity, let p = decimal(price), let q = decimal(quantity) else { return nil }
        return BookLevel(p, q)
    }

    private static func decimal(_ s: UnsafeRawBufferPointer) -> Dec? {
        let bytes = s.assumingMemoryBound(to: UInt8.self)
        guard !bytes.isEmpty else { return nil }
        return try? Dec.parse(utf8: bytes, maxDecimals: Dec.maxExchangeDecimals)
    }

    /// A version: digits only, as `Int64(text)` with `v >= 0` accepts them (a sign is left to
    /// the generic decoder).
    private static func version(_ s: UnsafeRawBufferPointer) -> Int64? {
        guard !s.isEmpty, s.count <= 18 else { return nil }
        var v: Int64 = 0
        for b in s {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int64(b - UInt8(ascii: "0"))
        }
        return v
    }

    /// Protobuf strings must be UTF-8: the generic decoder refuses a frame whose strings are not.
    private static func isUTF8(_ s: UnsafeRawBufferPointer) -> Bool {
        if s.allSatisfy({ $0 < 0x80 }) { return true }
        return String(validating: s.assumingMemoryBound(to: UInt8.self), as: UTF8.self) != nil
    }
}

/// Protobuf's wire format over borrowed bytes.
struct WireReader {
    private let base: UnsafeRawBufferPointer
    private var index = 0

    init(_ base: UnsafeRawBufferPointer) { self.base = base }

    var atEnd: Bool { index >= base.count }

    mutating func varint() -> UInt64? {
        var result: UInt64 = 0, shift: UInt64 = 0
        while index < base.count, shift < 64 {
            let b = base[index]
            index += 1
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// A field's number and wire type; nil for number 0 or beyond protobuf's 2^29 - 1.
    mutating func key() -> (Int, Int)? {
        guard let k = varint(), k >> 3 > 0, k >> 3 < 1 << 29 else { return nil }
        return (Int(k >> 3), Int(k & 7))
    }

    /// A length-delimited field's bytes.
    mutating func bytes() -> UnsafeRawBufferPointer? {
        guard let n = varint(), n <= UInt64(base.count - index) else { return nil }
        let start = index
        index += Int(n)
        return UnsafeRawBufferPointer(rebasing: base[start..<index])
    }

    /// Skips an unknown field of the given wire type (groups are left to the generic decoder).
    mutating func skip(_ wireType: Int) -> Bool {
        switch wireType {
        case 0: return varint() != nil
        case 1: guard base.count - index >= 8 else { return false }; index += 8; return true
        case 2: return bytes() != nil
        case 5: guard base.count - index >= 4 else { return false }; index += 4; return true
        default: return false
        }
    }
}
