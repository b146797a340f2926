import Foundation
import LineEditing
import MMControl
import MMShell

/// The client's ways of running lines: the interactive shell, piped input, `-c`, a script.
extension EngineClient {
    /// Attaches, or says in one line why it cannot (exit 1).
    static func attachOrExit(interactive: Bool) throws -> EngineClient {
        do { return try attach(interactive: interactive) } catch {
            FileHandle.standardError.write(Data("mmsh: error: \(error.message)\n".utf8))
            throw ExitCodeError(1)
        }
    }

    /// Runs one line as the shell's `origin`; nil when the engine could not be found again.
    private func run(_ line: String, origin: LineOrigin) -> ShellError? {
        do { try ensureEngine() } catch {
            return reportUnreachable(error)
        }
        return blocking { [shell] in await shell.run(line: line, origin: origin) }
    }

    private func reportUnreachable(_ error: ControlError) -> ShellError {
        FileHandle.standardError.write(Data("mmsh: error: \(error.message)\n".utf8))
        return .failure(error.message)
    }

    /// `mmsh -c LINE`: its exit code.
    func runArgument(_ line: String) -> Int32 {
        showNotificationsAtOnce()
        let error = run(line, origin: .argument)
        close()
        return error?.exitCode ?? 0
    }

    /// `mmsh run FILE`: the script is read here, relative to this directory.
    func runScript(path: String, keepGoing: Bool, echo: Bool) -> Int32 {
        showNotificationsAtOnce()
        let code = blocking { [shell] in await shell.runScript(path: path, keepGoing: keepGoing, echo: echo) }
        close()
        return code
    }

    /// Without a prompt, instance warnings go to standard error as they come, once the line has
    /// run for a moment (a short `-c` ends before any could come, and spares the engine a stream).
    private func showNotificationsAtOnce() {
        let shell = self.shell
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) { [self] in listen() }
        shell.notifications.onAppend {
            Task {
                for line in await shell.takeNotifications() { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
        }
    }

    /// The interactive loop. Leaving it (quit, Ctrl-D, a lost terminal) leaves running instances
    /// to the engine; `quit` and Ctrl-D ask first whether to stop them.
    func interactiveLoop() -> Int32 {
        var state = blocking { [shell] in
            try? await shell.restoreCurrent()
            await shell.greetIfFirstRun()
            return await shell.clientPrompt()
        }
        let editor = ClientEditor.shared.start(directory: directory, historySize: state.historySize, data: shell)
        listen()
        Interrupt.install()
        // Instance warnings show above the line being typed as they happen.
        let shell = self.shell, inbox = self.inbox
        shell.notifications.onAppend {
            Task { inbox.add(await shell.takeNotifications()) }
        }
        editor.watch(fd: inbox.wakeDescriptor) { inbox.take() }
        defer { close() }
        while true {
            for note in inbox.take() { FileHandle.standardOutput.write(Data((note + "\n").utf8)) }
            switch editor.read(prompt: state.prompt) {
            case .eof:
                // Ctrl-D asks what quit asks; without a terminal (it went away) nobody answers,
                // and the instances keep running in the engine.
                if Interrupt.terminationRequested { return 0 }
                print("")
                _ = run("quit", origin: .interactive)
            case .interrupted:
                continue
            case .line(let line):
                if Shell.shouldRecord(line) { editor.record(line) }
                Interrupt.clear()
                _ = run(line, origin: .interactive)
                if Interrupt.requested && !Interrupt.terminationRequested { print("") }
            }
            state = blocking { [shell] in await shell.clientPrompt() }
            if state.quit || Interrupt.terminationRequested { return 0 }
        }
    }

    /// Commands piped into standard input: run as they arrive, stopping at the first failure.
    func pipedLoop() -> Int32 {
        Interrupt.install()
        showNotificationsAtOnce()
        defer { close() }
        var reader = LineReader(fileDescriptor: STDIN_FILENO, interrupted: { Interrupt.requested }, wakeFD: Interrupt.wakeDescriptor)
        var number = 0
        while let item = reader.next() {
            number += 1
            let error: ShellError?
            do {
                try ensureEngine()
                let n = number
                error = blocking { [shell] in await shell.runScriptLine(item, name: "<stdin>", number: n) }
            } catch {
                _ = reportUnreachable(error)
                return 1
            }
            if let error {
                if case .invalidUTF8 = item { return 64 }
                return error.exitCode == 130 ? 130 : 1
            }
            if blocking({ [shell] in await shell.quitRequested }) { break }
        }
        return Interrupt.terminationRequested ? 143 : Interrupt.requested ? 130 : 0
    }
}

struct ExitCodeError: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}

/// The line editor of the interactive client, shared with the shell's questions.
final class ClientEditor: @unchecked Sendable {
    static let shared = ClientEditor()
    private var editor: LineEditor?

    func start(directory: URL, historySize: Int, data shell: Shell) -> LineEditor {
        if let editor { return editor }
        let editor = LineEditor(
            historyPath: directory.appendingPathComponent("history").path, historyLimit: historySize,
            complete: { line in Completer(data: shell.completionData.withLock { $0 }).complete(line) },
            help: { line in Renderer(color: false).render(Help.context(line: line, data: shell.completionData.withLock { $0 }), json: false) })
        self.editor = editor
        return editor
    }

    func ask(_ question: String) -> Bool {
        guard let editor else { return false }
        let answer = editor.ask(question + " [y/N] ")?.trimmingCharacters(in: .whitespaces).lowercased()
        return answer == "y" || answer == "yes"
    }

    func readHidden(_ prompt: String) -> String? { editor?.readHidden(prompt: prompt) }
}
