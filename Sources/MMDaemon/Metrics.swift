import Foundation
import MMCore
import MMEngine
import MMShell
import MMStrategy
import Metrics
import Prometheus

/// `/metrics` in Prometheus's text exposition format (version 0.0.4). Two sources: the figures
/// of each instance read at the scrape (gauges and counters labelled with its id, name, pair and
/// venue), and what the engine records as it happens through swift-metrics (decision latency,
/// traded volume, fees, requests to MEXC by outcome, stream connections, book resyncs), held by
/// swift-prometheus's registry.
enum EngineMetrics {
    /// The process's registry; swift-metrics is bootstrapped with it once, before any instance runs.
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A decision takes microseconds; the buckets say how many, up to a slow 100 ms.
        factory.defaultDurationHistogramBuckets = [.microseconds(5), .microseconds(10), .microseconds(25), .microseconds(50),
                                                   .microseconds(100), .microseconds(250), .milliseconds(1), .milliseconds(10),
                                                   .milliseconds(100)]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    struct Family {
        let name: String, help: String, type: String
        var samples: [(labels: String, value: String)] = []
    }

    static func render(_ engine: LocalEngine, sessions: Int, uptime: Double) async -> String {
        var families: [String: Family] = [:]
        var order: [String] = []
        func add(_ name: String, _ type: String, _ help: String, _ labels: String, _ value: String) {
            if families[name] == nil {
                families[name] = Family(name: name, help: help, type: type)
                order.append(name)
            }
            families[name]!.samples.append((labels, value))
        }
        let records = (try? engine.store.instances()) ?? []
        for r in records {
            let raw = (try? engine.store.settings(r.id)) ?? [:]
            let labels = "instance=\"\(r.id)\",name=\"\(escape(r.name))\",pair=\"\(escape(raw["pair"] ?? "BTCUSDT"))\",venue=\"\(escape(raw["venue"] ?? "sim"))\""
            let report = await engine.manager.report(r.id)
            let running = report.map { $0.state == .running || $0.state == .waiting } ?? false
            add("mmsh_instance_running", "gauge", "1 while the instance quotes (or waits for its trading hours), else 0", labels, running ? "1" : "0")
            guard let report, running else { continue }
            add("mmsh_instance_open_orders", "gauge", "orders of the instance open on its venue", labels, "\(report.orders.count)")
            add("mmsh_instance_fills_total", "counter", "fills applied in the current run", labels, "\(report.fills)")
            add("mmsh_instance_decisions_total", "counter", "decision cycles run in the current run", labels, "\(report.cycles)")
            add("mmsh_instance_stale", "gauge", "1 while quotes are cancelled for want of fresh market data", labels, report.stale ? "1" : "0")
            add("mmsh_instance_throttled", "gauge", "1 while requests are held back by MEXC's rate limits", labels, report.throttled ? "1" : "0")
            add("mmsh_instance_storage_failing", "gauge", "1 while the database refuses the instance's writes", labels, report.storageFailure == nil ? "0" : "1")
            add("mmsh_instance_unsaved_fills", "gauge", "fills held in memory until the database takes them", labels, "\(report.unsavedFills)")
            for mode in [RiskMode.active, .reducing, .halted] {
                add("mmsh_instance_risk_state", "gauge", "1 for the risk supervisor's state of the instance (active, reducing, halted), else 0",
                    labels + ",state=\"\(mode.rawValue)\"", report.risk.mode == mode ? "1" : "0")
            }
            add("mmsh_instance_day_pnl_quote", "gauge", "today's net P&L (the day in hours.tz, earlier runs included), in quote", labels, report.risk.dayPnL.description)
            add("mmsh_instance_drawdown_quote", "gauge", "net P&L below its peak, in quote", labels, report.risk.drawdown.description)
            if let snap = report.snapshot, let mid = snap.book.mid {
                let value = snap.balances.base.total * mid + snap.balances.quote.total
                let hold = report.startBase * mid + report.startQuote
                add("mmsh_instance_value_quote", "gauge", "portfolio value at the mid, in the quote asset", labels, value.description)
                add("mmsh_instance_pnl_quote", "gauge", "value now less the value of holding the starting balances, after fees, in quote", labels, (value - hold).description)
                add("mmsh_instance_mid_price", "gauge", "the market's mid price", labels, mid.description)
                let baseValue = snap.balances.base.total * mid
                if value.isPositive {
                    add("mmsh_instance_inventory_ratio", "gauge", "share of the portfolio value held in the base asset", labels,
                        baseValue.divided(by: value, scale: 8).description)
                }
                if let uptime = report.quoteUptime {
                    add("mmsh_instance_quote_uptime_ratio", "gauge", "share of the run's time with both a bid and an ask resting", labels,
                        String(format: "%.6f", uptime))
                }
                add("mmsh_instance_book_age_seconds", "gauge", "age of the book the instance decides on", labels,
                    String(format: "%.3f", Double(snap.dataAge.components.seconds) + Double(snap.dataAge.components.attoseconds) / 1e18))
            }
        }
        add("mmsh_engine_instances", "gauge", "instances defined in the data directory", "", "\(records.count)")
        add("mmsh_engine_running_instances", "gauge", "instances running in this engine", "", "\(await engine.manager.runningCount)")
        for pool in await engine.manager.poolUsage() {
            let labels = "pool=\"\(escape(pool.pool))\""
            add("mmsh_rest_weight_used", "gauge", "MEXC request weight spent in the pool's current window", labels, "\(pool.used)")
            add("mmsh_rest_weight_capacity", "gauge", "MEXC request weight the pool allows per window", labels, "\(pool.capacity)")
        }
        add("mmsh_alerts_delivered_total", "counter", "alerts the webhook accepted", "", "\(await engine.manager.alerts.delivered)")
        add("mmsh_alerts_undelivered_total", "counter", "alerts given up on after every retry, or dropped from a full queue (each is logged)", "",
            "\(await engine.manager.alerts.undelivered)")
        add("mmsh_engine_sessions", "gauge", "shells attached to the engine", "", "\(sessions)")
        add("mmsh_engine_uptime_seconds", "gauge", "seconds since the engine started", "", String(format: "%.0f", uptime))
        var text = ""
        for name in order {
            let f = families[name]!
            text += "# HELP \(f.name) \(f.help)\n# TYPE \(f.name) \(f.type)\n"
            for s in f.samples { text += s.labels.isEmpty ? "\(f.name) \(s.value)\n" : "\(f.name){\(s.labels)} \(s.value)\n" }
        }
        return text + registry.emitToString()
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
