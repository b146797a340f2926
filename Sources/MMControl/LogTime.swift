#if canImport(Glibc)
import Glibc
#endif

/// The UTC time stamp of the engine's log lines (`2026-12-02T00:51:05Z`), made with the C
/// library: Foundation's ISO8601DateFormatter would load ICU into a process that otherwise has
/// no use for it (megabytes of an idle engine's memory).
public enum LogTime {
    public static func now() -> String {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        return stamp(parts)
    }

    /// The same for seconds since the epoch.
    public static func format(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return stamp(parts)
    }

    static func stamp(_ p: tm) -> String {
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(p.tm_year + 1900)-\(two(p.tm_mon + 1))-\(two(p.tm_mday))T\(two(p.tm_hour)):\(two(p.tm_min)):\(two(p.tm_sec))Z"
    }
}
