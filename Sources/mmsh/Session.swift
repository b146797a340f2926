import ArgumentParser
import Foundation
import LineEditing
import MMShell
import MMStorage
import MMVault
import Synchronization

/// One run of the mmsh process: its data directory (held locked), store and shell.
final class Session: Sendable {
    let directory: DataDirectory
    let shell: Shell
    let interactive: Bool

    private init(directory: DataDirectory, shell: Shell, interactive: Bool) {
        self.directory = directory
        self.shell = shell
        self.interactive = interactive
    }

    static func open(interactive: Bool, dryRun: Bool = false) throws -> Session {
        let console: any Console = interactive
            ? StandardConsole(isInteractive: true, interrupted: { Interrupt.requested },
                              confirm: { question in Session.askOnTerminal(question) },
                              readSecret: { prompt in Session.editor.withLock { $0 }?.readHidden(prompt) })
            : StandardConsole(interrupted: { Interrupt.requested })
        do {
            let directory = try DataDirectory(url: DataDirectory.resolve())
            var store = try Store.open(directory: directory)
            // A dry run acts on a private copy, so even its `new` and `set` lines are checked for real.
            if dryRun { store = try Store.inMemory(copyOf: store) }
            let vault = Vault(url: directory.file("vault.json"))
            let shell = try Shell(store: store, console: console, dryRun: dryRun, vault: vault)
            let session = Session(directory: directory, shell: shell, interactive: interactive)
            if !dryRun { session.blocking { await shell.closeInterruptedRuns() } }
            return session
        } catch let e as ExitCode {
            throw e
        } catch let e as StoreError {
            console.writeError("mmsh: error: \(e.message)\n")
            throw ExitCode(1)
        } catch let e as ShellError {
            console.writeError("mmsh: error: \(e.message)\n")
            throw ExitCode(1)
        }
    }

    /// Runs async work from the synchronous main thread, which stays free for libedit and signals.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await body()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    private static func askOnTerminal(_ question: String) -> Bool {
        guard let editor = Session.editor.withLock({ $0 }) else { return false }
        let answer = editor.ask(question + " [y/N] ")?.trimmingCharacters(in: .whitespaces).lowercased()
        return answer == "y" || answer == "yes"
    }

    static let editor = Mutex<EditorRef?>(nil)

    /// The interactive loop. Returns the exit code.
    func interactiveLoop() -> Int32 {
        let shell = self.shell
        let historySize = blocking { await shell.historySize() }
        let editor = LineEditor(
            historyPath: directory.file("history").path, historyLimit: historySize,
            complete: { line in Completer(data: shell.completionData.withLock { $0 }).complete(line) },
            help: { line in Renderer(color: false).render(Help.context(line: line), json: false) })
        Session.editor.withLock { $0 = EditorRef(editor) }
        Interrupt.install()
        blocking {
            try? await shell.restoreCurrent()
            await shell.greetIfFirstRun()
        }
        while true {
            for note in blocking({ await shell.takeNotifications() }) { print(note) }
            let prompt = blocking { await shell.prompt() }
            switch editor.read(prompt: prompt) {
            case .eof:
                return finish(reason: Interrupt.terminationRequested ? "signal" : "end of input", code: 0)
            case .interrupted:
                continue
            case .line(let line):
                if Shell.shouldRecord(line) { editor.record(line) }
                Interrupt.clear()
                _ = blocking { await shell.run(line: line, origin: .interactive) }
                // Ctrl-C ended a follow command (log --tail, status --watch): back on a line of its own.
                if Interrupt.requested && !Interrupt.terminationRequested { print("") }
                if blocking({ await shell.quitRequested }) { return 0 }
                if Interrupt.terminationRequested { return finish(reason: "signal", code: 0) }
            }
        }
    }

    /// Commands piped into standard input: run as they arrive, stopping at the first failure.
    func pipedLoop() -> Int32 {
        Interrupt.install()
        var reader = LineReader(fileDescriptor: STDIN_FILENO, interrupted: { Interrupt.requested },
                                wakeFD: Interrupt.wakeDescriptor)
        var number = 0
        let shell = self.shell
        while let item = reader.next() {
            number += 1
            let n = number
            if let error = blocking({ await shell.runScriptLine(item, name: "<stdin>", number: n) }) {
                return finish(reason: "a failing command", code: error.kind == .interrupted ? 130 : 1)
            }
            if blocking({ await shell.quitRequested }) { break }
        }
        if Interrupt.terminationRequested { return finish(reason: "signal", code: 143) }
        return finish(reason: "end of input", code: Interrupt.requested ? 130 : 0)
    }

    /// Stops every running instance (cancelling and confirming their orders) before exit.
    func finish(reason: String, code: Int32) -> Int32 {
        let shell = self.shell
        let stopped = blocking { await shell.shutdown(reason: reason) }
        for (id, n) in stopped {
            FileHandle.standardError.write(Data("stopped \(id): \(n) order\(n == 1 ? "" : "s") cancelled (\(reason))\n".utf8))
        }
        return code
    }
}

/// The line editor is used from the main thread only; confirmations borrow it while the main
/// thread waits for the command that asks.
final class EditorRef: @unchecked Sendable {
    let editor: LineEditor
    init(_ editor: LineEditor) { self.editor = editor }
    func ask(_ question: String) -> String? { editor.ask(question) }
    func readHidden(_ prompt: String) -> String? { editor.readHidden(prompt: prompt) }
}
