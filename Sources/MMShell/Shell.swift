import Foundation
import MMAPI
import MMCore
import MMEngine
import MMStorage
import MMVault
import Synchronization

/// Where a line came from; decides how errors are reported.
public enum LineOrigin: Sendable {
    case interactive
    /// `mmsh -c`.
    case argument
    /// A script file (or `<stdin>`), with the 1-based line number.
    case script(path: String, line: Int)
}

/// The shell: runs lines through lex → parse → execute → render. The interactive loop, `mmsh -c`,
/// scripts and piped input all come through here.
public actor Shell {
    public static let registry = CommandRegistry(Commands.all)

    /// The engine: every command reads and acts through it, and through nothing else.
    public let api: any EngineAPI
    public let console: any Console
    /// Acting on nothing: a dry run works on an in-memory copy of the store.
    public let dryRun: Bool
    let parser = Parser(registry: Shell.registry)

    /// The instance commands act on when no id is given.
    public internal(set) var current: Int?
    public internal(set) var quitRequested = false
    /// Canonical paths of the scripts being run, outermost first (for `source` and cycles).
    var scriptStack: [String] = []
    /// Script behaviour, set by `runScript`.
    var keepGoing = false
    /// What the outermost script has changed so far, to be undone if it fails (nil outside scripts
    /// and with --keep-going, where failing lines are skipped on purpose).
    var journal: ScriptJournal?
    /// Inside `apply FILE`: `new NAME` uses an instance of that name when one exists.
    var applying = false
    /// Inside `status --watch`: the table shows trends.
    var watching = false
    var echo = false

    /// What completion needs to know, readable from the line editor's thread at any time.
    public nonisolated let completionData = Mutex(CompletionData())
    /// Warnings and errors of running instances, shown above the next prompt.
    public nonisolated let notifications = NotificationQueue()
    /// Running inside the engine service: leaving this shell may leave instances running there.
    /// Without it (dry runs, in-process tests), instances end with the shell.
    public let detachable: Bool
    /// Where relative paths (`save`, `source`, `--secret-file`) start: the client's working directory.
    public let workingDirectory: String

    /// The process environment (MMSH_PASSPHRASE, MMSH_API_KEY, …), injectable for tests.
    let environment: [String: String]
    /// Stored shell-wide options: `option` updates them; in the engine, where another shell may
    /// change them too, they are read again before each line.
    var storedOptions: [String: String]

    /// A shell with an engine of its own (in-process: tests, dry runs).
    public static func local(store: Store, console: any Console, dryRun: Bool = false, clock: any EngineClock = WallClock(),
                             vault: Vault? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(ShellError) -> Shell {
        try await Shell(api: LocalEngine(store: store, clock: clock, vault: vault), console: console, dryRun: dryRun, environment: environment)
    }

    /// A shell on an engine; `detachable` when that engine outlives the shell.
    public init(api: any EngineAPI, console: any Console, dryRun: Bool = false, detachable: Bool = false,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                workingDirectory: String = FileManager.default.currentDirectoryPath) async throws(ShellError) {
        self.api = api
        self.console = console
        self.dryRun = dryRun
        self.detachable = detachable
        self.environment = environment
        self.workingDirectory = workingDirectory
        api.notifications.subscribe(notifications)
        storedOptions = try await api.options()
        optionsReadAt = ContinuousClock.now
        // Completion needs the instances only where someone types (a remote shell saves the call).
        if console.isInteractive || !api.shared {
            let records = try await api.instances()
            completionData.withLock { $0.instances = records.map { ($0.id, $0.name) } }
        }
    }

    deinit { api.notifications.unsubscribe(notifications) }

    /// When `storedOptions` were read.
    var optionsReadAt = ContinuousClock.now

    /// Options another shell of the engine may have changed since the last line (read again
    /// unless they were read a moment ago: a `-c` line right after the shell was made).
    func reloadOptions() async {
        guard ContinuousClock.now - optionsReadAt > .milliseconds(200) else { return }
        if let fresh = try? await api.options() {
            storedOptions = fresh
            optionsReadAt = ContinuousClock.now
        }
    }

    /// Restores the instance that was current when the interactive shell was last left.
    public func restoreCurrent() async throws(ShellError) {
        guard let text = storedOptions[Shell.currentKey], let id = Int(text) else { return }
        if try await api.instance(id) != nil { current = id }
    }

    static let currentKey = "_current"

    // MARK: Running lines

    /// Runs every statement of a line. Returns the first error (already reported), or nil.
    @discardableResult
    public func run(line: String, origin: LineOrigin) async -> ShellError? {
        if api.shared { await reloadOptions() }
        let statements: [[Word]]
        do { statements = try Lexer.statements(line) } catch {
            report(error, origin: origin)
            return error
        }
        var firstError: ShellError?
        for words in statements {
            if case .script = origin, echo { console.write("+ " + words.map { Lexer.quote($0.text) }.joined(separator: " ") + "\n") }
            if let error = await run(words: words) {
                report(error, origin: origin)
                firstError = firstError ?? error
                if !keepGoing || error.kind == .interrupted { break }
            }
            if quitRequested { break }
        }
        return firstError
    }

    /// Arithmetic that leaves the exact range fails the command with one line, never the process.
    private func run(words: [Word]) async -> ShellError? {
        let trap = DecRangeTrap()
        let error = await Dec.withTrap(trap) { await runChecked(words: words) }
        if let e = trap.error {
            return .failure("\(e); the instance's amounts and prices give numbers mmsh cannot hold exactly (lower order.amount, sim.mid, sim.quote or the like)")
        }
        return error
    }

    private func runChecked(words all: [Word]) async -> ShellError? {
        do {
            let (words, redirect) = try Shell.redirection(all)
            let invocation: Invocation
            do { invocation = try parser.parse(words) } catch { throw Shell.redacted(error, words: words) }
            if invocation.wantsHelp {
                console.write(renderer.render(Help.command(invocation.spec), json: false))
                return nil
            }
            let output = try await invocation.spec.run(invocation, self)
            let json = invocation.spec.showsData && (invocation.has("--json") || option("output") == "json")
            if let redirect {
                // To a file: plain text (no colour, no wrapping), JSON or CSV as asked.
                try write(Renderer(color: false).render(output, json: json), to: redirect.path, append: redirect.append)
                return nil
            }
            console.write(renderer.render(output, json: json))
            return nil
        } catch {
            return ShellError.from(error)
        }
    }

    /// `CMD … > FILE` or `>> FILE` (an unquoted `>` or `>>`, with or without a space before the
    /// file) at the end of a command: the words without it, and where its output goes.
    static func redirection(_ words: [Word]) throws(ShellError) -> ([Word], (path: String, append: Bool)?) {
        guard let i = words.lastIndex(where: { !$0.quoted && $0.text.hasPrefix(">") }) else { return (words, nil) }
        let w = words[i]
        let append = w.text.hasPrefix(">>")
        let attached = String(w.text.dropFirst(append ? 2 : 1))
        let path: String
        if attached.isEmpty {
            guard i == words.count - 2 else {
                throw .usage("'\(w.text)' takes one file after it, at the end of the command, such as: fills 1 --csv > fills.csv")
            }
            path = words[i + 1].text
        } else {
            guard i == words.count - 1 else {
                throw .usage("'\(w.text)' must come last, such as: fills 1 --csv > fills.csv")
            }
            path = attached
        }
        guard !path.hasPrefix(">") else { throw .usage("'\(w.text)': '>>' appends, '>' replaces; no more than two") }
        return (Array(words[..<i]), (path, append))
    }

    /// A command's output to a file: replaced whole (`>`), or appended (`>>`).
    func write(_ text: String, to path: String, append: Bool) throws(ShellError) {
        let url = resolvePath(path)
        if dryRun { return }
        if !append { return try writeAtomically(text, to: url, mode: 0o644) }
        guard let handle = FileHandle(forWritingAtPath: url.path) ?? (FileManager.default.createFile(atPath: url.path, contents: nil) ? FileHandle(forWritingAtPath: url.path) : nil) else {
            throw .failure("cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
        do {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw .failure("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    func report(_ error: ShellError, origin: LineOrigin) {
        guard error.kind != .reported else { return }
        let prefix: String
        switch origin {
        case .interactive, .argument: prefix = ""
        case .script(let path, let line): prefix = "\(path):\(line): "
        }
        let label = renderer.paint("error:", .red)
        console.writeError("\(prefix)\(label) \(error.message)\n")
    }

    public func warn(_ message: String) {
        console.writeError(renderer.paint("warning:", .yellow) + " \(message)\n")
    }

    // MARK: Helpers for commands

    var renderer: Renderer { Renderer(color: colorEnabled, width: console.isTerminal ? console.columns : nil) }

    var colorEnabled: Bool {
        switch option("color") {
        case "on": true
        case "off": false
        default: console.isTerminal && environment["NO_COLOR"].map(\.isEmpty) ?? true
        }
    }

    /// Whether a line should go into the history file: never lines of sensitive commands, and
    /// never a line that does not lex and parse as known commands (a secret pasted at the
    /// prompt by mistake is such a line).
    public nonisolated static func shouldRecord(_ line: String) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !line.hasPrefix(" ") else { return false }
        guard let statements = try? Lexer.statements(line) else { return false }
        let parser = Parser(registry: registry)
        return !statements.contains { words in
            (words.first.flatMap { registry.lookup($0.text) }?.sensitive ?? true) || (try? parser.parse(words)) == nil
        }
    }

    /// A word that may be an API key or secret: long, of letters and digits mixed, or MEXC's
    /// `mx0` key prefix. Errors never repeat such a word.
    nonisolated static func looksSecret(_ word: String) -> Bool {
        guard word.count >= 12, !word.contains("."), !word.contains("/"), !word.contains(":") else { return false }
        if word.lowercased().hasPrefix("mx0") { return true }
        let letters = word.contains { $0.isLetter }, digits = word.contains { $0.isNumber }
        return word.count >= 20 && letters && digits && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }
    }

    /// The error with every secret-looking word of the line taken out of its message.
    nonisolated static func redacted(_ error: any Error, words: [Word]) -> ShellError {
        var e = ShellError.from(error)
        for w in words where looksSecret(w.text) {
            e.message = e.message.replacingOccurrences(of: w.text, with: "…(a word that looks like a key or secret, not shown)")
        }
        return e
    }

    /// The value of a shell-wide option, as text.
    func option(_ key: String) -> String {
        let spec = try! OptionCatalog.lookup(key)
        if let stored = storedOptions[key], let v = try? spec.parse(stored) { return spec.render(v) }
        return spec.render(spec.defaultValue)
    }

    /// The instance an invocation names, or the current one.
    func target(_ inv: Invocation, arg: String = "ID") async throws(ShellError) -> InstanceRecord {
        let id: Int
        if let text = inv.args[arg] {
            guard let n = Int(text) else { return try await record(named: text) }
            id = n
        } else if let current {
            id = current
        } else {
            throw .failure("no current instance; give an id (\(inv.spec.name) 1 …) or choose one with 'use ID' ('list' shows them)")
        }
        return try await record(id)
    }

    /// The instance with this name (exactly, else ignoring case).
    func record(named name: String) async throws(ShellError) -> InstanceRecord {
        let all = try await api.instances()
        if let r = all.first(where: { $0.name == name }) ?? all.first(where: { $0.name.lowercased() == name.lowercased() }) { return r }
        throw .notFound("there is no instance named '\(name)'; 'list' shows them")
    }

    func record(_ id: Int) async throws(ShellError) -> InstanceRecord {
        guard let r = try await api.instance(id) else {
            throw .notFound("there is no instance \(id); 'list' shows them")
        }
        return r
    }

    /// An instance's settings, with a warning for any stored value this version cannot read
    /// (it keeps its default here, and the stored text is left as it is).
    func settings(of id: Int, warn shouldWarn: Bool = false) async throws(ShellError) -> Settings {
        let (settings, problems) = try await api.settings(of: id)
        if shouldWarn { for p in problems { warn(p) } }
        return settings
    }

    func refreshCompletionData() async {
        // One call for the instances and their stored settings (so that '?' on a client can say
        // a setting's current value): this runs before every prompt.
        let overview = (try? await api.overview()) ?? []
        var settings: [Int: [String: String]] = [:]
        for o in overview { settings[o.record.id] = o.storedSettings }
        let current = self.current
        completionData.withLock {
            $0.instances = overview.map { ($0.record.id, $0.record.name) }
            $0.settings = settings
            $0.current = current
        }
    }

    func setCurrent(_ id: Int?) async {
        current = id
        guard !dryRun else { return }
        // Remembered for the next interactive session; failure to remember is not worth an error.
        if (try? await api.setOption(Shell.currentKey, id.map(String.init))) != nil { storedOptions[Shell.currentKey] = id.map(String.init) }
    }

    func requestQuit() { quitRequested = true }

    /// Lines of history the interactive shell keeps (option `history.size`).
    public func historySize() -> Int { Int(option("history.size")) ?? 1000 }

    /// Two lines for a newcomer, the first time the interactive shell opens on this data directory.
    public func greetIfFirstRun() async {
        guard storedOptions[Shell.greetedKey] == nil else { return }
        console.write(renderer.render(Line([("Welcome to mmsh, the market-making shell for MEXC spot.", .bold)])) + "\n")
        console.write("Type 'new' to create an instance, 'help' for commands; Tab completes, '?' explains.\n")
        if (try? await api.setOption(Shell.greetedKey, "1")) != nil { storedOptions[Shell.greetedKey] = "1" }
    }

    static let greetedKey = "_greeted"

    /// The prompt: `mmsh[2 · 3 running · 1 halted]> `, `mmsh[2]> `, or `mmsh> `.
    public func prompt() async -> String {
        let running = await api.runningCount()
        var inside: [String] = []
        // No current instance is a dash, so that "10 running" never reads like instance 10.
        if let current { inside.append("\(current)") } else if running > 0 { inside.append("–") }
        if running > 0 { inside.append("\(running) running") }
        let held = await api.riskModes()
        let halted = held.values.filter { $0 == .halted }.count, reducing = held.values.filter { $0 == .reducing }.count
        if halted > 0 { inside.append("\(halted) halted") }
        if reducing > 0 { inside.append("\(reducing) reducing") }
        return inside.isEmpty ? "mmsh> " : "mmsh[\(inside.joined(separator: " · "))]> "
    }

    /// Pending notifications of running instances (when option notify is on), and clears them.
    /// The same warning repeated (a venue that keeps failing) is shown once, with its count.
    public func takeNotifications() -> [String] {
        let pending = notifications.take()
        guard option("notify") == "on" else { return [] }
        return Shell.collapsed(pending).map { line in
            renderer.paint(line, line.contains("] error:") ? .red : .yellow)
        }
    }

    /// Lines in their first order, each once, with `(×N)` when it came N times.
    nonisolated static func collapsed(_ lines: [String]) -> [String] {
        var order: [String] = [], counts: [String: Int] = [:]
        for line in lines {
            if counts[line] == nil { order.append(line) }
            counts[line, default: 0] += 1
        }
        return order.map { counts[$0]! > 1 ? "\($0) (×\(counts[$0]!))" : $0 }
    }

    /// Runs that a killed engine left open are closed and said so in their logs.
    /// Returns the instances whose runs were closed.
    @discardableResult
    public func closeInterruptedRuns() async -> [Int] { await api.closeInterruptedRuns() }

    /// After a crash: the interrupted instances with `autostart on` start again, as `start` would
    /// (orders of the earlier run cancelled or adopted). Returns what each start said.
    public func autostart(_ interrupted: [Int]) async -> [String] {
        var said: [String] = []
        for id in interrupted.sorted() where (try? await settings(of: id))?["autostart"].bool == true {
            if let error = await run(line: "start \(id)", origin: .argument) {
                said.append("autostart of \(id) failed: \(error.message)")
                await api.logEvent(instance: id, level: .error, kind: "connection",
                                   message: "could not start again by itself after the crash: \(error.message)")
            } else {
                said.append("autostarted \(id)")
            }
        }
        return said
    }

    /// What an attached client shows: its prompt and what completion offers.
    public func clientPrompt() async -> (prompt: String, data: CompletionData, quit: Bool, historySize: Int) {
        await refreshCompletionData()
        return (await prompt(), completionData.withLock { $0 }, quitRequested, historySize())
    }
}

/// A snapshot of what completion offers that changes at run time.
public struct CompletionData: Sendable {
    public var instances: [(id: Int, name: String)] = []
    /// Each instance's stored (non-default) settings, as text.
    public var settings: [Int: [String: String]] = [:]
    public var current: Int?
    public init() {}

    /// The instance a line means: its first argument as an id or a name, else the current one.
    func instance(for argument: String?) -> Int? {
        if let argument {
            if let id = Int(argument), instances.contains(where: { $0.id == id }) { return id }
            if let named = instances.first(where: { $0.name == argument }) { return named.id }
        }
        return current
    }
}
