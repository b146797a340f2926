import Foundation

/// A parsed, validated setting value.
public enum SettingValue: Hashable, Sendable {
    /// An optional limit that is switched off.
    case off
    case decimal(Dec)
    /// A fraction: `0.2%` is `.percent(0.002)`.
    case percent(Dec)
    case duration(TimeSpan)
    case bool(Bool)
    case integer(Int)
    /// Choices, names, symbols, URLs and time zones, in canonical form.
    case text(String)
    case hours([HoursWindow])
    case days(WeekdaySet)
    case horizon(Horizon)
    /// `nil` is `random`.
    case seed(UInt64?)

    public var decimal: Dec? { if case .decimal(let d) = self { d } else { nil } }
    public var fraction: Dec? { if case .percent(let d) = self { d } else { nil } }
    public var duration: TimeSpan? { if case .duration(let d) = self { d } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var integer: Int? { if case .integer(let i) = self { i } else { nil } }
    public var text: String? { if case .text(let s) = self { s } else { nil } }
    public var isOff: Bool { self == .off }
}

/// A bound on a decimal or percentage.
public struct Bound: Sendable, Hashable {
    public var value: Dec
    public var inclusive: Bool
    public static func atLeast(_ v: Dec) -> Bound { Bound(value: v, inclusive: true) }
    public static func above(_ v: Dec) -> Bound { Bound(value: v, inclusive: false) }
    public static func atMost(_ v: Dec) -> Bound { Bound(value: v, inclusive: true) }
    public static func below(_ v: Dec) -> Bound { Bound(value: v, inclusive: false) }
}

/// What a setting accepts.
public enum SettingKind: Sendable {
    case choice([String])
    /// A name of `[A-Za-z0-9_-]`, 1–32 characters.
    case name
    case symbol
    /// A decimal; `unit` names it in `settings` (amount, price, decimal).
    case decimal(unit: String, min: Bound?, max: Bound?)
    case percent(min: Bound?, max: Bound?)
    case integer(ClosedRange<Int>)
    case duration(min: TimeSpan, max: TimeSpan)
    case toggle
    case hoursWindows
    case weekdays
    case timeZone
    case seed
    case url(schemes: [String])
    /// Some of the choices, comma-separated, or `all`; stored in the choices' order.
    case choiceList([String])
    /// A TCP address to listen on: an IPv4 address, `localhost` or `[IPv6]`, a colon and a port.
    case address
    /// An Avellaneda–Stoikov horizon: infinite, a daily window or a fixed one.
    case horizon
}

public struct SettingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// When a changed setting takes effect on a running instance.
public enum SettingTiming: String, Sendable {
    case nextDecision = "next decision"
    case nextStart = "next start"
    /// Refused while the instance runs.
    case whileStopped = "while stopped"
}

/// One setting: its key, what it accepts, its default and a line of help.
public struct SettingSpec: Sendable {
    public var key: String
    public var kind: SettingKind
    /// Whether `off` is accepted (an optional limit).
    public var optional: Bool
    public var defaultValue: SettingValue
    public var help: String

    public init(_ key: String, _ kind: SettingKind, optional: Bool = false, default defaultValue: SettingValue, _ help: String) {
        self.key = key
        self.kind = kind
        self.optional = optional
        self.defaultValue = defaultValue
        self.help = help
    }

    /// When a change reaches a running instance.
    public var applies: SettingTiming { Catalog.timing(key) }

    /// Most decimals a decimal setting takes (MEXC's finest ticks and steps have fewer).
    public static let maxDecimals = 12

    /// The type column of `settings`.
    public var typeName: String {
        let base: String
        switch kind {
        case .choice: base = "choice"
        case .name: base = "name"
        case .symbol: base = "symbol"
        case .decimal(let unit, _, _): base = unit
        case .percent: base = "percent"
        case .integer: base = "integer"
        case .duration: base = "duration"
        case .toggle: base = "on/off"
        case .hoursWindows: base = "hours"
        case .weekdays: base = "days"
        case .timeZone: base = "time zone"
        case .seed: base = "seed"
        case .url: base = "url"
        case .choiceList: base = "list"
        case .address: base = "address"
        case .horizon: base = "horizon"
        }
        return optional ? base + "|off" : base
    }

    /// The accepted range, in words, for `settings` and error messages.
    public var rangeText: String {
        var out: String
        switch kind {
        case .choice(let c): out = c.joined(separator: ", ")
        case .name: out = "letters, digits, _ and -, 1–32 long"
        case .symbol: out = "a MEXC symbol such as BTCUSDT, BTC/USDT or btc-usdt"
        case .decimal(_, let lo, let hi): out = Self.describe(lo, hi, render: { $0.description })
        case .percent(let lo, let hi): out = Self.describe(lo, hi, render: Units.renderPercent)
        case .integer(let r): out = "\(r.lowerBound)–\(r.upperBound)"
        case .duration(let lo, let hi): out = "\(lo)–\(hi)"
        case .toggle: out = "on, off"
        case .hoursWindows: out = "HH:MM-HH:MM[,HH:MM-HH:MM…]"
        case .weekdays: out = "all, mon-fri, sat,sun, …"
        case .timeZone: out = "UTC or an IANA zone such as Europe/Berlin"
        case .seed: out = "a whole number 0–\(UInt64.max), or random"
        case .url(let schemes): out = schemes.map { "\($0)://…" }.joined(separator: " or ")
        case .choiceList(let c): out = "all, or some of " + c.joined(separator: ",")
        case .address: out = "HOST:PORT, such as 127.0.0.1:9180 or [::1]:9180 (port 1–65535)"
        case .horizon: out = "infinite, HH:MM-HH:MM (daily) or YYYY-MM-DDTHH:MM/YYYY-MM-DDTHH:MM, in hours.tz"
        }
        if optional { out += ", or off" }
        return out
    }

    private static func describe(_ lo: Bound?, _ hi: Bound?, render: (Dec) -> String) -> String {
        switch (lo, hi) {
        case (nil, nil): return "any"
        case let (l?, nil): return (l.inclusive ? "≥ " : "> ") + render(l.value)
        case let (nil, h?): return (h.inclusive ? "≤ " : "< ") + render(h.value)
        case let (l?, h?):
            return (l.inclusive ? "≥ " : "> ") + render(l.value) + " and " + (h.inclusive ? "≤ " : "< ") + render(h.value)
        }
    }

    /// Parses and validates a value typed by the user.
    public func parse(_ raw: String) throws(SettingError) -> SettingValue {
        let text = raw.trimmingSpaces
        if text.isEmpty { throw SettingError("\(key): a value is needed; accepted: \(rangeText)") }
        if optional && text.lowercased() == "off" { return .off }
        func bad(_ what: String) -> SettingError {
            SettingError("\(key): '\(text)' is not \(what); accepted: \(rangeText)")
        }
        switch kind {
        case .choice(let choices):
            let lower = text.lowercased()
            if choices.contains(lower) { return .text(lower) }
            let hint = Suggest.closest(to: lower, in: choices).map { " (did you mean '\($0)'?)" } ?? ""
            throw SettingError("\(key): unknown value '\(text)'\(hint); accepted: \(rangeText)")
        case .name:
            guard (1...32).contains(text.count),
                  text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            else { throw bad("a valid name") }
            return .text(text)
        case .symbol:
            guard let s = Units.normalizeSymbol(text) else { throw bad("a symbol") }
            return .text(s)
        case .decimal(let unit, let lo, let hi):
            guard let d = Dec(text) else { throw bad(unit == "amount" ? "an amount" : unit == "quote" ? "an amount in quote" : "a \(unit)") }
            guard d.decimalPlaces <= Self.maxDecimals else {
                throw SettingError("\(key): '\(text)' has more than \(Self.maxDecimals) decimals; accepted: \(rangeText), at most \(Self.maxDecimals) decimals")
            }
            try check(d, lo, hi, render: { $0.description }, shown: text)
            return .decimal(d.normalized)
        case .percent(let lo, let hi):
            guard let f = Units.parsePercent(text) else { throw bad("a percentage (0.2%, 20bp or 0.2)") }
            try check(f, lo, hi, render: Units.renderPercent, shown: text)
            return .percent(f)
        case .integer(let range):
            guard let i = Int(text) else { throw bad("a whole number") }
            guard range.contains(i) else { throw SettingError("\(key): \(i) is out of range; accepted: \(rangeText)") }
            return .integer(i)
        case .duration(let lo, let hi):
            guard let d = Units.parseDuration(text) else { throw bad("a duration (500ms, 30s, 5m, 1h, 1d)") }
            guard d >= lo && d <= hi else { throw SettingError("\(key): \(d) is out of range; accepted: \(rangeText)") }
            return .duration(d)
        case .toggle:
            guard let b = Units.parseSwitch(text) else { throw bad("on or off") }
            return .bool(b)
        case .hoursWindows:
            switch HoursWindow.parseList(text) {
            case .success(let w): return .hours(w)
            case .failure(.empty(let w)): throw SettingError("\(key): window '\(w)' starts and ends at the same time; accepted: \(rangeText)")
            case .failure(.malformed(let w)): throw SettingError("\(key): '\(w)' is not a window; accepted: \(rangeText)")
            }
        case .weekdays:
            guard let d = WeekdaySet.parse(text) else { throw bad("a set of days") }
            return .days(d)
        case .timeZone:
            if text.uppercased() == "UTC" { return .text("UTC") }
            guard text.contains("/") || text.count <= 5, let tz = TimeZone(identifier: text) else {
                throw bad("a known time zone")
            }
            return .text(tz.identifier)
        case .seed:
            if text.lowercased() == "random" { return .seed(nil) }
            guard let n = UInt64(text) else { throw bad("a seed") }
            return .seed(n)
        case .url(let schemes):
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), schemes.contains(scheme),
                  let host = url.host, !host.isEmpty, !text.contains(" ") else { throw bad("a URL") }
            return .text(text.hasSuffix("/") ? String(text.dropLast()) : text)
        case .choiceList(let choices):
            if text.lowercased() == "all" { return .text(choices.joined(separator: ",")) }
            var chosen = Set<String>()
            for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                let word = item.trimmingSpaces.lowercased()
                guard choices.contains(word) else {
                    let hint = Suggest.closest(to: word, in: choices).map { " (did you mean '\($0)'?)" } ?? ""
                    throw SettingError("\(key): unknown value '\(word)'\(hint); accepted: \(rangeText)")
                }
                chosen.insert(word)
            }
            return .text(choices.filter(chosen.contains).joined(separator: ","))
        case .address:
            guard let address = ListenAddress(text) else { throw bad("an address") }
            return .text(address.description)
        case .horizon:
            guard let h = Horizon.parse(text) else {
                if text.contains("/") { throw bad("a window: both ends YYYY-MM-DDTHH:MM, the first before the second") }
                throw bad("a horizon")
            }
            return .horizon(h)
        }
    }

    private func check(_ v: Dec, _ lo: Bound?, _ hi: Bound?, render: (Dec) -> String, shown: String) throws(SettingError) {
        let low = lo.map { $0.inclusive ? v >= $0.value : v > $0.value } ?? true
        let high = hi.map { $0.inclusive ? v <= $0.value : v < $0.value } ?? true
        if !low || !high { throw SettingError("\(key): \(render(v)) is out of range; accepted: \(rangeText)") }
    }

    /// The normalized text of a value; `parse(render(v)) == v`.
    public func render(_ value: SettingValue) -> String {
        switch value {
        case .off: "off"
        case .decimal(let d): d.description
        case .percent(let f): Units.renderPercent(f)
        case .duration(let d): d.description
        case .bool(let b): b ? "on" : "off"
        case .integer(let i): "\(i)"
        case .text(let s): s
        case .hours(let w): w.map(\.description).joined(separator: ",")
        case .days(let d): d.description
        case .horizon(let h): h.description
        case .seed(let s): s.map { "\($0)" } ?? "random"
        }
    }

    /// Values offered by completion.
    public var completionValues: [String] {
        switch kind {
        case .choice(let c): c + (optional ? ["off"] : [])
        case .toggle: ["on", "off"]
        case .seed: ["random"]
        case .weekdays: ["all", "mon-fri", "sat,sun"]
        case .timeZone: ["UTC"]
        case .choiceList(let c): ["all"] + c + (optional ? ["off"] : [])
        case .horizon: ["infinite"]
        default: optional ? ["off"] : []
        }
    }
}

/// A TCP address to listen on, as `option api.listen` takes it.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            let ipv4 = parts.count == 4 && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isNumber) && Int(p)! <= 255 }
            guard ipv4 || host == "localhost" else { return nil }
        }
        guard let n = Int(port), (1...65535).contains(n), port.allSatisfy(\.isNumber) else { return nil }
        self.host = String(host)
        self.port = n
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
