import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Times as people and JSON read them, from milliseconds since the epoch, with the C library
/// (no ICU): UTC in ISO 8601 for JSON and alerts, local time for screens.
public enum TimeText {
    /// `2026-12-01T12:00:00.123Z`.
    public static func iso(_ ms: Int64) -> String { format(ms, utc: true) }

    /// `2026-12-01T130000Z`: UTC to the second, with no colons, for a file's name.
    public static func fileStamp(_ ms: Int64) -> String { iso(ms).prefix(19).replacingOccurrences(of: ":", with: "") + "Z" }

    /// `2026-12-01 13:00:00.123`, in the process's time zone.
    public static func local(_ ms: Int64) -> String { format(ms, utc: false) }

    private static func format(_ ms: Int64, utc: Bool) -> String {
        var t = time_t(ms / 1000)
        var parts = tm()
        if utc { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        func pad(_ n: Int32, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let millis = pad(Int32(ms % 1000), 3)
        let date = "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
        let time = "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(millis)"
        return utc ? "\(date)T\(time)Z" : "\(date) \(time)"
    }
}

extension TimeText {
    /// A time a person typed: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DD HH:MM` in `zone`
    /// (the engine's local time by default), with a trailing `Z` in UTC. Milliseconds since the epoch.
    public static func parse(_ raw: String, zone: TimeZone = .current) -> Int64? {
        var text = raw.trimmingSpaces.replacingOccurrences(of: " ", with: "T").lowercased()
        var utc = false
        if text.hasSuffix("z") { utc = true; text.removeLast() }
        if !text.contains("t") { text += "t00:00" }
        guard let wall = Horizon.wall(text) else { return nil }
        return utc ? wall * 60_000 : Horizon.epochMilliseconds(wall: wall, in: zone)
    }
}
