import Foundation
import MMCore

/// The order, account and myTrades answers (every placement, cancel, order lookup,
/// reconciliation and balance check) read straight from their bytes into the same values the
/// `Decodable` path makes, without JSONDecoder's intermediate tree.
///
/// As with the depth frames, the direct readers take only answers they read whole and plainly:
/// a string with an escape, a number with a fraction or an exponent where text is kept, a key
/// twice, a field of another type, anything malformed: they give nil and `decodeMEXC` decodes
/// the answer with JSONDecoder, which also words any refusal. So both paths always agree, and
/// the `RESTAnswer` fuzz target checks that they do.
enum DirectAnswers {
    /// Anything the direct reader leaves to JSONDecoder.
    struct Unusual: Error {}

    static func read<T>(_ data: Data, _ body: (inout DirectJSON) throws -> T) -> T? {
        data.withUnsafeBytes { raw in
            var json = DirectJSON(raw)
            do {
                let value = try body(&json)
                try json.end()
                return value
            } catch {
                return nil
            }
        }
    }

    static func array<T>(_ json: inout DirectJSON, _ element: (inout DirectJSON) throws -> T) throws -> [T] {
        try json.expect(UInt8(ascii: "["), "an array")
        var out: [T] = []
        if json.peek() == UInt8(ascii: "]") { json.i += 1; return out }
        repeat { out.append(try element(&json)) } while try json.more(closing: UInt8(ascii: "]"))
        return out
    }

    /// An object's members: `member` is called with each key's index in `keys` (nil for a key
    /// not listed, whose value is then skipped). A listed key twice is left to JSONDecoder.
    static func object(_ json: inout DirectJSON, keys: [StaticString], _ member: (Int, inout DirectJSON) throws -> Void) throws {
        try json.expect(UInt8(ascii: "{"), "an object")
        if json.peek() == UInt8(ascii: "}") { json.i += 1; return }
        var seen: UInt64 = 0
        repeat {
            let key = try json.stringRange()
            try json.expect(UInt8(ascii: ":"), "':'")
            if let k = keys.firstIndex(where: { json.isKey(key, $0) }) {
                guard seen & (1 << UInt64(k)) == 0 else { throw Unusual() }
                seen |= 1 << UInt64(k)
                try member(k, &json)
            } else {
                // An escaped key might spell a listed one once unescaped.
                if json.bytes[key].contains(UInt8(ascii: "\\")) { throw Unusual() }
                try json.skipValue()
            }
        } while try json.more(closing: UInt8(ascii: "}"))
    }
}

extension DirectJSON {
    /// `null`, consumed; false when the next value is something else.
    mutating func null() -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        return (try? literal("null")) != nil
    }

    /// A string without escapes, as valid UTF-8.
    mutating func plainString() throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw DirectAnswers.Unusual() }
        let range = try stringRange()
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        var ascii = true
        for b in raw {
            if b == UInt8(ascii: "\\") { throw DirectAnswers.Unusual() }
            if b >= 0x80 { ascii = false }
        }
        let utf8 = raw.assumingMemoryBound(to: UInt8.self)
        if ascii { return String(decoding: utf8, as: UTF8.self) }
        guard let s = String(validating: utf8, as: UTF8.self) else { throw DirectAnswers.Unusual() }
        return s
    }

    mutating func optionalString() throws -> String? { null() ? nil : try plainString() }

    mutating func bool() throws -> Bool {
        switch peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw DirectAnswers.Unusual()
        }
    }

    mutating func optionalBool() throws -> Bool? { null() ? nil : try bool() }

    /// A value kept as its text, as `FlexibleText` keeps it: a string, a whole number of 64
    /// bits written out, or a boolean's word.
    mutating func flexible() throws -> FlexibleText {
        switch peek() {
        case UInt8(ascii: "\"")?: return FlexibleText(text: try plainString())
        case UInt8(ascii: "t")?, UInt8(ascii: "f")?: return FlexibleText(text: try bool() ? "true" : "false")
        default:
            let range = try numberRange()
            let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
            // Fractions and exponents go through Foundation's Decimal on the JSONDecoder path.
            guard raw.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }),
                  let v = Int64(String(decoding: raw, as: UTF8.self)) else { throw DirectAnswers.Unusual() }
            return FlexibleText(text: String(v))
        }
    }

    mutating func optionalFlexible() throws -> FlexibleText? { null() ? nil : try flexible() }
}

extension OrderResponse {
    static let keys: [StaticString] = ["symbol", "orderId", "clientOrderId", "origClientOrderId", "price", "origQty",
                                       "executedQty", "status", "type", "side", "time", "transactTime"]

    static func direct(_ json: inout DirectJSON) throws -> OrderResponse {
        var symbol: String?, orderId: FlexibleText?, clientOrderId: String?, origClientOrderId: String?
        var price: FlexibleText?, origQty: FlexibleText?, executedQty: FlexibleText?, status: String?
        var type: String?, side: String?, time: FlexibleText?, transactTime: FlexibleText?
        try DirectAnswers.object(&json, keys: keys) { k, json in
            switch k {
            case 0: symbol = try json.plainString()
            case 1: orderId = try json.flexible()
            case 2: clientOrderId = try json.optionalString()
            case 3: origClientOrderId = try json.optionalString()
            case 4: price = try json.flexible()
            case 5: origQty = try json.flexible()
            case 6: executedQty = try json.optionalFlexible()
            case 7: status = try json.optionalString()
            case 8: type = try json.plainString()
            case 9: side = try json.plainString()
            case 10: time = try json.optionalFlexible()
            default: transactTime = try json.optionalFlexible()
            }
        }
        guard let symbol, let orderId, let price, let origQty, let type, let side else { throw DirectAnswers.Unusual() }
        return OrderResponse(symbol: symbol, orderId: orderId, clientOrderId: clientOrderId, origClientOrderId: origClientOrderId,
                             price: price, origQty: origQty, executedQty: executedQty, status: status, type: type, side: side,
                             time: time, transactTime: transactTime)
    }
}

extension AccountInfo {
    static func direct(_ json: inout DirectJSON) throws -> AccountInfo {
        var canTrade: Bool?, balances: [Balance]?
        try DirectAnswers.object(&json, keys: ["canTrade", "balances"]) { k, json in
            if k == 0 { canTrade = try json.optionalBool() } else { balances = try DirectAnswers.array(&json, Balance.direct) }
        }
        guard let balances else { throw DirectAnswers.Unusual() }
        return AccountInfo(canTrade: canTrade, balances: balances)
    }
}

extension AccountInfo.Balance {
    static func direct(_ json: inout DirectJSON) throws -> AccountInfo.Balance {
        var asset: String?, free: FlexibleText?, locked: FlexibleText?
        try DirectAnswers.object(&json, keys: ["asset", "free", "locked"]) { k, json in
            switch k {
            case 0: asset = try json.plainString()
            case 1: free = try json.flexible()
            default: locked = try json.flexible()
            }
        }
        guard let asset, let free, let locked else { throw DirectAnswers.Unusual() }
        return AccountInfo.Balance(asset: asset, free: free, locked: locked)
    }
}

extension AccountTrade {
    static let keys: [StaticString] = ["symbol", "id", "orderId", "price", "qty", "commission", "commissionAsset", "time",
                                       "isBuyer", "isMaker", "clientOrderId"]

    static func direct(_ json: inout DirectJSON) throws -> AccountTrade {
        var symbol: String?, id: FlexibleText?, orderId: FlexibleText?, price: FlexibleText?, qty: FlexibleText?
        var commission: FlexibleText?, commissionAsset: String?, time: FlexibleText?, isBuyer: Bool?, isMaker: Bool?
        var clientOrderId: String?
        try DirectAnswers.object(&json, keys: keys) { k, json in
            switch k {
            case 0: symbol = try json.plainString()
            case 1: id = try json.flexible()
            case 2: orderId = try json.flexible()
            case 3: price = try json.flexible()
            case 4: qty = try json.flexible()
            case 5: commission = try json.flexible()
            case 6: commissionAsset = try json.plainString()
            case 7: time = try json.flexible()
            case 8: isBuyer = try json.bool()
            case 9: isMaker = try json.bool()
            default: clientOrderId = try json.optionalString()
            }
        }
        guard let symbol, let id, let orderId, let price, let qty, let commission, let commissionAsset, let time, let isBuyer,
              let isMaker else { throw DirectAnswers.Unusual() }
        return AccountTrade(symbol: symbol, id: id, orderId: orderId, price: price, qty: qty, commission: commission,
                            commissionAsset: commissionAsset, time: time, isBuyer: isBuyer, isMaker: isMaker, clientOrderId: clientOrderId)
    }
}
