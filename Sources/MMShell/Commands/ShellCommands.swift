import Foundation
import MMCore
import MMStorage

/// Every command of the shell, in the order `help` lists them.
public enum Commands {
    public static let all: [CommandSpec] = instanceCommands + settingCommands + engineCommands + riskCommands + tradingCommands + marketCommands + ledgerCommands + chartCommands + backtestCommands + sweepCommands + vaultCommands + shellCommands

    /// Headings for `help`.
    static let groups: [(String, [String])] = [
        ("Instances", ["new", "list", "use", "rename", "copy", "delete"]),
        ("Settings", ["set", "get", "reset", "show", "settings", "save"]),
        ("Trading", ["start", "stop", "pause", "resume", "halt", "status", "orders", "fills", "log", "clear-log", "preview"]),
        ("Market and P&L", ["book", "trades", "balance", "market", "pnl", "chart", "export"]),
        ("Backtests", ["record", "backtest", "sweep"]),
        ("Keys", ["keys", "vault"]),
        ("Shell", ["option", "source", "apply", "help", "quit"]),
    ]

    static let shellCommands: [CommandSpec] = [
        CommandSpec("option", summary: "list, show or set shell-wide options",
                    args: [ArgSpec("KEY", .optionKey, optional: true), ArgSpec("VALUE", .optionValue, optional: true)],
                    examples: ["option", "option color off", "option max_instances 5"], showsData: true) { inv, shell in
            try await shell.option(inv)
        },
        CommandSpec("source", summary: "run the commands of a .mmsh script",
                    args: [ArgSpec("FILE", .file(extensions: ["mmsh"]))],
                    examples: ["source setups/btc.mmsh"],
                    details: "Paths are relative to the working directory, or inside a script to that script's folder. The script stops at its first failing line, and what it did is undone: instances it created are deleted again (unless started), settings it changed put back (unless the instance runs).") { inv, shell in
            try await shell.source(inv["FILE"]!)
        },
        CommandSpec("apply", summary: "run a .mmsh script so that it converges: create what is missing, set what differs",
                    args: [ArgSpec("FILE", .file(extensions: ["mmsh"]))],
                    examples: ["apply setups/btc.mmsh"],
                    details: "Like source, but 'new NAME' uses the instance of that name when it exists, and a setting already at its value is left alone; settings the file does not name are not touched. Applying the same file again changes nothing. A failing line undoes what the file did, as with source. 'save' writes files that apply.") { inv, shell in
            try await shell.apply(inv["FILE"]!)
        },
        CommandSpec("help", summary: "list commands, or explain one", args: [ArgSpec("COMMAND", .command, optional: true)],
                    examples: ["help", "help set", "set --help"]) { inv, shell in
            inv["COMMAND"].flatMap { Shell.registry.lookup($0) }.map(Help.command) ?? Help.overview()
        },
        CommandSpec("quit", aliases: ["exit"], summary: "leave the shell; running instances keep running in the engine, or stop",
                    flags: [FlagSpec("--detach", "leave running instances running in the engine, without asking"),
                            FlagSpec("--stop", "stop running instances (cancelling their orders) without asking"),
                            FlagSpec("--force", "the same as --stop")],
                    examples: ["quit", "quit --detach", "quit --stop"],
                    details: "Instances run in the engine, a background process per data directory, not in the shell: leaving the shell leaves them running, and 'mmsh' attaches again. On a terminal, with instances running, quit (and Ctrl-D) asks whether to stop them first; --stop stops them (every order cancelled and each cancellation confirmed) and --detach leaves them without asking. Recordings ('record PAIR') go on in the engine too, unless --stop. The end of -c, of a script or of piped input leaves them running. In a dry run (mmsh run --dry-run), which runs without the engine, instances stop with the shell.") { inv, shell in
            try await shell.quit(inv)
        },
    ]
}

extension Shell {
    func quit(_ inv: Invocation) async throws(ShellError) -> Output {
        let running = await api.runningCount()
        let stop = inv.has("--stop") || inv.has("--force")
        if stop && inv.has("--detach") { throw .usage("quit: --stop and --detach exclude each other") }
        var stopping = stop || (!detachable && running > 0)
        if running > 0 && detachable && !stop && !inv.has("--detach") && console.isInteractive {
            let (them, they) = running == 1 ? ("it", "it keeps") : ("them", "they keep")
            stopping = await console.confirm("\(running) instance\(running == 1 ? " is" : "s are") running; stop \(them) before leaving? (no: \(they) running in the engine, and 'mmsh' attaches again)")
        }
        var out = Output()
        if stopping {
            for (id, n) in await shutdown(reason: "quit") {
                out.line("stopped \(id): \(n) order\(n == 1 ? "" : "s") cancelled")
            }
        } else if running > 0 {
            out.line("\(running) instance\(running == 1 ? " keeps" : "s keep") running in the engine; 'mmsh' attaches again, 'mmsh daemon stop' stops everything")
        }
        // Recordings run on in the engine whatever is chosen for the instances (those of instances end with them).
        let recording = await api.recordings().filter { $0.state == .recording }
        if !recording.isEmpty && detachable {
            out.line("\(recording.count) recording\(recording.count == 1 ? " goes" : "s go") on in the engine ('record list'; 'record stop ID' ends one)")
        }
        requestQuit()
        return out
    }

    func option(_ inv: Invocation) async throws(ShellError) -> Output {
        guard let key = inv["KEY"] else {
            var table = Table(["OPTION", "VALUE", "DEFAULT", "MEANING"])
            var fields: [(String, JSON)] = []
            for spec in OptionCatalog.specs {
                let value = option(spec.key)
                table.add([spec.key, value, spec.render(spec.defaultValue), spec.help])
                fields.append((spec.key, .string(value)))
            }
            var out = Output(json: .object([("options", .object(fields))]))
            out.table(table)
            return out
        }
        let spec = try! OptionCatalog.lookup(key)
        guard let text = inv["VALUE"] else {
            let value = option(spec.key)
            return Output(blocks: [.line(Line(value))], json: .object([("key", .string(spec.key)), ("value", .string(value))]))
        }
        let value: SettingValue
        do { value = try spec.parse(text) } catch { throw .usage(error.message) }
        if spec.key == "max_instances", let limit = value.integer {
            let count = try await api.instances().count
            if limit < count {
                throw .failure("max_instances \(limit) is below the \(count) instances that exist; delete some first")
            }
        }
        let before = option(spec.key)
        let rendered = spec.render(value)
        let stored: String? = value == spec.defaultValue ? nil : rendered
        try await api.setOption(spec.key, stored)
        storedOptions[spec.key] = stored
        return .message("option \(spec.key) \(before) → \(rendered)")
    }
}
