import MMCore

/// libFuzzer target: settings and options as `set KEY VALUE` and `option KEY VALUE` take them.
/// The input is lines of `KEY VALUE`; an unknown key picks a setting by its bytes, so that every
/// value parser is reached. Each value is parsed, stored, and the whole is validated, with
/// arithmetic out of range caught as the shell catches it. Refusals are fine; crashes are not.
func fuzzSettings(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = input else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? Dec.checked {
        var settings = Settings()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(64) {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]), value = parts.count > 1 ? String(parts[1]) : ""
            let spec = (try? Catalog.lookup(key)) ?? Catalog.specs[Int(key.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF }) % Catalog.specs.count]
            if let v = try? spec.parse(value) {
                settings.set(spec.key, v)
                _ = spec.render(v)
            }
            let option = (try? OptionCatalog.lookup(key)) ?? OptionCatalog.specs[key.utf8.count % OptionCatalog.specs.count]
            _ = try? option.parse(value)
            _ = Dec(value)
            _ = Dec(exchange: value)
            _ = Units.parseDuration(value)
        }
        _ = try? settings.validate()
    }
    return 0
}
