import Foundation

/// Splits bytes into lines, refusing lines that are not valid UTF-8 (never guessing at them).
public struct LineReader {
    public enum Item: Equatable, Sendable {
        case line(String)
        case invalidUTF8
    }

    private let fd: Int32?
    private let interrupted: () -> Bool
    private let wakeFD: Int32?
    private var data: [UInt8]
    private var eof = false

    /// Lines of a file read whole.
    public init(bytes: [UInt8]) {
        self.fd = nil
        self.data = bytes
        self.interrupted = { false }
        self.wakeFD = nil
    }

    /// Lines read from a file descriptor as they arrive (piped standard input). The input ends
    /// early when `interrupted` says so; `wakeFD` becomes readable when it might (a signal may
    /// land on another thread, so a blocked read would never see it).
    public init(fileDescriptor: Int32, interrupted: @escaping () -> Bool = { false }, wakeFD: Int32? = nil) {
        self.fd = fileDescriptor
        self.data = []
        self.interrupted = interrupted
        self.wakeFD = wakeFD
    }

    /// The next line without its newline (and a trailing CR), or nil at the end.
    public mutating func next() -> Item? {
        while true {
            if let nl = data.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(data[..<nl])
                data.removeSubrange(...nl)
                return Self.decode(line)
            }
            if fd == nil || eof {
                guard !data.isEmpty else { return nil }
                defer { data = [] }
                return Self.decode(data)
            }
            if interrupted() { return nil }
            if let wakeFD {
                var fds = [pollfd(fd: fd!, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
                if poll(&fds, 2, -1) < 0 && errno != EINTR { eof = true; continue }
                if interrupted() { return nil }
                guard fds[0].revents != 0 else { continue }
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fd!, &buffer, buffer.count)
            if n < 0 && errno == EINTR {
                if interrupted() { return nil }
                continue
            }
            if n <= 0 { eof = true } else { data.append(contentsOf: buffer[..<n]) }
        }
    }

    private static func decode(_ bytes: [UInt8]) -> Item {
        var b = bytes[...]
        if b.last == UInt8(ascii: "\r") { b = b.dropLast() }
        guard let s = String(validating: b, as: UTF8.self) else { return .invalidUTF8 }
        return .line(s)
    }
}

extension Shell {
    /// Runs a script file: `mmsh run FILE`. Returns the process exit code.
    public func runScript(path: String, keepGoing: Bool = false, echo: Bool = false) async -> Int32 {
        self.keepGoing = keepGoing
        self.echo = echo
        let url = resolvePath(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
              FileManager.default.isReadableFile(atPath: url.path) else {
            report(.failure("cannot read \(path): \(isDirectory.boolValue ? "it is a directory" : "no such file or not readable")"),
                   origin: .argument)
            return 66
        }
        do {
            try await runFile(url, shownAs: path)
            return 0
        } catch {
            report(error, origin: .argument)
            return error.exitCode
        }
    }

    /// One line of a script fed from outside (piped standard input), reported as `NAME:LINE:`.
    public func runScriptLine(_ item: LineReader.Item, name: String, number: Int) async -> ShellError? {
        switch item {
        case .line(let text):
            return await run(line: text, origin: .script(path: name, line: number))
        case .invalidUTF8:
            let e = ShellError.usage("line is not valid UTF-8")
            report(e, origin: .script(path: name, line: number))
            return e
        }
    }

    /// `source FILE` inside the shell or a script.
    func source(_ path: String) async throws(ShellError) -> Output {
        try await runFile(resolvePath(path), shownAs: path)
        return .empty
    }

    /// `apply FILE`: runs the script so that it converges: `new NAME` uses the instance of that
    /// name when there is one, a setting already at its value is left alone, the rest is not
    /// touched. Running it again changes nothing.
    func apply(_ path: String) async throws(ShellError) -> Output {
        let was = applying
        applying = true
        defer { applying = was }
        try await runFile(resolvePath(path), shownAs: path)
        return .empty
    }

    /// Before an instance's settings change inside a script, what they were.
    func journalChange(of id: Int) async throws(ShellError) {
        guard let journal, journal.settingsBefore[id] == nil, !journal.created.contains(id) else { return }
        journal.settingsBefore[id] = try await api.storedSettings(id)
    }

    /// A failed script leaves nothing half done: what it created is deleted again (unless it
    /// has run: its orders and fills are kept), and settings it changed are put back (unless the
    /// instance runs now). Says what was undone and what was kept.
    func undo(_ journal: ScriptJournal, script: String) async {
        var undone: [String] = [], kept: [String] = []
        for id in journal.created.reversed() {
            guard let r = try? await api.instance(id) else { continue }
            let ran = (try? await api.lastRun(instance: id)) != nil
            if await api.isRunning(id) || ran {
                kept.append("instance \(describe(r)) was started by it and is kept")
                continue
            }
            do {
                try await api.deleteInstance(id)
                undone.append("instance \(describe(r)) deleted again")
                if current == id { await setCurrent(nil) }
            } catch {
                kept.append("instance \(describe(r)) could not be deleted (\(error.message))")
            }
        }
        for (id, before) in journal.settingsBefore.sorted(by: { $0.key < $1.key }) {
            guard let r = try? await api.instance(id), let now = try? await api.storedSettings(id), now != before else { continue }
            if await api.isRunning(id) {
                kept.append("the settings of \(describe(r)), which runs, stay as the script left them")
                continue
            }
            var changes: [String: String?] = before.mapValues { Optional($0) }
            for key in now.keys where before[key] == nil { changes[key] = .some(nil) }
            do {
                try await api.updateSettings(id, changes, note: nil)
                undone.append("the settings of \(describe(r)) put back")
            } catch {
                kept.append("the settings of \(describe(r)) could not be put back (\(error.message))")
            }
        }
        await refreshCompletionData()
        guard !undone.isEmpty || !kept.isEmpty else { return }
        let text = "\(script): nothing of it is left half done: " + (undone + kept).joined(separator: "; ")
        if kept.isEmpty { console.writeError(text + "\n") } else { warn(text) }
    }

    private func runFile(_ url: URL, shownAs: String) async throws(ShellError) {
        let canonical = url.resolvingSymlinksInPath().path
        if let start = scriptStack.firstIndex(of: canonical) {
            let chain = (scriptStack[start...] + [canonical]).map { URL(fileURLWithPath: $0).lastPathComponent }
            throw .failure("source cycle refused: \(chain.joined(separator: " → "))")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: canonical, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw .failure("cannot read \(shownAs): no such file")
        }
        guard let data = FileManager.default.contents(atPath: canonical) else {
            throw .failure("cannot read \(shownAs): permission denied")
        }
        scriptStack.append(canonical)
        defer { scriptStack.removeLast() }
        // The outermost script keeps the journal of what it changed, so a failure can be undone.
        let outermost = journal == nil && !keepGoing
        if outermost { journal = ScriptJournal() }
        defer { if outermost { journal = nil } }
        do { try await runLines(data, canonical: canonical, shownAs: shownAs) } catch {
            if outermost, let journal { await undo(journal, script: shownAs) }
            throw error
        }
    }

    private func runLines(_ data: Data, canonical: String, shownAs: String) async throws(ShellError) {
        // Errors name the script as the user wrote it at the top, and by path inside.
        let name = scriptStack.count == 1 ? shownAs : canonical
        var reader = LineReader(bytes: Array(data))
        var number = 0
        var failed = false
        while let item = reader.next() {
            number += 1
            if console.interrupted { throw .interrupted }
            if let error = await runScriptLine(item, name: name, number: number) {
                failed = true
                if error.kind == .interrupted { throw error }
                if !keepGoing { throw ShellError(.reported, error.message) }
            }
            if quitRequested { break }
        }
        if failed { throw ShellError(.reported, "\(shownAs) had failing lines") }
    }
}

/// What a script created and the settings it changed, in the order it did.
final class ScriptJournal {
    var created: [Int] = []
    /// The stored settings of an instance before the script first changed them.
    var settingsBefore: [Int: [String: String]] = [:]
}
