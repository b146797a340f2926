import Foundation
import MMCore
import MMStorage

extension Commands {
    static let settingCommands: [CommandSpec] = [
        CommandSpec("set", summary: "change a setting of an instance",
                    args: [ArgSpec("ID", .instance, optional: true), ArgSpec("KEY", .settingKey), ArgSpec("VALUE", .settingValue)],
                    examples: ["set spread.bid 0.2%", "set 2 levels.count 3", "set order.max off", "set hours.window 09:00-17:00"],
                    details: "Without an id it acts on the current instance. Percentages: 0.2%, 20bp or a bare 0.2 (percent). Durations: 500ms, 30s, 5m, 1h, 1d or bare seconds. Switches: on/off. 'off' clears an optional limit. 'settings' lists every key.") { inv, shell in
            try await shell.setSetting(inv)
        },
        CommandSpec("get", summary: "print one setting", args: [ArgSpec("ID", .instance, optional: true), ArgSpec("KEY", .settingKey)],
                    examples: ["get spread.bid", "get 2 pair --json"], showsData: true) { inv, shell in try await shell.getSetting(inv) },
        CommandSpec("reset", summary: "put a setting (or all) back to its default",
                    args: [ArgSpec("ID", .instance, optional: true), ArgSpec("KEY", .settingKey)],
                    flags: [FlagSpec("--all", "reset every setting")],
                    examples: ["reset spread.bid", "reset 2 --all"]) { inv, shell in try await shell.resetSetting(inv) },
        CommandSpec("show", summary: "show an instance's settings", args: [ArgSpec("ID", .instance, optional: true)],
                    flags: [FlagSpec("--changed", short: "-c", "only settings that differ from the default")],
                    examples: ["show", "show 2 --changed", "show --json"], showsData: true) { inv, shell in try await shell.showSettings(inv) },
        CommandSpec("settings", summary: "list every setting with its type, default, range and help",
                    args: [ArgSpec("FILTER", .text, optional: true)],
                    examples: ["settings", "settings spread", "settings --json"], showsData: true) { inv, shell in shell.listSettings(inv) },
        CommandSpec("save", summary: "write a script that recreates an instance",
                    args: [ArgSpec("ID", .instance, optional: true), ArgSpec("FILE", .file(extensions: ["mmsh"]))],
                    flags: [FlagSpec("--force", short: "-f", "overwrite FILE if it exists")],
                    examples: ["save btc.mmsh", "save 2 setups/eth.mmsh --force"],
                    details: "The script holds 'new NAME' and a 'set' line for every setting that differs from its default; 'mmsh run FILE' or 'source FILE' replays it.") { inv, shell in
            try await shell.saveInstance(inv)
        },
    ]
}

extension Shell {
    func setSetting(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let spec = Catalog.spec(inv["KEY"]!.lowercased())!
        let running = await api.isRunning(r.id)
        if running && spec.applies == .whileStopped {
            throw .failure("\(spec.key) cannot change while instance \(describe(r)) runs; 'stop \(r.id)' first")
        }
        let value: SettingValue
        do { value = try spec.parse(inv["VALUE"]!) } catch { throw .usage(error.message) }
        var settings = try await self.settings(of: r.id)
        let before = settings.text(spec.key)
        settings.set(spec.key, value)
        do { try settings.validate() } catch { throw .failure(error.message) }
        let stored: String? = settings.isChanged(spec.key) ? spec.render(value) : nil
        let after = settings.text(spec.key)
        // Setting what is set already changes nothing: a re-applied script converges quietly.
        if before == after { return .message("\(r.id) \(r.name): \(spec.key) \(after) (unchanged)") }
        try await journalChange(of: r.id)
        try await api.updateSettings(r.id, [spec.key: stored], note: "set \(spec.key) \(before) → \(after)")
        let note = stored == nil ? " (default)" : ""
        let when: String
        switch (running, spec.applies) {
        case (false, _): when = ""
        case (true, .nextStart): when = "; applies at the next start (it runs with \(before) until 'stop \(r.id)' and 'start \(r.id)')"
        case (true, _): when = "; applies at the next decision"
        }
        if let risk = Shell.sanityWarning(spec.key, value) { warn(risk) }
        return .message("\(r.id) \(r.name): \(spec.key) \(before) → \(after)\(note)\(when)")
    }

    /// Values that are valid but rarely meant: accepted, with one line naming the risk.
    static func sanityWarning(_ key: String, _ value: SettingValue) -> String? {
        if key == "pair", let symbol = value.text, Units.assets(of: symbol) == nil {
            return "pair \(symbol) ends in none of MEXC's quote assets (\(Units.quoteAssets.prefix(6).joined(separator: ", ")), …): the sim venue quotes it anyway, but paper and live refuse a symbol MEXC does not list"
        }
        guard ["spread.bid", "spread.ask", "levels.spread"].contains(key), let f = value.fraction, f > Shell.saneSpread else { return nil }
        return "\(key) \(Units.renderPercent(f)) is above \(Units.renderPercent(Shell.saneSpread)): quotes this far from the market rarely fill, and one that does trades far from the price"
    }

    static let saneSpread: Dec = "0.2"

    func getSetting(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let spec = Catalog.spec(inv["KEY"]!.lowercased())!
        let settings = try await self.settings(of: r.id)
        let text = settings.text(spec.key)
        return Output(blocks: [.line(Line(text))], json: .object([
            ("id", .int(r.id)), ("key", .string(spec.key)), ("value", .string(text)),
            ("default", .string(spec.render(spec.defaultValue))), ("changed", .bool(settings.isChanged(spec.key))),
        ]))
    }

    func resetSetting(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        var settings = try await self.settings(of: r.id)
        let running = await api.isRunning(r.id)
        if running && (inv.has("--all") || inv["KEY"].map({ ["venue", "pair"].contains($0.lowercased()) }) == true) {
            throw .failure("venue and pair cannot change while instance \(describe(r)) runs; 'stop \(r.id)' first")
        }
        if inv.has("--all") {
            if inv["KEY"] != nil { throw .usage("reset: give KEY or --all, not both") }
            let raw = try await api.storedSettings(r.id)
            try await journalChange(of: r.id)
            try await api.updateSettings(r.id, raw.mapValues { _ in nil }, note: nil)
            return .message("\(r.id) \(r.name): \(raw.count) setting\(raw.count == 1 ? "" : "s") back to defaults")
        }
        let spec = Catalog.spec(inv["KEY"]!.lowercased())!
        let before = settings.text(spec.key)
        settings.reset(spec.key)
        do { try settings.validate() } catch { throw .failure(error.message) }
        try await journalChange(of: r.id)
        try await api.updateSettings(r.id, [spec.key: nil], note: "reset \(spec.key) \(before) → \(settings.text(spec.key))")
        return .message("\(r.id) \(r.name): \(spec.key) \(before) → \(settings.text(spec.key)) (default)")
    }

    func showSettings(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let settings = try await self.settings(of: r.id, warn: true)
        let onlyChanged = inv.has("--changed")
        var table = Table(["KEY", "VALUE", "DEFAULT"])
        var fields: [(String, JSON)] = []
        for spec in Catalog.specs where !onlyChanged || settings.isChanged(spec.key) {
            let changed = settings.isChanged(spec.key)
            let value = settings.text(spec.key)
            table.add(styled: [(spec.key, .plain), (value, changed ? .cyan : .plain),
                               (changed ? spec.render(spec.defaultValue) : "", .dim)])
            fields.append((spec.key, .string(value)))
        }
        var out = Output(json: .object([("id", .int(r.id)), ("name", .string(r.name)), ("settings", .object(fields))]))
        out.line(Line([("instance \(r.id) '\(r.name)'", .bold)]))
        if onlyChanged && fields.isEmpty { out.line("every setting has its default value") } else { out.table(table) }
        return out
    }

    nonisolated func listSettings(_ inv: Invocation) -> Output {
        let filter = inv["FILTER"]?.lowercased()
        let specs = Catalog.specs.filter { filter == nil || $0.key.contains(filter!) }
        var table = Table(["KEY", "TYPE", "DEFAULT", "ACCEPTS", "WHILE RUNNING", "MEANING"])
        var items: [JSON] = []
        for s in specs {
            let d = s.render(s.defaultValue)
            let applies = s.applies == .whileStopped ? "refused" : "at the " + s.applies.rawValue
            table.add([s.key, s.typeName, d, s.rangeText, applies, s.help])
            items.append(.object([("key", .string(s.key)), ("type", .string(s.typeName)), ("default", .string(d)),
                                  ("range", .string(s.rangeText)), ("applies", .string(s.applies.rawValue)), ("help", .string(s.help))]))
        }
        var out = Output(json: .object([("settings", .array(items))]))
        if specs.isEmpty { out.line("no setting matches '\(filter ?? "")'") } else { out.table(table) }
        return out
    }

    func saveInstance(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let settings = try await self.settings(of: r.id)
        let url = resolvePath(inv["FILE"]!)
        let path = url.path
        if FileManager.default.fileExists(atPath: path) && !inv.has("--force") {
            throw .failure("save: \(path) exists; add --force to overwrite it")
        }
        var text = "#!/usr/bin/env -S mmsh run\n"
        text += "# mmsh instance \(r.id) '\(r.name)', saved \(ISO8601DateFormatter().string(from: Date()))\n"
        // --or-use: running the file again, or 'apply'-ing it, converges on the same instance.
        text += "new \(Lexer.quote(r.name)) --or-use\n"
        for spec in Catalog.specs where settings.isChanged(spec.key) {
            text += "set \(spec.key) \(Lexer.quote(settings.text(spec.key)))\n"
        }
        if dryRun { return .message("would write \(path)") }
        try writeAtomically(text, to: url, mode: 0o755)
        return .message("saved instance \(describe(r)) to \(path) (\(settings.overrides.count) changed setting\(settings.overrides.count == 1 ? "" : "s"))")
    }

    /// A path relative to the running script's folder, or to the working directory.
    func resolvePath(_ text: String) -> URL {
        let expanded = (text as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL }
        let base = scriptStack.last.map { URL(fileURLWithPath: $0).deletingLastPathComponent() }
            ?? URL(fileURLWithPath: workingDirectory)
        return base.appendingPathComponent(expanded).standardizedFileURL
    }

    /// Writes to a temporary file beside `url`, then renames it over: readers see the old or the new file, whole.
    func writeAtomically(_ text: String, to url: URL, mode: Int) throws(ShellError) {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try Data(text.utf8).write(to: tmp)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: tmp.path)
            guard rename(tmp.path, url.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw .failure("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
