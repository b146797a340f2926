import MMCore

/// Help texts, all derived from the command registry and the settings catalog.
public enum Help {
    public static func overview() -> Output {
        var out = Output()
        for (group, names) in Commands.groups {
            out.line(Line(group, .bold))
            for name in names {
                guard let spec = Shell.registry.lookup(name) else { continue }
                let alias = spec.aliases.isEmpty ? "" : " (\(spec.aliases.joined(separator: ", ")))"
                out.line(Line([("  " + pad(spec.name + alias, 14), .cyan), (spec.summary, .plain)]))
            }
        }
        out.line("")
        out.line("'help CMD' or 'CMD --help' explains a command; Tab completes; '?' explains the line being typed.")
        return out
    }

    public static func command(_ spec: CommandSpec) -> Output {
        var out = Output()
        out.line(Line([("usage: ", .bold), (spec.usage, .plain)]))
        out.line("")
        out.line(spec.summary.prefix(1).uppercased() + spec.summary.dropFirst() + ".")
        if !spec.details.isEmpty { out.line(spec.details) }
        if !spec.aliases.isEmpty { out.line("Also: \(spec.aliases.joined(separator: ", ")).") }
        let flags = spec.flags
        if !flags.isEmpty {
            out.line("")
            out.line(Line("Flags:", .bold))
            for f in flags {
                let name = (f.short.map { "\($0), " } ?? "") + f.name + (f.value.map { " \($0.name)" } ?? "")
                out.line("  " + pad(name, 20) + f.help)
            }
        }
        if !spec.examples.isEmpty {
            out.line("")
            out.line(Line("Examples:", .bold))
            for e in spec.examples { out.line("  " + e) }
        }
        return out
    }

    /// Help for a line being typed (the `?` key): what the command takes and what comes next.
    /// `data`: the instances and their settings, for the current value of a setting being typed.
    public static func context(line: String, data: CompletionData = CompletionData()) -> Output {
        let (words, open, _) = Lexer.partial(line)
        guard let first = words.first ?? (open.isEmpty ? nil : open) else { return overview() }
        guard let spec = Shell.registry.lookup(first) else {
            let matches = Shell.registry.names.filter { $0.hasPrefix(first.lowercased()) }
            if matches.isEmpty {
                return .message(Shell.registry.unknown(first).message)
            }
            var out = Output()
            for name in matches {
                if let s = Shell.registry.lookup(name) { out.line(Line([(pad(name, 12), .cyan), (s.summary, .plain)])) }
            }
            return out
        }
        var out = Output()
        out.line(Line([("usage: ", .bold), (spec.usage, .plain), ("  — " + spec.summary, .dim)]))
        // A setting key already typed: explain it.
        if let key = (words.dropFirst() + [open]).first(where: { Catalog.spec($0.lowercased()) != nil }),
           let s = Catalog.spec(key.lowercased()) {
            out.line(Line([(s.key, .cyan), (": \(s.help); \(s.typeName), accepts \(s.rangeText); default \(s.render(s.defaultValue))", .plain)]))
            // Its value now, on the instance the line names (or the current one).
            let argument = words.count > 2 || (words.count == 2 && !open.isEmpty) ? words.dropFirst().first : nil
            let named = argument.flatMap { Catalog.spec($0.lowercased()) == nil ? $0 : nil }
            if let id = data.instance(for: named), let name = data.instances.first(where: { $0.id == id })?.name {
                let stored = data.settings[id]?[s.key]
                out.line(Line([("now ", .bold), (stored ?? s.render(s.defaultValue), .plain),
                               (" on instance \(id) '\(name)'\(stored == nil ? " (the default)" : "")", .dim)]))
            }
        } else if let key = (words.dropFirst() + [open]).first(where: { OptionCatalog.specs.map(\.key).contains($0.lowercased()) }),
                  let s = try? OptionCatalog.lookup(key) {
            out.line(Line([(s.key, .cyan), (": \(s.help); accepts \(s.rangeText); default \(s.render(s.defaultValue))", .plain)]))
        }
        return out
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
