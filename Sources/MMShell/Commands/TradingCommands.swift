import Foundation
import MMCore
import MMEngine
import MMSim
import MMStorage
import MMStrategy

extension Commands {
    static let tradingCommands: [CommandSpec] = [
        CommandSpec("preview", summary: "show the ladder an instance would place now, and why",
                    args: [ArgSpec("ID", .instance, optional: true)],
                    examples: ["preview", "preview 2 --json"],
                    details: "Runs the strategy once against the venue's current book and balances, whether the instance runs or not, and shows each order with its distance from the reference price, then every step of the decision. On the sim venue with sim.volatility 0 and sim.takers 0 the book is still, so the preview is exactly reproducible. On the live venue it reads MEXC's book and the account's balances (the vault's passphrase is asked for the keys); on the paper venue, MEXC's book and the paper account (sim.base, sim.quote).",
                    showsData: true) { inv, shell in try await shell.preview(inv) },
    ]
}

extension Shell {
    func preview(_ inv: Invocation) async throws(ShellError) -> Output {
        let r = try await target(inv)
        let settings = try await self.settings(of: r.id)
        var view: MarketView, rules: MarketRules
        var risk: RiskState?
        var state = StrategyState()
        if await api.isRunning(r.id), let report = await api.report(r.id), let snapshot = report.snapshot, let running = report.rules {
            risk = report.risk
            // Its strategy's state too: Avellaneda–Stoikov's estimators are what it has learnt.
            state = report.strategyState ?? state
            // The ladder it would place now: the refresh timers do not hold a preview back.
            state.createAt = 0
            state.cancelAt = 0
            // A running instance is previewed against its own market as it is now, its orders included.
            rules = running
            view = MarketView(now: snapshot.time, book: snapshot.book, lastTrade: snapshot.lastTrade, balances: snapshot.balances,
                              orders: report.orders.map(\.live), rules: rules)
        } else {
            switch settings.venue {
            case "sim":
                let market = SimMarketConfig(settings)
                rules = market.rules
                view = MarketView(now: Int64(Date().timeIntervalSince1970 * 1000),
                                  book: SimBook.around(mid: market.mid, spread: market.spread, rules: market.rules),
                                  balances: SimBook.startingBalances(market), rules: market.rules)
            default:
                // Live reads the account with its keys: the engine's vault is unlocked first.
                if settings.venue == "live" { try await unlockVault() }
                let snapshot: MarketSnapshot
                do { (snapshot, rules) = try await api.venueMarket(r.id, accountBalances: true) } catch {
                    throw APIError(error.kind, "preview: \(error.message)")
                }
                view = MarketView(now: snapshot.time, book: snapshot.book, lastTrade: snapshot.lastTrade, balances: snapshot.balances, rules: rules)
            }
        }
        let config = StrategyConfig(settings)
        var decision = Strategy.decide(view, state: &state, config: config, explain: true)
        // What the risk supervisor lets through, as it stands now (limits that bind at start are not known yet).
        if let mid = view.book.mid {
            let baseValue = view.balances.base.total * mid, value = baseValue + view.balances.quote.total
            let share = value.isPositive ? baseValue.divided(by: value, scale: 12) : nil
            Risk.filter(&decision, state: risk ?? RiskState(), config: RiskConfig(settings), live: view.orders, share: share,
                        target: config.inventoryTarget)
        }
        return Preview.render(decision, instance: r, pair: settings.pair, venue: settings.venue, rules: rules)
    }
}

enum Preview {
    static func render(_ d: Decision, instance r: InstanceRecord, pair: String, venue: String, rules: MarketRules) -> Output {
        let ref = d.referencePrice
        // Prices at the tick's decimals and amounts at the step's, as the exchange shows them.
        let pricePlaces = rules.tick.decimalPlaces, amountPlaces = rules.step.decimalPlaces
        func price(_ p: Dec) -> String { p.text(places: pricePlaces) }
        func amount(_ a: Dec) -> String { a.text(places: amountPlaces) }
        func distance(_ price: Dec) -> String {
            guard let ref, ref.isPositive else { return "" }
            let f = (price - ref).divided(by: ref, scale: 8)
            return (f.isNegative ? "" : "+") + Units.renderPercent(f.rounded(places: 6))
        }
        var table = Table(["LEVEL", "SIDE", "PRICE", "AMOUNT", "DISTANCE"], align: [.right, .left, .right, .right, .right])
        for o in d.sells.reversed() { table.add(styled: [("\(o.level)", .plain), ("sell", .red), (price(o.price), .plain), (amount(o.amount), .plain), (distance(o.price), .dim)]) }
        for o in d.buys { table.add(styled: [("\(o.level)", .plain), ("buy", .green), (price(o.price), .plain), (amount(o.amount), .plain), (distance(o.price), .dim)]) }
        var out = Output()
        out.line(Line([("instance \(r.id) '\(r.name)'", .bold), (" · \(venue) \(pair) · reference price \(ref?.description ?? "none")", .plain)]))
        if d.buys.isEmpty && d.sells.isEmpty { out.line(d.waitingFor.map { "no orders: \($0)" } ?? "no orders") } else { out.table(table) }
        for drop in d.dropped {
            out.line(Line("dropped \(drop.order.side.rawValue) level \(drop.order.level): \(drop.reason)", .yellow))
        }
        out.line(Line("steps:", .bold))
        for step in d.trace { out.line("  " + step) }
        func orders(_ list: [ProposedOrder]) -> JSON {
            .array(list.map { .object([("level", .int($0.level)), ("price", .string(price($0.price))), ("amount", .string(amount($0.amount)))]) })
        }
        out.json = .object([
            ("id", .int(r.id)),
            ("reference_price", ref.map { .string($0.description) } ?? .null),
            ("buys", orders(d.buys)),
            ("sells", orders(d.sells)),
            ("steps", .array(d.trace.map(JSON.string))),
        ])
        return out
    }
}
