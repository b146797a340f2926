import Foundation
import LineEditing
import MMControl
import MMShell

/// The client's ways of feeding the engine: the interactive shell, piped input, `-c`, a script.
extension EngineClient {
    /// Attaches, or says in one line why it cannot (exit 1).
    static func attachOrExit(interactive: Bool) throws -> EngineClient {
        let terminal = isatty(STDOUT_FILENO) != 0
        let editor = interactive ? ClientEditor.shared : nil
        do {
            return try attach(interactive: interactive, terminal: terminal,
                              ask: { question in editor?.ask(question) ?? false },
                              askSecret: { prompt in editor?.readHidden(prompt) })
        } catch {
            if !error.message.isEmpty { FileHandle.standardError.write(Data("mmsh: error: \(error.message)\n".utf8)) }
            throw ExitCodeError(1)
        }
    }

    /// The interactive loop. Leaving it (quit, Ctrl-D, a lost terminal) leaves running instances
    /// to the engine; `quit` asks first whether to stop them.
    func interactiveLoop() -> Int32 {
        let editor = ClientEditor.shared.start(directory: directory, historySize: state.historySize)
        Interrupt.install()
        watchNotifications(editor)
        do {
            while true {
                for note in takePending() { print(note) }
                switch editor.read(prompt: state.prompt) {
                case .eof:
                    // Ctrl-D asks what quit asks; without a terminal (it went away) nobody answers,
                    // and the instances keep running in the engine.
                    if Interrupt.terminationRequested { return 0 }
                    print("")
                    _ = try run("quit", origin: "interactive")
                    if state.quit { return 0 }
                case .interrupted:
                    continue
                case .line(let line):
                    if Shell.shouldRecord(line) { editor.record(line) }
                    Interrupt.clear()
                    _ = try run(line, origin: "interactive")
                    if Interrupt.requested && !Interrupt.terminationRequested { print("") }
                    if state.quit || Interrupt.terminationRequested { return 0 }
                }
            }
        } catch {
            FileHandle.standardError.write(Data("mmsh: error: \(error.message); 'mmsh daemon status' tells whether the engine still runs, and 'mmsh' attaches again (or starts a new one)\n".utf8))
            return 1
        }
    }

    /// Commands piped into standard input: run as they arrive, stopping at the first failure.
    func pipedLoop() -> Int32 {
        Interrupt.install()
        var reader = LineReader(fileDescriptor: STDIN_FILENO, interrupted: { Interrupt.requested }, wakeFD: Interrupt.wakeDescriptor)
        var number = 0
        do {
            while let item = reader.next() {
                number += 1
                guard case .line(let text) = item else {
                    FileHandle.standardError.write(Data("<stdin>:\(number): error: line is not valid UTF-8\n".utf8))
                    return 64
                }
                let code = try run(text, origin: "stdin", number: number)
                if code != 0 { return code == 130 ? 130 : 1 }
                if state.quit { break }
            }
        } catch {
            FileHandle.standardError.write(Data("mmsh: error: \(error.message)\n".utf8))
            return 1
        }
        return Interrupt.terminationRequested ? 143 : Interrupt.requested ? 130 : 0
    }
}

struct ExitCodeError: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}

/// The line editor of the interactive client, shared with the answers to the engine's questions.
final class ClientEditor: @unchecked Sendable {
    static let shared = ClientEditor()
    private var editor: LineEditor?

    func start(directory: URL, historySize: Int) -> LineEditor {
        if let editor { return editor }
        let editor = LineEditor(
            historyPath: directory.appendingPathComponent("history").path, historyLimit: historySize,
            complete: { line in Completer(data: EngineClient.completion.withLock { $0 }).complete(line) },
            help: { line in Renderer(color: false).render(Help.context(line: line, data: EngineClient.completion.withLock { $0 }), json: false) })
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
