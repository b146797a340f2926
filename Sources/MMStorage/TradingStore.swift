import Foundation
import GRDB
import MMCore

/// One of an instance's orders, as recorded (decimals as text).
public struct OrderRecord: Equatable, Sendable, Codable {
    public var instanceId: Int
    public var clientId: String
    public var orderId: String?
    public var side: String
    public var price: String
    public var quantity: String
    public var executed: String
    public var status: String
    public var level: Int
    public var placedAt: Int64
    public var updatedAt: Int64

    public init(instanceId: Int, clientId: String, orderId: String?, side: String, price: String, quantity: String,
                executed: String, status: String, level: Int, placedAt: Int64, updatedAt: Int64) {
        self.instanceId = instanceId; self.clientId = clientId; self.orderId = orderId; self.side = side
        self.price = price; self.quantity = quantity; self.executed = executed; self.status = status
        self.level = level; self.placedAt = placedAt; self.updatedAt = updatedAt
    }
}

public struct FillRecord: Equatable, Sendable, Codable {
    public var instanceId: Int
    public var tradeId: String
    public var clientId: String
    public var side: String
    public var price: String
    public var quantity: String
    public var fee: String
    public var time: Int64
    /// MEXC's order id; the asset the fee was paid in (nil: the quote asset); whether we were the
    /// maker; the mid when the fill was applied (what its spread capture is measured against);
    /// the run it belongs to. Nil in fills recorded before these were kept.
    public var orderId: String?
    public var feeAsset: String?
    public var maker: Bool?
    public var mid: String?
    public var runId: Int64?

    public init(instanceId: Int, tradeId: String, clientId: String, side: String, price: String, quantity: String, fee: String, time: Int64,
                orderId: String? = nil, feeAsset: String? = nil, maker: Bool? = nil, mid: String? = nil, runId: Int64? = nil) {
        self.instanceId = instanceId; self.tradeId = tradeId; self.clientId = clientId; self.side = side
        self.price = price; self.quantity = quantity; self.fee = fee; self.time = time
        self.orderId = orderId; self.feeAsset = feeAsset; self.maker = maker; self.mid = mid; self.runId = runId
    }
}

public struct EventRecord: Equatable, Sendable, Codable {
    public var id: Int64?
    public var instanceId: Int
    /// Milliseconds since the epoch, UTC.
    public var time: Int64
    /// success, info, warning, error.
    public var level: String
    public var kind: String
    public var message: String

    public init(id: Int64? = nil, instanceId: Int, time: Int64, level: String, kind: String, message: String) {
        self.id = id; self.instanceId = instanceId; self.time = time; self.level = level; self.kind = kind; self.message = message
    }
}

/// One start-to-stop run of an instance, with what it started with.
public struct RunRecord: Equatable, Sendable, Codable {
    public var id: Int64
    public var instanceId: Int
    public var startedAt: Int64
    public var stoppedAt: Int64?
    public var startBase: String
    public var startQuote: String
    public var seed: String?
    /// How it ended: stopped, stopped_by_stop_loss, failed, interrupted, backtest, backtest_partial.
    public var endState: String?
    /// For a backtest: what it replayed, as JSON (data file, window, latency, overrides).
    public var backtest: String?
}

extension Store {
    static func registerTradingMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v2: orders, fills, events, runs") { db in
            try db.execute(sql: """
                CREATE TABLE run (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    instance_id INTEGER NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
                    started_at INTEGER NOT NULL,
                    stopped_at INTEGER,
                    start_base TEXT NOT NULL,
                    start_quote TEXT NOT NULL,
                    seed TEXT,
                    end_state TEXT
                );
                CREATE TABLE "order" (
                    instance_id INTEGER NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
                    client_id TEXT NOT NULL PRIMARY KEY,
                    order_id TEXT,
                    side TEXT NOT NULL,
                    price TEXT NOT NULL,
                    quantity TEXT NOT NULL,
                    executed TEXT NOT NULL,
                    status TEXT NOT NULL,
                    level INTEGER NOT NULL,
                    placed_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX order_by_instance ON "order"(instance_id, status);
                CREATE TABLE fill (
                    instance_id INTEGER NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
                    trade_id TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    side TEXT NOT NULL,
                    price TEXT NOT NULL,
                    quantity TEXT NOT NULL,
                    fee TEXT NOT NULL,
                    time INTEGER NOT NULL,
                    PRIMARY KEY (instance_id, trade_id)
                );
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    instance_id INTEGER NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
                    time INTEGER NOT NULL,
                    level TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    message TEXT NOT NULL
                );
                CREATE INDEX event_by_instance ON event(instance_id, id);
                CREATE TABLE pnl (
                    instance_id INTEGER NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
                    time INTEGER NOT NULL,
                    mid TEXT NOT NULL,
                    base TEXT NOT NULL,
                    quote TEXT NOT NULL,
                    value TEXT NOT NULL,
                    hold_value TEXT NOT NULL,
                    fees TEXT NOT NULL
                );
                CREATE INDEX pnl_by_instance ON pnl(instance_id, time);
                """)
        }
        m.registerMigration("v3: fill details for the ledger") { db in
            try db.execute(sql: """
                ALTER TABLE fill ADD COLUMN order_id TEXT;
                ALTER TABLE fill ADD COLUMN fee_asset TEXT;
                ALTER TABLE fill ADD COLUMN maker INTEGER;
                ALTER TABLE fill ADD COLUMN mid TEXT;
                ALTER TABLE fill ADD COLUMN run_id INTEGER;
                CREATE INDEX fill_by_time ON fill(instance_id, time);
                """)
        }
        // Backtests are runs of their instance, marked with what they replayed (JSON); their
        // fills, snapshots and samples carry their run, so that windows leave them out.
        m.registerMigration("v5: backtest runs") { db in
            try db.execute(sql: """
                ALTER TABLE run ADD COLUMN backtest TEXT;
                ALTER TABLE pnl ADD COLUMN run_id INTEGER;
                """)
        }
    }

    /// The SQL condition on `run_id` of a read: one run when `run` is given, else every run but
    /// backtests (their times are the recording's, and their money was never at stake).
    static func runScope(_ run: Int64?) -> String {
        run != nil ? "AND run_id = ?" : "AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM run WHERE backtest IS NOT NULL))"
    }

    // MARK: Runs

    public func startRun(instance: Int, at time: Int64, base: String, quote: String, seed: String?) throws(StoreError) -> Int64 {
        try write { db in
            try db.execute(sql: "INSERT INTO run (instance_id, started_at, start_base, start_quote, seed) VALUES (?, ?, ?, ?, ?)",
                           arguments: [instance, time, base, quote, seed])
            return db.lastInsertedRowID
        }
    }

    public func finishRun(_ id: Int64, at time: Int64, state: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "UPDATE run SET stopped_at = ?, end_state = ? WHERE id = ?", arguments: [time, state, id])
        }
    }

    public func lastRun(instance: Int) throws(StoreError) -> RunRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM run WHERE instance_id = ? AND backtest IS NULL ORDER BY id DESC LIMIT 1", arguments: [instance]).map(Store.runRecord)
        }
    }

    static func runRecord(_ r: Row) -> RunRecord {
        RunRecord(id: r["id"], instanceId: r["instance_id"], startedAt: r["started_at"], stoppedAt: r["stopped_at"],
                  startBase: r["start_base"], startQuote: r["start_quote"], seed: r["seed"], endState: r["end_state"],
                  backtest: r["backtest"])
    }

    /// Runs left open by a process that died: closed as interrupted. Returns their instances.
    public func closeInterruptedRuns(at time: Int64) throws(StoreError) -> [Int] {
        try write { db in
            let ids = try Int.fetchAll(db, sql: "SELECT instance_id FROM run WHERE stopped_at IS NULL")
            try db.execute(sql: "UPDATE run SET stopped_at = ?, end_state = 'interrupted' WHERE stopped_at IS NULL", arguments: [time])
            return ids
        }
    }

    // MARK: Orders and fills

    public func recordOrder(_ o: OrderRecord) throws(StoreError) {
        try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO "order" (instance_id, client_id, order_id, side, price, quantity, executed, status, level, placed_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(client_id) DO UPDATE SET order_id = excluded.order_id, executed = excluded.executed,
                    status = excluded.status, updated_at = excluded.updated_at
                """).execute(arguments: [o.instanceId, o.clientId, o.orderId, o.side, o.price, o.quantity, o.executed, o.status,
                                 o.level, o.placedAt, o.updatedAt])
        }
    }

    /// Records a fill once: false when this trade was recorded before (so it is never counted twice).
    public func recordFill(_ f: FillRecord) throws(StoreError) -> Bool {
        try write { db in
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO fill (instance_id, trade_id, client_id, side, price, quantity, fee, time,
                                            order_id, fee_asset, maker, mid, run_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [f.instanceId, f.tradeId, f.clientId, f.side, f.price, f.quantity, f.fee, f.time,
                                  f.orderId, f.feeAsset, f.maker, f.mid, f.runId])
            return db.changesCount == 1
        }
    }

    /// Records many fills in one transaction (a backtest's, an import), each once: returns how
    /// many were new.
    public func recordFills(_ fills: [FillRecord]) throws(StoreError) -> Int {
        try write { db in
            let statement = try db.makeStatement(sql: """
                INSERT OR IGNORE INTO fill (instance_id, trade_id, client_id, side, price, quantity, fee, time,
                                            order_id, fee_asset, maker, mid, run_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var added = 0
            for f in fills {
                try statement.execute(arguments: [f.instanceId, f.tradeId, f.clientId, f.side, f.price, f.quantity, f.fee, f.time,
                                                  f.orderId, f.feeAsset, f.maker, f.mid, f.runId])
                added += db.changesCount
            }
            return added
        }
    }

    /// The fills from `since` up to `until` (ms, inclusive) as the ledger reads them, exact,
    /// oldest first; a fee paid in `baseAsset` is marked so. A stored number that is not a
    /// decimal is an error, never a zero.
    public func ledgerFills(instance: Int, since: Int64 = 0, until: Int64 = Int64.max, baseAsset: String,
                            run: Int64? = nil) throws(StoreError) -> [LedgerFill] {
        var out: [LedgerFill] = []
        try forEachLedgerFill(instance: instance, since: since, until: until, baseAsset: baseAsset, run: run) { out.append($0) }
        return out
    }

    /// The same fills summed as they are read, whole and (with `by`) per period, never held: what
    /// 'pnl' needs of a million fills is a few hundred bytes.
    public func ledgerTally(instance: Int, since: Int64 = 0, until: Int64 = Int64.max, baseAsset: String, run: Int64? = nil,
                            by: Ledger.BucketSize? = nil, offset: Int = 0) throws(StoreError) -> LedgerTally {
        var tally = LedgerTally(by: by, offset: offset)
        try forEachLedgerFill(instance: instance, since: since, until: until, baseAsset: baseAsset, run: run) { tally.add($0) }
        return tally
    }

    /// Calls `body` with each fill as the ledger reads it, oldest first, inside one read.
    public func forEachLedgerFill(instance: Int, since: Int64 = 0, until: Int64 = Int64.max, baseAsset: String, run: Int64? = nil,
                                  _ body: (LedgerFill) -> Void) throws(StoreError) {
        try read { db in
            var arguments: StatementArguments = [instance, since, until]
            if let run { arguments += [run] }
            let statement = try db.makeStatement(sql: """
                SELECT time, side, price, quantity, fee, fee_asset, maker, mid FROM fill
                WHERE instance_id = ? AND time >= ? AND time <= ? \(Store.runScope(run)) ORDER BY time, rowid
                """)
            statement.arguments = arguments
            // Stepped here and read in place, column by column: no Row, no String for a row that
            // reads well. This is what 'pnl' over a million fills spends its time on.
            let row = SteppedColumns(statement: statement.sqliteStatement)
            try Array(baseAsset.utf8).withUnsafeBufferPointer { base in
                while try row.step(db) {
                    body(LedgerFill(time: row.int64(0), isBuy: row.textIs(1, "buy"), price: try row.decimal(2, "a fill of instance \(instance)"),
                                    amount: try row.decimal(3, "a fill of instance \(instance)"),
                                    fee: try row.decimal(4, "a fill of instance \(instance)"), feeInBase: row.textEquals(5, base),
                                    maker: row.isNull(6) ? nil : row.int64(6) != 0, mid: try row.decimal(at: 7, "a fill of instance \(instance)")))
                }
            }
        }
    }

    public func orders(instance: Int, openOnly: Bool) throws(StoreError) -> [OrderRecord] {
        try read { db in
            let filter = openOnly ? "AND status IN ('NEW', 'PARTIALLY_FILLED', 'PLACING', 'CANCELLING', 'UNKNOWN')" : ""
            return try Row.fetchAll(db, sql: "SELECT * FROM \"order\" WHERE instance_id = ? \(filter) ORDER BY placed_at, client_id",
                                    arguments: [instance]).map(Store.orderRecord)
        }
    }

    static func orderRecord(_ r: Row) -> OrderRecord {
        OrderRecord(instanceId: r["instance_id"], clientId: r["client_id"], orderId: r["order_id"], side: r["side"],
                    price: r["price"], quantity: r["quantity"], executed: r["executed"], status: r["status"],
                    level: r["level"], placedAt: r["placed_at"], updatedAt: r["updated_at"])
    }

    /// Fills, newest last: the newest `limit` from `since` up to `until` (ms, inclusive).
    public func fills(instance: Int, since: Int64 = 0, until: Int64 = Int64.max, limit: Int = Int.max, run: Int64? = nil) throws(StoreError) -> [FillRecord] {
        try read { db in
            var arguments: StatementArguments = [instance, since, until]
            if let run { arguments += [run] }
            arguments += [min(limit, Int(Int32.max))]
            return try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT * FROM fill WHERE instance_id = ? AND time >= ? AND time <= ? \(Store.runScope(run))
                               ORDER BY time DESC, rowid DESC LIMIT ?)
                ORDER BY time, rowid
                """, arguments: arguments).map {
                FillRecord(instanceId: $0["instance_id"], tradeId: $0["trade_id"], clientId: $0["client_id"], side: $0["side"],
                           price: $0["price"], quantity: $0["quantity"], fee: $0["fee"], time: $0["time"],
                           orderId: $0["order_id"], feeAsset: $0["fee_asset"], maker: $0["maker"], mid: $0["mid"], runId: $0["run_id"])
            }
        }
    }

    /// Every run of an instance, oldest first.
    public func runs(instance: Int) throws(StoreError) -> [RunRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM run WHERE instance_id = ? ORDER BY id", arguments: [instance]).map(Store.runRecord)
        }
    }

    // MARK: P&L snapshots

    /// A P&L snapshot: the mid, balances, value, value had it held, and fees so far in the run.
    public func recordPnL(instance: Int, time: Int64, mid: String, base: String, quote: String, value: String, hold: String,
                          fees: String, run: Int64? = nil) throws(StoreError) {
        try write { db in
            try db.execute(sql: "INSERT INTO pnl (instance_id, time, mid, base, quote, value, hold_value, fees, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [instance, time, mid, base, quote, value, hold, fees, run])
        }
    }

    public func pnlSnapshots(instance: Int, run: Int64? = nil) throws(StoreError) -> [(time: Int64, value: String, hold: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT time, value, hold_value FROM pnl WHERE instance_id = ? \(Store.runScope(run)) ORDER BY time",
                             arguments: run.map { StatementArguments([instance, $0] as [any DatabaseValueConvertible]) } ?? [instance])
                .map { (time: $0["time"], value: $0["value"], hold: $0["hold_value"]) }
        }
    }

    /// The P&L snapshots from `from` to `to` (ms, inclusive), oldest first, as stored; the newest `limit` of them.
    public func pnlRows(instance: Int, from: Int64, to: Int64, limit: Int = Int.max, run: Int64? = nil) throws(StoreError)
        -> [(time: Int64, mid: String, base: String, quote: String, value: String, hold: String, fees: String)] {
        try read { db in
            var arguments: StatementArguments = [instance, from, to]
            if let run { arguments += [run] }
            arguments += [min(limit, Int(Int32.max))]
            return try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT * FROM pnl WHERE instance_id = ? AND time >= ? AND time <= ? \(Store.runScope(run)) ORDER BY time DESC LIMIT ?)
                ORDER BY time
                """, arguments: arguments)
                .map { (time: $0["time"], mid: $0["mid"], base: $0["base"], quote: $0["quote"], value: $0["value"],
                        hold: $0["hold_value"], fees: $0["fees"]) }
        }
    }

    /// The newest mid a P&L snapshot holds, and when (what a stopped instance is valued at).
    public func lastMid(instance: Int) throws(StoreError) -> (time: Int64, mid: String)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT time, mid FROM pnl WHERE instance_id = ? \(Store.runScope(nil)) ORDER BY time DESC LIMIT 1", arguments: [instance])
                .map { (time: $0["time"], mid: $0["mid"]) }
        }
    }

    /// What the instance's runs other than `excludingRun` made from `from` on: for each run, its
    /// last P&L snapshot (value less the value of holding its starting balances) less its P&L
    /// at `from` (the last snapshot before it, or zero for a run that began after it). Exact.
    public func netPnL(instance: Int, from: Int64, excludingRun: Int64) throws(StoreError) -> Dec {
        try read { db in
            let runs = try Row.fetchAll(db, sql: """
                SELECT id, started_at, stopped_at FROM run
                WHERE instance_id = ? AND id != ? AND backtest IS NULL AND (stopped_at IS NULL OR stopped_at >= ?) ORDER BY started_at
                """, arguments: [instance, excludingRun, from])
            var total: Dec = 0
            for run in runs {
                let start: Int64 = run["started_at"], stop: Int64 = (run["stopped_at"] as Int64?) ?? Int64.max
                let rows = try Row.fetchAll(db, sql: """
                    SELECT time, value, hold_value FROM pnl WHERE instance_id = ? AND time >= ? AND time <= ? \(Store.runScope(nil)) ORDER BY time
                    """, arguments: [instance, start, stop])
                func pnl(_ r: Row) -> Dec { (Dec(r["value"] as String) ?? 0) - (Dec(r["hold_value"] as String) ?? 0) }
                guard let last = rows.last else { continue }
                let opening = start >= from ? 0 : rows.last(where: { ($0["time"] as Int64) < from }).map(pnl) ?? 0
                total += pnl(last) - opening
            }
            return total
        }
    }

    // MARK: Backtests

    /// Copies the run a backtest made in its scratch store into this one, as a new run of
    /// `instance` marked with `backtest` (JSON) and ended as `state`: its fills (their trade ids
    /// prefixed so that they never meet a real one), P&L snapshots and market samples, in one
    /// transaction. Returns the new run's id.
    public func importBacktestRun(from scratch: Store, instance: Int, backtest: String, state: String) throws(StoreError) -> Int64 {
        guard let run = try scratch.lastRun(instance: instance) else { throw StoreError("the backtest left no run to store") }
        let fills = try scratch.fills(instance: instance)
        let snapshots = try scratch.pnlRows(instance: instance, from: Int64.min, to: Int64.max)
        let samples = try scratch.samples(instance: instance, from: Int64.min, to: Int64.max)
        return try write { db in
            try db.execute(sql: """
                INSERT INTO run (instance_id, started_at, stopped_at, start_base, start_quote, seed, end_state, backtest)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [instance, run.startedAt, run.stoppedAt ?? run.startedAt, run.startBase, run.startQuote, run.seed, state, backtest])
            let id = db.lastInsertedRowID
            let fill = try db.makeStatement(sql: """
                INSERT INTO fill (instance_id, trade_id, client_id, side, price, quantity, fee, time, order_id, fee_asset, maker, mid, run_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for f in fills {
                try fill.execute(arguments: [instance, "bt\(id)-\(f.tradeId)", f.clientId, f.side, f.price, f.quantity, f.fee, f.time,
                                             f.orderId, f.feeAsset, f.maker, f.mid, id])
            }
            for r in snapshots {
                try db.execute(sql: "INSERT INTO pnl (instance_id, time, mid, base, quote, value, hold_value, fees, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [instance, r.time, r.mid, r.base, r.quote, r.value, r.hold, r.fees, id])
            }
            for var s in samples {
                s.run = id
                try Store.insertSample(db, instance: instance, s, raw: s.count == 1)
            }
            return id
        }
    }

    // MARK: Events

    /// Appends an event, keeping the newest `keep` of the instance.
    @discardableResult
    public func appendEvent(_ e: EventRecord, keep: Int) throws(StoreError) -> Int64 {
        try write { db in
            try db.cachedStatement(sql: "INSERT INTO event (instance_id, time, level, kind, message) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [e.instanceId, e.time, e.level, e.kind, e.message])
            let id = db.lastInsertedRowID
            // Prune in batches so that most appends delete nothing.
            if id % 64 == 0 {
                try db.execute(sql: """
                    DELETE FROM event WHERE instance_id = ? AND id <= (
                        SELECT id FROM event WHERE instance_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                    """, arguments: [e.instanceId, e.instanceId, keep])
            }
            return id
        }
    }

    /// Events of an instance, oldest first: the newest `limit`, after `afterId`, at `levels`, since `since`.
    public func events(instance: Int, limit: Int = Int.max, afterId: Int64 = 0, levels: [String]? = nil,
                       since: Int64 = 0) throws(StoreError) -> [EventRecord] {
        try read { db in
            var sql = "SELECT * FROM event WHERE instance_id = ? AND id > ? AND time >= ?"
            var args: [any DatabaseValueConvertible] = [instance, afterId, since]
            if let levels {
                sql += " AND level IN (\(levels.map { _ in "?" }.joined(separator: ",")))"
                args += levels.map { $0 as any DatabaseValueConvertible }
            }
            sql = "SELECT * FROM (\(sql) ORDER BY id DESC LIMIT ?) ORDER BY id"
            args.append(min(limit, Int(Int32.max)))
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map {
                EventRecord(id: $0["id"], instanceId: $0["instance_id"], time: $0["time"], level: $0["level"],
                            kind: $0["kind"], message: $0["message"])
            }
        }
    }

    public func clearEvents(instance: Int) throws(StoreError) -> Int {
        try write { db in
            try db.execute(sql: "DELETE FROM event WHERE instance_id = ?", arguments: [instance])
            return db.changesCount
        }
    }
}
