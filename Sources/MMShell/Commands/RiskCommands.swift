import Foundation
import MMCore
import MMEngine
import MMStorage
import MMStrategy

extension Commands {
    static let riskCommands: [CommandSpec] = [
        CommandSpec("pause", summary: "halt an instance by hand: cancel its orders, place nothing until 'resume'",
                    args: [ArgSpec("ID", .instanceOrAll, optional: true)], examples: ["pause", "pause 1", "pause all"],
                    details: "The instance keeps running (its fills, balances and limits are followed) but is halted: every order is cancelled and nothing is placed until 'resume'. 'status' and the prompt show it.") { inv, shell in
            try await shell.pause(inv, binding: RiskBinding("pause", "paused by hand"), verb: "paused")
        },
        CommandSpec("resume", summary: "lift a halt (by hand, or by a risk limit) and quote again",
                    args: [ArgSpec("ID", .instanceOrAll, optional: true)], examples: ["resume", "resume 1", "resume all"],
                    details: "The drawdown counts again from the current net P&L. An instance whose daily loss is still at risk.daily_loss stays halted until the day ends in hours.tz (or the limit is raised or set off); resume says so.") { inv, shell in
            try await shell.resume(inv)
        },
        CommandSpec("halt", summary: "cancel every order of every instance now, confirm it, and place nothing until 'resume'",
                    args: [ArgSpec("ID", .instanceOrAll)], examples: ["halt all", "halt 2"],
                    details: "For the moment something is wrong. Each running instance is halted at once (its orders cancelled, nothing placed), then the venue is asked to confirm that none of its orders is open. The instances keep running, halted, until 'resume'; 'stop all' ends them.") { inv, shell in
            try await shell.halt(inv)
        },
    ]
}

extension Shell {
    func pause(_ inv: Invocation, binding: RiskBinding, verb: String) async throws(ShellError) -> Output {
        var out = Output()
        for r in try await targets(inv) {
            guard await api.isRunning(r.id) else {
                if inv["ID"]?.lowercased() == "all" { continue }
                throw .failure("instance \(describe(r)) is not running; 'start \(r.id)' starts it")
            }
            if dryRun { out.line("would \(verb == "paused" ? "pause" : "halt") \(describe(r))"); continue }
            let n = await api.pause(r.id, binding: binding) ?? 0
            out.line("\(verb) \(describe(r)): \(n) order\(n == 1 ? "" : "s") cancelled; 'resume \(r.id)' quotes again")
        }
        if out.blocks.isEmpty { out.line("nothing is running") }
        return out
    }

    func resume(_ inv: Invocation) async throws(ShellError) -> Output {
        var out = Output()
        var refusals: [String] = []
        for r in try await targets(inv) {
            guard await api.isRunning(r.id) else {
                if inv["ID"]?.lowercased() == "all" { continue }
                throw .failure("instance \(describe(r)) is not running; 'start \(r.id)' starts it")
            }
            if dryRun { out.line("would resume \(describe(r))"); continue }
            do { _ = try await api.resume(r.id) } catch {
                // One refusal does not keep the others halted.
                if inv["ID"]?.lowercased() != "all" { throw .failure(error.message) }
                refusals.append(error.message)
                continue
            }
            out.line("resumed \(describe(r))")
        }
        if !refusals.isEmpty {
            if !out.blocks.isEmpty { console.write(renderer.render(out, json: false)) }
            throw .failure(refusals.joined(separator: "; "))
        }
        if out.blocks.isEmpty { out.line("nothing is running") }
        return out
    }

    /// Halts every target at once (orders cancelled), then confirms with the venue that none is left.
    func halt(_ inv: Invocation) async throws(ShellError) -> Output {
        let records = try await targets(inv)
        var halted: [InstanceRecord] = []
        var out = Output()
        for r in records where await api.isRunning(r.id) { halted.append(r) }
        if halted.isEmpty {
            if inv["ID"]?.lowercased() == "all" { return .message("nothing is running") }
            throw .failure("instance \(describe(records[0])) is not running")
        }
        if dryRun {
            for r in halted { out.line("would halt \(describe(r))") }
            return out
        }
        // Every instance is halted before any is confirmed: the first cancels go out together.
        let binding = RiskBinding("halt", "halted by 'halt'")
        var cancelled: [Int: Int] = [:]
        await withTaskGroup(of: (Int, Int).self) { group in
            for r in halted { group.addTask { [api] in (r.id, await api.pause(r.id, binding: binding) ?? 0) } }
            for await (id, n) in group { cancelled[id] = n }
        }
        // Confirmed side by side: one venue that does not answer holds up only its own line.
        var confirmations: [Int: Bool] = [:]
        await withTaskGroup(of: (Int, Bool).self) { group in
            for r in halted {
                group.addTask { [api] in
                    var confirmed = await api.confirmNoOrders(r.id)
                    for attempt in 0..<5 where confirmed != true {
                        try? await Task.sleep(for: .milliseconds(200 << attempt))
                        confirmed = await api.confirmNoOrders(r.id)
                    }
                    return (r.id, confirmed == true)
                }
            }
            for await (id, ok) in group { confirmations[id] = ok }
        }
        var unconfirmed: [String] = []
        for r in halted {
            let n = cancelled[r.id] ?? 0
            let confirmed: Bool? = confirmations[r.id]
            let state = confirmed == true ? "none open (confirmed by the venue)" : "NOT CONFIRMED: the venue does not answer; check open orders on MEXC"
            if confirmed != true { unconfirmed.append(describe(r)) }
            out.line(Line([("halted \(describe(r)): \(n) order\(n == 1 ? "" : "s") cancelled, ", .plain), (state, confirmed == true ? .green : .red)]))
        }
        out.line("'resume all' quotes again; 'stop all' ends the instances")
        if !unconfirmed.isEmpty {
            console.write(renderer.render(out, json: false))
            throw .failure("could not confirm that every order of \(unconfirmed.joined(separator: ", ")) is cancelled; the instances stay halted and keep trying")
        }
        return out
    }
}
