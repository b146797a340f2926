import Foundation
import MMCore

/// Reads MEXC's JSON answers straight from their bytes into exact decimals, for the answers
/// read most often (a depth snapshot at every stream (re)connection, every resync and every
/// poll): no intermediate strings or arrays, a few allocations an answer. It is strict JSON:
/// anything malformed is refused with `MEXCFailure.malformed`, as the decoder refuses it.
struct DirectJSON {
    let bytes: UnsafeRawBufferPointer
    var i = 0
    /// How deep skipped values may nest (a body of a million `[` is refused, not recursed into).
    static let maxDepth = 64

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    // Messages are made only when something fails (they are autoclosures): a level read makes none.
    func fail(_ what: @autoclosure () -> String) -> MEXCFailure { .malformed("\(what()) at byte \(i)") }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    /// The next byte after blanks, not consumed.
    mutating func peek() -> UInt8? {
        skipSpace()
        return i < bytes.count ? bytes[i] : nil
    }

    mutating func expect(_ c: UInt8, _ what: @autoclosure () -> String) throws(MEXCFailure) {
        guard peek() == c else { throw fail("expected \(what())") }
        i += 1
    }

    /// After a value inside an object or array: true when another member follows (`,`), false
    /// at the closing bracket.
    mutating func more(closing: UInt8) throws(MEXCFailure) -> Bool {
        switch peek() {
        case UInt8(ascii: ","): i += 1; return true
        case closing: i += 1; return false
        default: throw fail("expected ',' or '\(Character(UnicodeScalar(closing)))'")
        }
    }

    /// A string's raw bytes (between the quotes), checked as JSON checks them: escapes are
    /// JSON's own (kept as they are) and the text is UTF-8, also in values that are skipped.
    mutating func stringRange() throws(MEXCFailure) -> Range<Int> {
        try expect(UInt8(ascii: "\""), "a string")
        let start = i
        var ascii = true
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                defer { i += 1 }
                if !ascii, String(validating: bytes[start..<i], as: UTF8.self) == nil { throw fail("a string that is not UTF-8") }
                return start..<i
            }
            if b < 0x20 { throw fail("a control character in a string") }
            if b >= 0x80 { ascii = false }
            if b == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { break }
                switch bytes[i] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    break
                case UInt8(ascii: "u"):
                    guard let unit = hex4(at: i + 1) else { throw fail("a bad \\u escape") }
                    i += 4
                    // A surrogate only as the first half of a pair followed by its second half.
                    if unit >= 0xD800 && unit <= 0xDFFF {
                        guard unit <= 0xDBFF, i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u"),
                              let low = hex4(at: i + 3), low >= 0xDC00 && low <= 0xDFFF else { throw fail("a lone surrogate in a \\u escape") }
                        i += 6
                    }
                default:
                    throw fail("a bad escape in a string")
                }
            }
            i += 1
        }
        throw fail("an unterminated string")
    }

    /// The four hex digits at `k` as a UTF-16 unit.
    private func hex4(at k: Int) -> UInt16? {
        guard k + 4 <= bytes.count else { return nil }
        var v: UInt16 = 0
        for j in k..<(k + 4) {
            let b = bytes[j]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt16(digit)
        }
        return v
    }

    /// An object's key, compared with `name` without making a String.
    func isKey(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        let n = name.utf8Start
        for k in 0..<range.count where bytes[range.lowerBound + k] != n[k] { return false }
        return true
    }

    /// A bare JSON number's bytes, by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func numberRange() throws(MEXCFailure) -> Range<Int> {
        skipSpace()
        let start = i
        func digit() -> Bool { i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") }
        func digits() -> Int { var n = 0; while digit() { i += 1; n += 1 }; return n }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { throw fail("expected a value") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("a number's fraction has no digits") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("a number's exponent has no digits") }
        }
        return start..<i
    }

    /// A decimal sent as a string (`"60000.5"`) or as a bare number, exactly.
    mutating func decimal() throws(MEXCFailure) -> Dec {
        let quoted = peek() == UInt8(ascii: "\"")
        let range = quoted ? try stringRange() : try numberRange()
        let slice = UnsafeBufferPointer(rebasing: bytes.bindMemory(to: UInt8.self)[range])
        if let d = try? Dec.parse(utf8: slice, maxDecimals: Dec.maxExchangeDecimals) { return d }
        // A bare number with an exponent (`1E-8`): Foundation's Decimal writes it out in plain
        // digits, exactly. (Text is taken only as plain digits, as everywhere.)
        let text = String(decoding: slice, as: UTF8.self)
        if !quoted, text.contains(where: { $0 == "e" || $0 == "E" }), let plain = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")),
           let d = Dec(exchange: plain.description) {
            return d
        }
        throw .malformed("'\(text.prefix(40))' is not a decimal")
    }

    /// A whole number sent as a string or a bare number.
    mutating func int64(_ what: @autoclosure () -> String) throws(MEXCFailure) -> Int64 {
        let range = peek() == UInt8(ascii: "\"") ? try stringRange() : try numberRange()
        var v: Int64 = 0
        guard !range.isEmpty else { throw fail("\(what()): empty") }
        for k in range {
            let b = bytes[k]
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { throw fail("\(what()): not a whole number") }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(b - UInt8(ascii: "0")))
            guard !o1 && !o2 else { throw fail("\(what()): too large") }
            v = s
        }
        return v
    }

    /// Any value, skipped whole (checked as JSON on the way).
    mutating func skipValue(depth: Int = 0) throws(MEXCFailure) {
        guard depth < Self.maxDepth else { throw fail("values nested too deep") }
        switch peek() {
        case UInt8(ascii: "\"")?: _ = try stringRange()
        case UInt8(ascii: "{")?:
            i += 1
            if peek() == UInt8(ascii: "}") { i += 1; return }
            repeat {
                _ = try stringRange()
                try expect(UInt8(ascii: ":"), "':'")
                try skipValue(depth: depth + 1)
            } while try more(closing: UInt8(ascii: "}"))
        case UInt8(ascii: "[")?:
            i += 1
            if peek() == UInt8(ascii: "]") { i += 1; return }
            repeat { try skipValue(depth: depth + 1) } while try more(closing: UInt8(ascii: "]"))
        case UInt8(ascii: "t")?: try literal("true")
        case UInt8(ascii: "f")?: try literal("false")
        case UInt8(ascii: "n")?: try literal("null")
        default: _ = try numberRange()
        }
    }

    mutating func literal(_ word: StaticString) throws(MEXCFailure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("expected \(word)") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("expected \(word)") }
        i += n
    }

    /// Nothing but blanks may follow the value.
    mutating func end() throws(MEXCFailure) {
        skipSpace()
        guard i == bytes.count else { throw fail("something after the answer") }
    }
}

extension Depth {
    /// `GET /api/v3/depth` read straight from its bytes: `lastUpdateId` (a string or a number),
    /// `bids` and `asks` as `[[price, quantity], …]` (strings or numbers), other keys skipped.
    static func direct(_ data: Data) throws(MEXCFailure) -> Depth {
        let result: Result<Depth, MEXCFailure> = data.withUnsafeBytes { raw in
            var json = DirectJSON(raw)
            do throws(MEXCFailure) {
                var id: Int64?, bids: [(Dec, Dec)]?, asks: [(Dec, Dec)]?
                try json.expect(UInt8(ascii: "{"), "an object")
                if json.peek() != UInt8(ascii: "}") {
                    repeat {
                        let key = try json.stringRange()
                        try json.expect(UInt8(ascii: ":"), "':'")
                        if json.isKey(key, "lastUpdateId") { id = try json.int64("lastUpdateId") }
                        else if json.isKey(key, "bids") { bids = try levels(&json, "bids") }
                        else if json.isKey(key, "asks") { asks = try levels(&json, "asks") }
                        else { try json.skipValue() }
                    } while try json.more(closing: UInt8(ascii: "}"))
                } else {
                    json.i += 1
                }
                try json.end()
                guard let id else { throw MEXCFailure.malformed("Depth: no lastUpdateId") }
                guard let bids, let asks else { throw MEXCFailure.malformed("Depth: no \(bids == nil ? "bids" : "asks")") }
                return .success(Depth(lastUpdateId: id, bidLevels: bids, askLevels: asks))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func levels(_ json: inout DirectJSON, _ side: String) throws(MEXCFailure) -> [(Dec, Dec)] {
        var out: [(Dec, Dec)] = []
        out.reserveCapacity(128)
        try json.expect(UInt8(ascii: "["), "\(side): an array")
        if json.peek() == UInt8(ascii: "]") { json.i += 1; return out }
        repeat {
            try json.expect(UInt8(ascii: "["), "\(side): a level [price, quantity]")
            let price = try json.decimal()
            try json.expect(UInt8(ascii: ","), "\(side): a level's quantity")
            let quantity = try json.decimal()
            // MEXC sends two values a level; anything beyond is skipped, as the decoder skipped it.
            while try json.more(closing: UInt8(ascii: "]")) { try json.skipValue() }
            out.append((price, quantity))
        } while try json.more(closing: UInt8(ascii: "]"))
        return out
    }
}
