import ArgumentParser
import CCurl
import Foundation
import LineEditing
import MMShell
import MMControl
import MMStorage

@main
enum Entry {
    static func main() {
        // `mmsh -c COMMANDS`, the form scripts, cron jobs and tools run most, goes straight to the
        // client: building ArgumentParser's command tree (reflection, a conformance check per
        // property) was a fifth of such a client's start. Every other form, `-c` with anything
        // else or a value that could be an option, is ArgumentParser's as before.
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.count == 2, arguments.first == "-c", let command = arguments.last, !command.hasPrefix("-") {
            exit(Mmsh.runCommand(command))
        }
        Mmsh.main()
    }
}

struct Mmsh: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmsh",
        abstract: "The market-making shell for MEXC spot.",
        discussion: """
            Without arguments on a terminal, opens the interactive shell; with commands piped into \
            standard input, runs them as a script. Instances run in the engine, one background process \
            per data directory that mmsh starts when none runs: closing the shell leaves them running, \
            and any mmsh attaches again. Data lives in $MMSH_HOME, else $XDG_DATA_HOME/mmsh, \
            else ~/.local/share/mmsh.
            Exit codes: 0 ok, 1 a command failed, 64 usage error, 66 script not found or unreadable, 130 interrupted.
            """,
        version: "mmsh 0.1.0 (\(String(cString: curl_version()).split(separator: " ").first ?? "libcurl"))",
        subcommands: [Run.self, Sim.self, Daemon.self]
    )

    @Option(name: .customShort("c"), help: ArgumentHelp("Run commands (separated by ';') and exit.", valueName: "commands"),
            completion: .custom { _, _, prefix in ShellCompletion.words(prefix) })
    var command: String?

    func run() throws {
        if let command { throw ExitCode(Mmsh.runCommand(command)) }
        let interactive = isatty(STDIN_FILENO) != 0
        let client: EngineClient
        do { client = try EngineClient.attachOrExit(interactive: interactive) } catch let e as ExitCodeError { throw ExitCode(e.code) }
        throw ExitCode(interactive ? client.interactiveLoop() : client.pipedLoop())
    }

    /// `-c COMMANDS`: runs them on the engine (started when none runs); the exit code.
    static func runCommand(_ command: String) -> Int32 {
        let client: EngineClient
        do { client = try EngineClient.attachOrExit(interactive: false) } catch let e as ExitCodeError { return e.code } catch { return 1 }
        Interrupt.install()
        return client.runArgument(command)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a .mmsh script.",
        discussion: "One command per line; '#' starts a comment. The first failing line stops the script and is reported as FILE:LINE: error: …. A script starting with '#!/usr/bin/env -S mmsh run' can be run directly."
    )

    @Argument(help: "The script to run.", completion: .file(extensions: ["mmsh"]))
    var file: String

    @Flag(help: "Carry on after a failing line; exit 1 at the end if any failed.")
    var keepGoing = false

    @Flag(help: "Print each command before running it.")
    var echo = false

    @Flag(help: "Parse and validate every line against a copy of the data; change nothing.")
    var dryRun = false

    func run() throws {
        let path = file, keepGoing = keepGoing, echo = echo
        if dryRun {
            // A dry run needs no engine: it checks every line against a private copy of the data.
            let session = try Session.open(dryRun: true)
            Interrupt.install()
            let shell = session.shell
            let code = blocking { await shell.runScript(path: path, keepGoing: keepGoing, echo: echo) }
            throw ExitCode(code)
        }
        let client: EngineClient
        do { client = try EngineClient.attachOrExit(interactive: false) } catch let e as ExitCodeError { throw ExitCode(e.code) }
        Interrupt.install()
        throw ExitCode(client.runScript(path: path, keepGoing: keepGoing, echo: echo))
    }
}

/// Completion of shell command words for `mmsh -c` in bash, zsh and fish.
enum ShellCompletion {
    static func words(_ prefix: String) -> [String] {
        Completer(data: CompletionData()).complete(prefix)
    }
}
