import ArgumentParser
import Foundation
import MMControl
import MMDaemon
import MMStorage
import MMVault
import Synchronization

struct Daemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The engine: the process that runs the instances of a data directory.",
        discussion: """
            Every mmsh is a client of its data directory's engine, and starts it in the background \
            when none runs (output in daemon.log there). 'mmsh daemon' runs it in the foreground, for \
            systemd; it stays up until stopped. The API is HTTP/1.1 on the Unix socket mmsh.sock in \
            the data directory: curl --unix-socket ~/.local/share/mmsh/mmsh.sock http://localhost/v1/instances
            """,
        subcommands: [Serve.self, Status.self, Stop.self, Token.self],
        defaultSubcommand: Serve.self
    )

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the engine in the foreground (the default).")

        @Option(help: ArgumentHelp("Exit after this many seconds with no running instance and no client attached (0: never).", valueName: "seconds"))
        var idleExit = 0

        @Option(help: ArgumentHelp("Unlock the vault at start with the passphrase in FILE (readable by its owner only), for unattended starts.", valueName: "file"),
                completion: .file())
        var passphraseFile: String?

        func run() throws {
            let directory: DataDirectory
            do { directory = try DataDirectory(url: DataDirectory.resolve()) } catch {
                FileHandle.standardError.write(Data("mmsh daemon: \(error.message)\n".utf8))
                throw ExitCode(1)
            }
            let engine: EngineService
            do {
                engine = try EngineService(directory: directory,
                                           options: EngineOptions(idleExit: idleExit > 0 ? .seconds(idleExit) : nil, releasesIdleMemory: true))
            } catch {
                FileHandle.standardError.write(Data("mmsh daemon: \(error.message)\n".utf8))
                throw ExitCode(1)
            }
            if let passphraseFile {
                try unlock(engine, file: passphraseFile)
            } else if let passphrase = ProcessInfo.processInfo.environment["MMSH_PASSPHRASE"], !passphrase.isEmpty,
                      FileManager.default.fileExists(atPath: directory.file("vault.json").path) {
                // Shells run in their clients, with their own environment: the engine's own
                // MMSH_PASSPHRASE (a systemd unit's) unlocks its vault here, once.
                try unlock(engine, passphrase: passphrase, from: "MMSH_PASSPHRASE")
            }
            let done = DispatchSemaphore(value: 0)
            let failure = Mutex<String?>(nil)
            let stamp = LogTime.now()
            Task {
                do {
                    try await engine.run {
                        FileHandle.standardError.write(Data("\(stamp) mmsh engine \(getpid()) serving \(engine.socketPath)\n".utf8))
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
                done.signal()
            }
            done.wait()
            if let message = failure.withLock({ $0 }) {
                FileHandle.standardError.write(Data("mmsh daemon: \(message)\n".utf8))
                throw ExitCode(1)
            }
            FileHandle.standardError.write(Data("\(LogTime.now()) mmsh engine \(getpid()) stopped\n".utf8))
        }

        func unlock(_ engine: EngineService, file: String) throws {
            var info = stat()
            guard stat(file, &info) == 0, let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                FileHandle.standardError.write(Data("mmsh daemon: cannot read the passphrase file \(file)\n".utf8))
                throw ExitCode(1)
            }
            guard info.st_mode & 0o077 == 0 else {
                FileHandle.standardError.write(Data("mmsh daemon: \(file) is readable by others; chmod 600 it first\n".utf8))
                throw ExitCode(1)
            }
            let passphrase = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            try unlock(engine, passphrase: passphrase, from: file)
        }

        func unlock(_ engine: EngineService, passphrase: String, from source: String) throws {
            do { try engine.engine.vault?.unlock(passphrase: passphrase) } catch {
                FileHandle.standardError.write(Data("mmsh daemon: the vault did not unlock with the passphrase of \(source): \(error.message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Whether an engine runs for the data directory, and what it does.")
        @Flag(help: "Print the engine's answer as JSON.") var json = false

        func run() throws {
            let socket = DataDirectory.resolve().appendingPathComponent(EngineFiles.socket).path
            do {
                let answer = try ControlHTTP.request(socket: socket, method: "GET", path: "/v1/daemon")
                if json { print(answer.body, terminator: "") ; return }
                let o = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any] ?? [:]
                let running = (o["running"] as? [Int]) ?? []
                print("engine \(o["pid"] ?? "?") serving \(socket); up \(o["uptime_seconds"] ?? 0)s; \(o["sessions"] ?? 0) client(s) attached; "
                      + (running.isEmpty ? "no instance running" : "running: \(running.map(String.init).joined(separator: ", "))"))
            } catch where error.noEngine {
                print("no engine runs for \(DataDirectory.resolve().path); any mmsh starts one")
                throw ExitCode(3)
            } catch {
                FileHandle.standardError.write(Data("mmsh daemon status: \(error.message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every instance (orders cancelled and confirmed), then the engine.")

        func run() throws {
            let directory = DataDirectory.resolve()
            let socket = directory.appendingPathComponent(EngineFiles.socket).path
            do {
                _ = try ControlHTTP.request(socket: socket, method: "POST", path: "/v1/daemon/stop")
            } catch where error.noEngine {
                print("no engine runs for \(directory.path)")
                return
            } catch {
                // The request went out: an engine already shutting down may close the connection
                // before its answer. Whether it stops is what the socket's disappearance tells.
            }
            // Gone when its socket is: it removes it after the last instance has stopped.
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if (try? SocketConnection(path: socket)) == nil {
                    print("engine stopped")
                    return
                }
                usleep(50_000)
            }
            FileHandle.standardError.write(Data("mmsh daemon stop: the engine is still stopping its instances after 2 minutes; see \(EngineFiles.log)\n".utf8))
            throw ExitCode(1)
        }
    }

    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new bearer token for the API's TCP listener (option api.listen); the old one stops working.",
            discussion: "The token is printed once, here; the engine keeps only its SHA-256. Send it as 'Authorization: Bearer TOKEN'.")

        func run() throws {
            let directory = DataDirectory.resolve()
            let socket = directory.appendingPathComponent(EngineFiles.socket).path
            do {
                // An engine is started for it when none runs, as for any command.
                _ = try EngineClient.connect(socket: socket, directory: directory)
                let answer = try ControlHTTP.request(socket: socket, method: "POST", path: "/v1/daemon/token")
                let o = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any] ?? [:]
                guard answer.status == 200, let token = o["token"] as? String else {
                    FileHandle.standardError.write(Data("mmsh daemon token: \(answer.body)".utf8))
                    throw ExitCode(1)
                }
                print(token)
                FileHandle.standardError.write(Data("mmsh: a new API token; keep it secret. It is shown only now; 'option api.listen HOST:PORT' serves the API on TCP with it.\n".utf8))
            } catch let e as ControlError {
                FileHandle.standardError.write(Data("mmsh daemon token: \(e.message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
