import Foundation
import MMControl
import MMShell

/// One attached shell: its own current instance and console, the engine's instances and store.
/// Commands run one at a time, off the loop that reads the client's frames, so that a Ctrl-C
/// or an answer reaches a command that is running.
actor AttachedSession {
    let engine: LocalEngine
    let send: @Sendable (SessionFrame) -> Void
    let engineEnvironment: [String: String]
    var shell: Shell?
    var console: RemoteConsole?
    var running: Task<Void, Never>?
    var queue: [SessionFrame] = []

    init(engine: LocalEngine, environment: [String: String], send: @escaping @Sendable (SessionFrame) -> Void) {
        self.engine = engine
        self.engineEnvironment = environment
        self.send = send
    }

    func received(_ text: String) async {
        guard let frame = SessionFrame.decode(text) else {
            send(.err("error: the engine could not read a frame from this client; is it a different mmsh version?\n"))
            return
        }
        switch frame.type {
        case .hello:
            await attach(frame.hello)
        case .interrupt:
            console?.interrupt()
        case .answer, .secret:
            console?.answered(frame)
        case .run, .script:
            console?.setColumns(frame.columns)
            queue.append(frame)
            if running == nil { runNext() }
        default:
            break
        }
    }

    func attach(_ hello: Hello?) async {
        guard shell == nil, let hello else { return }
        let console = RemoteConsole(hello: hello, send: send)
        // The engine's own variables (MMSH_PASSPHRASE of a systemd unit) unless the client gives its own.
        let environment = engineEnvironment.merging(hello.environment) { _, client in client }
        do {
            let shell = try await Shell(api: engine, console: console, detachable: true, environment: environment,
                                  workingDirectory: hello.directory)
            self.shell = shell
            self.console = console
            let send = self.send
            shell.notifications.onAppend {
                Task {
                    let lines = await shell.takeNotifications()
                    if !lines.isEmpty {
                        var f = SessionFrame(.notify)
                        f.lines = lines
                        send(f)
                    }
                }
            }
            if hello.interactive {
                try? await shell.restoreCurrent()
                await shell.greetIfFirstRun()
            }
            var welcome = SessionFrame(.welcome)
            welcome.state = await state(of: shell)
            send(welcome)
        } catch {
            send(.err("mmsh: error: \(error.message)\n"))
            var done = SessionFrame(.done)
            done.exitCode = 1
            send(done)
        }
    }

    func runNext() {
        guard let shell, let console, !queue.isEmpty else { running = nil; return }
        let frame = queue.removeFirst()
        console.beginCommand()
        running = Task {
            let code: Int32
            if frame.type == .script, let path = frame.line {
                code = await shell.runScript(path: path, keepGoing: frame.keepGoing ?? false, echo: frame.echo ?? false)
            } else {
                let line = frame.line ?? ""
                let error: ShellError?
                switch frame.origin {
                case "argument": error = await shell.run(line: line, origin: .argument)
                case "stdin": error = await shell.runScriptLine(.line(line), name: "<stdin>", number: frame.id ?? 0)
                default: error = await shell.run(line: line, origin: .interactive)
                }
                code = error?.exitCode ?? 0
            }
            var done = SessionFrame(.done)
            done.exitCode = code
            done.state = await self.state(of: shell)
            send(done)
            self.finished()
        }
    }

    func finished() {
        running = nil
        runNext()
    }

    func state(of shell: Shell) async -> ClientState {
        let s = await shell.clientPrompt()
        return ClientState(prompt: s.prompt, instances: s.data.instances.map { InstanceName(id: $0.id, name: $0.name, settings: s.data.settings[$0.id]) },
                           quit: s.quit, historySize: s.historySize, current: s.data.current)
    }

    /// The client went away (quit, a lost terminal, kill -9): questions get "no", a follow
    /// command ends, and the shell is let go. Running instances are the engine's, and go on.
    func detached() async {
        console?.disconnected()
        await running?.value
        queue = []
        shell = nil
    }
}
