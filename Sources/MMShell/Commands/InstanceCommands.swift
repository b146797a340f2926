import Foundation
import MMCore
import MMStorage

extension Commands {
    static let instanceCommands: [CommandSpec] = [
        CommandSpec("new", summary: "create an instance and make it current",
                    args: [ArgSpec("NAME", .name, optional: true)],
                    flags: [FlagSpec("--or-use", "when an instance of that name exists, make it current instead (scripts that can run again)")],
                    examples: ["new", "new btc-tight", "new btc --or-use"],
                    details: "Ids are small whole numbers, stable while the instance exists. Without a name the instance is called mm<id>. Settings start at their defaults, which quote at once on the sim venue. Inside 'apply FILE', every 'new NAME' is 'new NAME --or-use'.",
                    showsData: true) { inv, shell in try await shell.newInstance(inv) },
        CommandSpec("list", aliases: ["ls"], summary: "list instances", examples: ["list", "ls --json"],
                    showsData: true) { inv, shell in try await shell.listInstances(inv) },
        CommandSpec("use", summary: "make an instance current", args: [ArgSpec("ID", .instance)],
                    examples: ["use 2"]) { inv, shell in try await shell.useInstance(inv) },
        CommandSpec("rename", summary: "rename an instance", args: [ArgSpec("ID", .instance), ArgSpec("NAME", .name)],
                    examples: ["rename 2 eth-wide"]) { inv, shell in try await shell.renameInstance(inv) },
        CommandSpec("copy", summary: "create an instance with another one's settings",
                    args: [ArgSpec("ID", .instance), ArgSpec("NAME", .name, optional: true)],
                    examples: ["copy 1", "copy 1 btc-wide"], showsData: true) { inv, shell in try await shell.copyInstance(inv) },
        CommandSpec("delete", summary: "delete an instance and its settings", args: [ArgSpec("ID", .instance)],
                    flags: [FlagSpec("--yes", short: "-y", "do not ask for confirmation")],
                    examples: ["delete 3", "delete 3 --yes"],
                    details: "On a terminal it asks first; elsewhere (scripts, mmsh -c) --yes is required.") { inv, shell in
            try await shell.deleteInstance(inv)
        },
    ]
}

extension Shell {
    func describe(_ r: InstanceRecord) -> String { "\(r.id) '\(r.name)'" }

    func newInstance(_ inv: Invocation) async throws(ShellError) -> Output {
        if let name = inv["NAME"], inv.has("--or-use") || applying,
           let existing = (try await api.instances()).first(where: { $0.name == name }) {
            await setCurrent(existing.id)
            return Output.message("using instance \(describe(existing)), which exists already; it is now current",
                                  json: .object([("id", .int(existing.id)), ("name", .string(existing.name)), ("created", .bool(false))]))
        }
        let limit = Int(option("max_instances"))!
        let r = try await api.createInstance(name: inv["NAME"], limit: limit, settings: [:])
        journal?.created.append(r.id)
        await setCurrent(r.id)
        await refreshCompletionData()
        let s = Settings()
        return Output.message("created instance \(describe(r)) (\(s.venue) \(s.pair)); it is now current",
                              json: .object([("id", .int(r.id)), ("name", .string(r.name))]))
    }

    func listInstances(_ inv: Invocation) async throws(ShellError) -> Output {
        let records = try await api.instances()
        var table = Table(["", "ID", "NAME", "PAIR", "VENUE", "STATE", "CHANGED"], align: [.left, .right, .left, .left, .left, .left, .right])
        var items: [JSON] = []
        for r in records {
            let s = try await settings(of: r.id)
            let isCurrent = r.id == current
            let state = StatusView.state(await api.runState(r.id), lastRun: try await api.lastRun(instance: r.id))
            table.add(styled: [(isCurrent ? "*" : "", .green), ("\(r.id)", .bold), (r.name, .plain), (s.pair, .plain),
                               (s.venue, .plain), (state, StatusView.style(state)), ("\(s.overrides.count)", .plain)])
            items.append(.object([("id", .int(r.id)), ("name", .string(r.name)), ("pair", .string(s.pair)),
                                  ("venue", .string(s.venue)), ("state", .string(state)), ("current", .bool(isCurrent))]))
        }
        var out = Output(json: .object([("instances", .array(items))]))
        if records.isEmpty {
            out.line("no instances yet; 'new' creates one")
        } else {
            out.table(table)
        }
        return out
    }

    func useInstance(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        await setCurrent(r.id)
        return .message("now using instance \(describe(r))")
    }

    func renameInstance(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let name = inv["NAME"]!
        try await api.renameInstance(r.id, to: name)
        await refreshCompletionData()
        return .message("renamed instance \(r.id) '\(r.name)' to '\(name)'")
    }

    func copyInstance(_ inv: Invocation) async throws(ShellError) -> Output {
        let source = try await target(inv)
        let raw = try await api.storedSettings(source.id)
        let limit = Int(option("max_instances"))!
        let r = try await api.createInstance(name: inv["NAME"], limit: limit, settings: raw)
        journal?.created.append(r.id)
        await setCurrent(r.id)
        await refreshCompletionData()
        return Output.message("copied instance \(describe(source)) to \(describe(r)); it is now current",
                              json: .object([("id", .int(r.id)), ("name", .string(r.name)), ("copied_from", .int(source.id))]))
    }

    func deleteInstance(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        if await api.isRunning(r.id) { throw .conflict("instance \(describe(r)) is running; 'stop \(r.id)' first") }
        if !inv.has("--yes") {
            guard console.isInteractive else {
                throw .failure("delete: add --yes to delete instance \(describe(r)) without being asked")
            }
            guard await console.confirm("delete instance \(describe(r)) and all its settings?") else {
                return .message("not deleted")
            }
        }
        try await api.deleteInstance(r.id)
        if current == r.id { await setCurrent(nil) }
        await refreshCompletionData()
        return .message("deleted instance \(describe(r))")
    }
}
