import MMCore

/// A command line that parsed: the command, its arguments by name and its flags.
public struct Invocation: Sendable {
    public var spec: CommandSpec
    public var args: [String: String] = [:]
    /// Flags given, by long name; a switch maps to "". A flag given more than once keeps its
    /// last value here and every value in `repeated`.
    public var flags: [String: String] = [:]
    public var repeated: [String: [String]] = [:]
    /// Column of each argument, for script error carets.
    public var columns: [String: Int] = [:]

    public func has(_ flag: String) -> Bool { flags[flag] != nil }
    public subscript(_ name: String) -> String? { args[name] ?? flags[name] }
    /// Every value a repeatable flag was given, in order.
    /// Every value of a repeatable flag, or every word of a repeating argument.
    public func values(_ flag: String) -> [String] { repeated[flag] ?? [] }
    public var wantsHelp: Bool { has("--help") }
}

/// Words → `Invocation`, validating every argument against its kind before anything runs.
public struct Parser: Sendable {
    public let registry: CommandRegistry
    public init(registry: CommandRegistry) { self.registry = registry }

    public func parse(_ words: [Word]) throws(ShellError) -> Invocation {
        guard let first = words.first else { throw .usage("empty command") }
        guard let spec = registry.lookup(first.text) else { throw registry.unknown(first.text) }
        var inv = Invocation(spec: spec)
        var positional: [Word] = []
        var i = 1
        var flagsEnded = false
        while i < words.count {
            let w = words[i]
            i += 1
            if !flagsEnded && w.text == "--" { flagsEnded = true; continue }
            guard !flagsEnded, Parser.looksLikeFlag(w.text) else { positional.append(w); continue }
            var name = w.text
            var attached: String?
            if let eq = name.firstIndex(of: "="), name.hasPrefix("--") {
                attached = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let flag = spec.flag(named: name) else {
                let all = spec.flags.flatMap { [$0.name] + ($0.short.map { [$0] } ?? []) }
                let hint = Suggest.closest(to: name, in: all).map { " (did you mean '\($0)'?)" } ?? ""
                throw .usage("\(spec.name): unknown flag '\(name)'\(hint); usage: \(spec.usage)")
            }
            if flag.name == "--help" { inv.flags["--help"] = ""; return inv }
            if let value = flag.value {
                let v: String
                if let attached { v = attached } else {
                    guard i < words.count else { throw .usage("\(spec.name): \(flag.name) needs a value (\(value.name))") }
                    v = words[i].text
                    i += 1
                }
                try validate(v, as: value.kind, argName: flag.name, in: inv)
                inv.flags[flag.name] = v
                inv.repeated[flag.name, default: []].append(v)
            } else {
                if attached != nil { throw .usage("\(spec.name): \(flag.name) takes no value") }
                inv.flags[flag.name] = ""
            }
        }
        try assign(positional, to: &inv)
        return inv
    }

    /// An instance name: 1–32 letters, digits, `.`, `_` or `-`, not only digits (those are ids).
    static func isName(_ text: String) -> Bool {
        (1...32).contains(text.count) && text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) })
            && Int(text) == nil && text.lowercased() != "all"
    }

    /// `-x`, `--xyz`, but not `-0.5` or `-` alone (values).
    static func looksLikeFlag(_ t: String) -> Bool {
        guard t.hasPrefix("-"), t.count > 1 else { return false }
        let second = t[t.index(after: t.startIndex)]
        return !(second.isNumber || second == ".")
    }

    private func assign(_ words: [Word], to inv: inout Invocation) throws(ShellError) {
        let spec = inv.spec
        var rest = words[...]
        for (n, arg) in spec.args.enumerated() {
            let requiredAfter = spec.args[(n + 1)...].filter { !$0.optional }.count
            if arg.optional {
                guard let w = rest.first else { continue }
                // A leading optional instance id is taken when the word is a number, so that
                // `get 2` says what is missing instead of reading `2` as a key.
                let take: Bool
                // A name is taken as the id when the words left are more than the required arguments.
                switch arg.kind {
                case .instance: take = Int(w.text) != nil || (Parser.isName(w.text) && rest.count > requiredAfter)
                default: take = rest.count > requiredAfter
                }
                guard take else { continue }
            }
            guard let w = rest.first else {
                if arg.optional { continue }
                // `reset --all` needs no key: commands say which flags stand in for arguments.
                if case .settingKey = arg.kind, inv.has("--all") { continue }
                throw .usage("\(spec.name): missing \(arg.name); usage: \(spec.usage)")
            }
            rest = rest.dropFirst()
            try validate(w.text, as: arg.kind, argName: arg.name, in: inv)
            inv.args[arg.name] = w.text
            inv.columns[arg.name] = w.column
            if arg.repeating {
                inv.repeated[arg.name, default: []].append(w.text)
                while let more = rest.first {
                    try validate(more.text, as: arg.kind, argName: arg.name, in: inv)
                    inv.repeated[arg.name, default: []].append(more.text)
                    rest = rest.dropFirst()
                }
            }
        }
        if let extra = rest.first {
            throw .usage("\(spec.name): unexpected argument '\(extra.text)'; usage: \(spec.usage)")
        }
    }

    private func validate(_ text: String, as kind: ArgKind, argName: String, in inv: Invocation) throws(ShellError) {
        let cmd = inv.spec.name
        switch kind {
        case .instance:
            guard (Int(text) ?? 0) >= 1 || Parser.isName(text) else {
                throw .usage("\(cmd): '\(text)' is not an instance id or name; ids are whole numbers (see 'list')")
            }
        case .instanceOrAll:
            guard text.lowercased() == "all" || (Int(text) ?? 0) >= 1 || Parser.isName(text) else {
                throw .usage("\(cmd): '\(text)' is not an instance id, a name or 'all'")
            }
        case .settingKey:
            do { _ = try Catalog.lookup(text) } catch { throw .usage(error.message) }
        case .settingValue:
            // The key comes first, so it is known here.
            guard let key = inv.args["KEY"], let spec = Catalog.spec(key.lowercased()) else { return }
            do { _ = try spec.parse(text) } catch { throw .usage(error.message) }
        case .optionKey:
            do { _ = try OptionCatalog.lookup(text) } catch { throw .usage(error.message) }
        case .optionValue:
            guard let key = inv.args["KEY"], let spec = try? OptionCatalog.lookup(key) else { return }
            do { _ = try spec.parse(text) } catch { throw .usage(error.message) }
        case .command:
            guard registry.lookup(text) != nil else { throw registry.unknown(text) }
        case .integer(let range):
            guard let n = Int(text), range.contains(n) else {
                throw .usage("\(cmd): \(argName) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            }
        case .choice(let choices):
            guard choices.contains(text.lowercased()) else {
                let hint = Suggest.closest(to: text, in: choices).map { " (did you mean '\($0)'?)" } ?? ""
                throw .usage("\(cmd): \(argName) '\(text)' is not accepted\(hint); accepted: \(choices.joined(separator: ", "))")
            }
        case .name:
            guard Parser.isName(text) else {
                throw .usage("\(cmd): '\(text)' is not a valid name; use 1–32 letters, digits, '.', '_' or '-', not only digits")
            }
        case .file, .text:
            guard !text.isEmpty else { throw .usage("\(cmd): \(argName) must not be empty") }
        }
    }
}
