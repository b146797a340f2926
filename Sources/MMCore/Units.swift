import Foundation

/// Parsing and rendering of the units settings are written in. Every parser accepts what a trader
/// would type and renders back one normalized form, so `parse(render(x)) == x`.
public enum Units {
    // MARK: Percent

    /// `0.2%`, `20bp`, or a bare number meaning percent → the fraction (`0.002`).
    public static func parsePercent(_ text: String) -> Dec? {
        let t = text.trimmingSpaces.lowercased()
        if t.hasSuffix("%") {
            return Dec(String(t.dropLast()).trimmingSpaces).map { $0.divided(by: 100, scale: 20).normalized }
        }
        if t.hasSuffix("bp") || t.hasSuffix("bps") {
            let n = t.hasSuffix("bps") ? t.dropLast(3) : t.dropLast(2)
            return Dec(String(n).trimmingSpaces).map { $0.divided(by: 10_000, scale: 22).normalized }
        }
        return Dec(t).map { $0.divided(by: 100, scale: 20).normalized }
    }

    /// A fraction as a percentage: `0.002` → `0.2%`.
    public static func renderPercent(_ fraction: Dec) -> String { "\((fraction * 100).normalized)%" }

    // MARK: Duration

    /// `500ms`, `30s`, `5m`, `1h`, `1d`, compounds like `1m30s`, or a bare number of seconds.
    public static func parseDuration(_ text: String) -> TimeSpan? {
        let t = text.trimmingSpaces.lowercased()
        guard !t.isEmpty else { return nil }
        if let seconds = Dec(t) { return TimeSpan(seconds: seconds) }
        var total: Int128 = 0
        var rest = Substring(t)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Dec(String(number)), !value.isNegative else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let perUnit: Int
            switch unit {
            case "ms": perUnit = 1
            case "s", "sec": perUnit = 1000
            case "m", "min": perUnit = 60_000
            case "h": perUnit = 3_600_000
            case "d": perUnit = 86_400_000
            default: return nil
            }
            let ms = value * Dec(perUnit)
            guard ms.isMultiple(of: 1) else { return nil }  // finer than a millisecond
            total += ms.mantissa(atScale: ms.scale)! / powerOfTen(ms.scale)
            if total > Int128(Int64.max) { return nil }
        }
        return TimeSpan(milliseconds: Int64(total))
    }

    // MARK: Switch

    public static func parseSwitch(_ text: String) -> Bool? {
        switch text.trimmingSpaces.lowercased() {
        case "on", "true", "yes", "1": true
        case "off", "false", "no", "0": false
        default: nil
        }
    }

    // MARK: Symbol

    /// The quote assets MEXC's spot symbols end in, longest first so that `USDC` wins over `USD`-like tails.
    public static let quoteAssets = ["FDUSD", "USDT", "USDC", "USDE", "USD1", "TUSD", "BUSD", "BTC", "ETH", "EUR", "BRL", "TRY", "MX"]

    /// The base and quote assets of a normalized symbol (`BTCUSDT` → BTC, USDT), or nil when it
    /// ends in none of MEXC's quote assets.
    public static func assets(of symbol: String) -> (base: String, quote: String)? {
        for q in quoteAssets where symbol.hasSuffix(q) && symbol.count > q.count {
            return (String(symbol.dropLast(q.count)), q)
        }
        return nil
    }

    /// A number for people: rounded to `places` decimals (ties to even), with thousands separated by
    /// commas (`6,012.34`). Not for JSON, CSV or MEXC, which get exact plain decimals.
    public static func readable(_ d: Dec, places: Int) -> String {
        let text = d.rounded(places: places).text(places: places)
        let negative = text.hasPrefix("-")
        let unsigned = negative ? String(text.dropFirst()) : text
        let parts = unsigned.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole.removeLast(3)
        }
        grouped = whole + grouped
        if parts.count == 2 { grouped += "." + parts[1] }
        return (negative ? "-" : "") + grouped
    }

    /// `BTCUSDT`, `BTC/USDT`, `btc-usdt`, `btc_usdt` → `BTCUSDT`; nil when it cannot be a MEXC symbol.
    public static func normalizeSymbol(_ text: String) -> String? {
        let t = text.trimmingSpaces
        let separators: Set<Character> = ["/", "-", "_"]
        let parts = t.split(omittingEmptySubsequences: false) { separators.contains($0) }
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        let joined = parts.joined().uppercased()
        guard (2...20).contains(joined.count),
              joined.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        return joined
    }
}

/// A span of time in milliseconds.
public struct TimeSpan: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> TimeSpan { TimeSpan(milliseconds: m * 60_000) }
    public static func hours(_ h: Int64) -> TimeSpan { TimeSpan(milliseconds: h * 3_600_000) }
    public static func days(_ d: Int64) -> TimeSpan { TimeSpan(milliseconds: d * 86_400_000) }

    /// Whole milliseconds of a decimal number of seconds; nil when finer than a millisecond or negative.
    public init?(seconds: Dec) {
        let ms = seconds * 1000
        guard !ms.isNegative, ms.isMultiple(of: 1), ms < Dec(mantissa: Int128(Int64.max), scale: 0) else { return nil }
        self.milliseconds = Int64(ms.normalized.mantissa)
    }

    public var seconds: Double { Double(milliseconds) / 1000 }
    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.milliseconds < b.milliseconds }

    /// Normalized compound form: `1h30m`, `45s`, `1s500ms`, `0s`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds
        var out = ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            let n = rest / size
            if n > 0 { out += "\(n)\(unit)"; rest -= n * size }
        }
        return out
    }
}

/// One trading window, minutes after midnight (`end` may be 1440: midnight at its end);
/// `end < start` passes midnight.
public struct HoursWindow: Hashable, Sendable, CustomStringConvertible {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) { self.start = start; self.end = end }

    /// Whether the minute of the day falls inside: start inclusive, end exclusive.
    public func contains(minuteOfDay m: Int) -> Bool {
        start < end ? (m >= start && m < end) : (m >= start || m < end)
    }

    public var passesMidnight: Bool { end < start }

    public var description: String { "\(Self.hhmm(start))-\(Self.hhmm(end))" }

    static func hhmm(_ m: Int) -> String {
        let h = m / 60, mm = m % 60
        return (h < 10 ? "0" : "") + "\(h):" + (mm < 10 ? "0" : "") + "\(mm)"
    }

    /// `HH:MM-HH:MM[,HH:MM-HH:MM…]`; `24:00` is accepted as an end. Returns an error message on failure.
    public static func parseList(_ text: String) -> Result<[HoursWindow], HoursError> {
        let parts = text.trimmingSpaces.split(separator: ",", omittingEmptySubsequences: false)
        var windows: [HoursWindow] = []
        for part in parts {
            let p = part.trimmingSpaces
            let ends = p.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 2, let s = minutes(String(ends[0]), allow24: false),
                  let e = minutes(String(ends[1]), allow24: true) else { return .failure(.malformed(p)) }
            guard s != e else { return .failure(.empty(p)) }
            windows.append(HoursWindow(start: s, end: e))
        }
        return .success(windows)
    }

    public enum HoursError: Error, Equatable, Sendable {
        case malformed(String)
        case empty(String)
    }

    private static func minutes(_ t: String, allow24: Bool) -> Int? {
        let hm = t.trimmingSpaces.split(separator: ":", omittingEmptySubsequences: false)
        guard hm.count == 2, hm[0].count == 2, hm[1].count == 2,
              let h = Int(hm[0]), let m = Int(hm[1]), h >= 0, m >= 0, m < 60 else { return nil }
        if h == 24 && m == 0 && allow24 { return 1440 }
        return h < 24 ? h * 60 + m : nil
    }
}

/// A set of weekdays. Index 0 is Monday.
public struct WeekdaySet: Hashable, Sendable, CustomStringConvertible {
    public var days: Set<Int>
    public static let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    public static let all = WeekdaySet(days: Set(0..<7))

    public init(days: Set<Int>) { self.days = days }

    /// `all`, `mon-fri`, `sat,sun`, `mon,wed-fri`, `fri-mon` (ranges wrap the week).
    public static func parse(_ text: String) -> WeekdaySet? {
        let t = text.trimmingSpaces.lowercased()
        if t == "all" || t == "daily" { return .all }
        if t == "weekdays" { return WeekdaySet(days: Set(0..<5)) }
        if t == "weekends" || t == "weekend" { return WeekdaySet(days: [5, 6]) }
        var days = Set<Int>()
        for part in t.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.trimmingSpaces.split(separator: "-", omittingEmptySubsequences: false)
            guard let a = index(ends.first), ends.count <= 2 else { return nil }
            if ends.count == 1 { days.insert(a); continue }
            guard let b = index(ends.last) else { return nil }
            var d = a
            while true { days.insert(d); if d == b { break }; d = (d + 1) % 7 }
        }
        return days.isEmpty ? nil : WeekdaySet(days: days)
    }

    private static func index(_ s: Substring?) -> Int? {
        guard let s else { return nil }
        let key = String(s.trimmingSpaces.prefix(3))
        guard s.trimmingSpaces.count >= 3 else { return nil }
        let full = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        guard let i = names.firstIndex(of: key), full[i].hasPrefix(s.trimmingSpaces) else { return nil }
        return i
    }

    /// Canonical form: `all`, or runs of days (`mon-fri`, `mon,wed-fri`, `sat,sun`).
    public var description: String {
        if days.count == 7 { return "all" }
        var runs: [String] = []
        var i = 0
        while i < 7 {
            guard days.contains(i) else { i += 1; continue }
            var j = i
            while j + 1 < 7 && days.contains(j + 1) { j += 1 }
            runs.append(j - i >= 2 ? "\(Self.names[i])-\(Self.names[j])" : (i == j ? Self.names[i] : "\(Self.names[i]),\(Self.names[j])"))
            i = j + 1
        }
        return runs.joined(separator: ",")
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
