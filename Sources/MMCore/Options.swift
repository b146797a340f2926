/// Shell-wide options (`option KEY VALUE`), persisted with the instances.
public enum OptionCatalog {
    public static let specs: [SettingSpec] = [
        SettingSpec("max_instances", .integer(1...100), default: .integer(10), "most instances that may exist"),
        SettingSpec("color", .choice(["auto", "on", "off"]), default: .text("auto"),
                    "colour output: auto (on a terminal, unless NO_COLOR is set), on, off"),
        SettingSpec("output", .choice(["text", "json"]), default: .text("text"),
                    "output of commands that show data: text, or json as if --json were given"),
        SettingSpec("history.size", .integer(0...100_000), default: .integer(1000), "lines of command history kept"),
        SettingSpec("notify", .toggle, default: .bool(true), "show running instances' warnings and errors above the prompt"),
        SettingSpec("samples.keep", .duration(min: .days(1), max: .days(3650)), default: .duration(.days(30)),
                    "how long running instances' market samples are kept (raw for a day, then one a minute): what 'chart' and 'market' read"),
        SettingSpec("api.listen", .address, optional: true, default: .off,
                    "also serve the API on this TCP address (HOST:PORT, such as 127.0.0.1:9180), with the bearer token of 'mmsh daemon token'"),
        SettingSpec("alerts.webhook", .url(schemes: ["https", "http"]), optional: true, default: .off,
                    "where the engine POSTs alerts as JSON (halts, stop losses, limits, lost contact, orphans, 429s, errors)"),
        SettingSpec("alerts.events", .choiceList(AlertKinds.all), default: .text(AlertKinds.defaults.joined(separator: ",")),
                    "which alerts are sent: all, or some of \(AlertKinds.all.joined(separator: ","))"),
        SettingSpec("alerts.contact_after", .duration(min: .seconds(1), max: .hours(1)), default: .duration(.seconds(30)),
                    "lost contact with MEXC for this long sends a contact_lost alert"),
    ]

    public static let keys = specs.map(\.key)

    public static func lookup(_ key: String) throws(SettingError) -> SettingSpec {
        if let s = specs.first(where: { $0.key == key.lowercased() }) { return s }
        let hint = Suggest.closest(to: key.lowercased(), in: keys).map { " (did you mean '\($0)'?)" } ?? ""
        throw SettingError("unknown option '\(key)'\(hint); accepted: \(keys.joined(separator: ", "))")
    }
}

/// The kinds of alerts the engine sends (`option alerts.events`).
public enum AlertKinds {
    public static let all = ["halted", "resumed", "reducing", "stop_loss", "contact_lost", "contact_restored", "orphans", "throttled", "error", "fills"]
    /// Everything but fills, which are many (they are batched when asked for).
    public static let defaults = all.filter { $0 != "fills" }
}
