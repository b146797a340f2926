import Foundation

/// When an Avellaneda–Stoikov instance must have its inventory back at the target: never
/// (quoting runs on, the time left held at one), at the end of a fixed window, or at the end of
/// a daily window. Outside a window nothing is quoted.
public enum Horizon: Hashable, Sendable, CustomStringConvertible {
    case infinite
    /// From and to, as wall-clock minutes since 1970-01-01 00:00 in the instance's `hours.tz`.
    case window(from: Int64, to: Int64)
    case daily(HoursWindow)

    public var description: String {
        switch self {
        case .infinite: "infinite"
        case .window(let from, let to): Self.wallText(from) + "/" + Self.wallText(to)
        case .daily(let w): w.description
        }
    }

    /// `infinite`; `HH:MM-HH:MM` (daily, `daily HH:MM-HH:MM` too); `YYYY-MM-DDTHH:MM/YYYY-MM-DDTHH:MM`.
    public static func parse(_ raw: String) -> Horizon? {
        var text = raw.trimmingSpaces.lowercased()
        if text == "infinite" { return .infinite }
        if text.hasPrefix("daily") { text = String(text.dropFirst(5)).trimmingSpaces }
        if !text.contains("/") {
            guard case .success(let w) = HoursWindow.parseList(text), w.count == 1 else { return nil }
            return .daily(w[0])
        }
        let ends = text.split(separator: "/", omittingEmptySubsequences: false)
        guard ends.count == 2, let from = wall(String(ends[0])), let to = wall(String(ends[1])), from < to else { return nil }
        return .window(from: from, to: to)
    }

    /// `YYYY-MM-DDTHH:MM` as minutes since 1970-01-01 00:00 (proleptic Gregorian, no zone).
    static func wall(_ t: String) -> Int64? {
        let parts = t.split(separator: "t", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        let time = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard date.count == 3, time.count == 2, date[0].count == 4, date[1].count == 2, date[2].count == 2,
              time[0].count == 2, time[1].count == 2,
              let y = Int(date[0]), let m = Int(date[1]), let d = Int(date[2]), let hh = Int(time[0]), let mm = Int(time[1]),
              (1970...9999).contains(y), (1...12).contains(m), (0...23).contains(hh), (0...59).contains(mm),
              (1...daysIn(month: m, year: y)).contains(d) else { return nil }
        return (days(year: y, month: m, day: d) * 24 + Int64(hh)) * 60 + Int64(mm)
    }

    static func daysIn(month m: Int, year y: Int) -> Int {
        switch m {
        case 2: (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
    public static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func wallText(_ minutes: Int64) -> String {
        let z = minutes / 1440 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let minute = minutes % 1440
        return "\(y)-\(two(m))-\(two(d))T\(two(minute / 60)):\(two(minute % 60))"
    }

    /// A wall-clock minute in `zone` as milliseconds since the epoch.
    public static func epochMilliseconds(wall minutes: Int64, in zone: TimeZone) -> Int64 {
        let guess = Date(timeIntervalSince1970: Double(minutes * 60))
        // The offset at the instant itself: correct except inside a transition's gap or overlap.
        let first = zone.secondsFromGMT(for: guess)
        let offset = zone.secondsFromGMT(for: guess.addingTimeInterval(-Double(first)))
        return (minutes * 60 - Int64(offset)) * 1000
    }
}
