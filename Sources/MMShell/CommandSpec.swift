import MMCore

/// What a positional argument or a flag's value is. Drives validation, completion and help.
public enum ArgKind: Sendable {
    /// An instance id (a whole number ≥ 1).
    case instance
    /// An instance id or `all`.
    case instanceOrAll
    case settingKey
    /// A value for the setting named by the `settingKey` argument of the same command.
    case settingValue
    case optionKey
    case optionValue
    /// A command name (for `help`).
    case command
    case file(extensions: [String])
    case name
    case integer(ClosedRange<Int>)
    case choice([String])
    case text
}

public struct ArgSpec: Sendable {
    public var name: String
    public var kind: ArgKind
    public var optional: Bool
    /// The last argument only: it takes every word left (at least one), in `Invocation.values`.
    public var repeating: Bool
    public init(_ name: String, _ kind: ArgKind, optional: Bool = false, repeating: Bool = false) {
        self.name = name
        self.kind = kind
        self.optional = optional
        self.repeating = repeating
    }
}

public struct FlagSpec: Sendable {
    /// Long form, with dashes: `--json`.
    public var name: String
    /// Short form, with a dash: `-n`.
    public var short: String?
    /// The value's name and kind; nil for a switch.
    public var value: (name: String, kind: ArgKind)?
    public var help: String
    public init(_ name: String, short: String? = nil, value: (String, ArgKind)? = nil, _ help: String) {
        self.name = name
        self.short = short
        self.value = value.map { (name: $0.0, kind: $0.1) }
        self.help = help
    }
}

/// Runs a parsed command against the shell.
/// Handlers throw `ShellError`; anything else thrown is reported as a failure.
public typealias CommandHandler = @Sendable (Invocation, Shell) async throws -> Output

/// One command: everything parsing, help, completion and suggestions need, and its handler.
public struct CommandSpec: Sendable {
    public var name: String
    public var aliases: [String]
    public var summary: String
    public var args: [ArgSpec]
    public var flags: [FlagSpec]
    public var examples: [String]
    /// Longer help: a paragraph or two, shown by `help CMD`.
    public var details: String
    /// Accepts `--json`.
    public var showsData: Bool
    /// Never recorded in history.
    public var sensitive: Bool
    public var run: CommandHandler

    public init(_ name: String, aliases: [String] = [], summary: String, args: [ArgSpec] = [], flags: [FlagSpec] = [],
                examples: [String] = [], details: String = "", showsData: Bool = false, sensitive: Bool = false,
                run: @escaping CommandHandler) {
        self.name = name
        self.aliases = aliases
        self.summary = summary
        self.args = args
        self.flags = flags + (showsData ? [FlagSpec("--json", "print one JSON document")] : [])
            + [FlagSpec("--help", short: "-h", "show this help")]
        self.examples = examples
        self.details = details
        self.showsData = showsData
        self.sensitive = sensitive
        self.run = run
    }

    /// `set [ID] KEY VALUE [--json]`
    public var usage: String {
        var parts = [name]
        for a in args {
            // A choice of words is shown as the words: `keys set|list|delete|test`.
            let shown = if case .choice(let words) = a.kind { words.joined(separator: "|") } else { a.name }
            let many = a.repeating ? " ..." : ""
            parts.append(a.optional ? "[\(shown)\(many)]" : shown + many)
        }
        for f in flags where f.name != "--help" {
            let flag = (f.short.map { "\($0)|" } ?? "") + f.name + (f.value.map { " \($0.name)" } ?? "")
            parts.append("[\(flag)]")
        }
        return parts.joined(separator: " ")
    }

    public func flag(named word: String) -> FlagSpec? {
        flags.first { $0.name == word || $0.short == word }
    }
}

/// The set of commands; the single source for parsing, help, completion and suggestions.
public struct CommandRegistry: Sendable {
    public private(set) var commands: [CommandSpec]
    private var index: [String: Int]

    public init(_ commands: [CommandSpec]) {
        self.commands = commands
        var index: [String: Int] = [:]
        for (i, c) in commands.enumerated() {
            for n in [c.name] + c.aliases {
                precondition(index[n] == nil, "duplicate command name \(n)")
                index[n] = i
            }
        }
        self.index = index
    }

    public func lookup(_ name: String) -> CommandSpec? { index[name.lowercased()].map { commands[$0] } }

    /// Every name and alias.
    public var names: [String] { commands.flatMap { [$0.name] + $0.aliases } }

    public func unknown(_ name: String) -> ShellError {
        let hint = Suggest.closest(to: name, in: names).map { " (did you mean '\($0)'?)" } ?? ""
        return .usage("unknown command '\(name)'\(hint); 'help' lists commands")
    }
}
