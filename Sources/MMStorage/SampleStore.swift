import GRDB
import MMCore

extension Store {
    static func registerSampleMigration(_ m: inout DatabaseMigrator) {
        // One row a second per running instance, so no rowid: the key is the order rows are
        // read in, and a row costs only its columns. Decimals are exact text; high and low are
        // NULL in a raw sample (they are its mid), and the averages NULL where nothing was measured.
        m.registerMigration("v4: market samples") { db in
            try db.execute(sql: """
                CREATE TABLE sample (
                    instance_id INTEGER NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
                    time INTEGER NOT NULL,
                    span INTEGER NOT NULL,
                    run_id INTEGER NOT NULL,
                    mid TEXT NOT NULL,
                    high TEXT,
                    low TEXT,
                    bid TEXT,
                    ask TEXT,
                    our_bid TEXT,
                    our_ask TEXT,
                    base TEXT NOT NULL,
                    quote TEXT NOT NULL,
                    net TEXT NOT NULL,
                    volume TEXT NOT NULL,
                    turnover TEXT NOT NULL,
                    quoted INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    quoted_count INTEGER NOT NULL,
                    distance TEXT,
                    our_spread TEXT,
                    market_spread TEXT,
                    PRIMARY KEY (instance_id, time, run_id)
                ) WITHOUT ROWID;
                """)
        }
    }

    public static let compactBatch = 20_000

    static let sampleColumns = "time, span, run_id, mid, high, low, bid, ask, our_bid, our_ask, base, quote, net, volume, turnover, quoted, count, quoted_count, distance, our_spread, market_spread"

    /// A raw sample is stored with NULL high and low (they are its mid): that marks it as one
    /// that compaction has still to merge. Its distance and spreads are NULL too: they follow
    /// from its prices, and `MarketSample` works them out again when it is read (a day of raw
    /// samples is the bulk of the table).
    static func insertSample(_ db: Database, instance: Int, _ s: MarketSample, raw: Bool) throws {
        // A cached statement (parsed once a connection, not at every sample), its arguments bound
        // directly: through `StatementArguments` a sample cost more to bind than to insert.
        let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO sample (instance_id, \(sampleColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        var b = DirectBinding(statement.sqliteStatement)
        b.bind(1, Int64(instance)); b.bind(2, s.time); b.bind(3, s.span); b.bind(4, s.run ?? 0); b.bind(5, s.mid)
        b.bind(6, raw ? nil : s.high); b.bind(7, raw ? nil : s.low); b.bind(8, s.bid); b.bind(9, s.ask)
        b.bind(10, s.ourBid); b.bind(11, s.ourAsk); b.bind(12, s.base); b.bind(13, s.quote); b.bind(14, s.net)
        b.bind(15, s.volume); b.bind(16, s.turnover); b.bind(17, s.quoted); b.bind(18, Int64(s.count)); b.bind(19, Int64(s.quotedCount))
        b.bind(20, raw ? nil : s.distance); b.bind(21, raw ? nil : s.ourSpread); b.bind(22, raw ? nil : s.marketSpread)
        try b.run(db)
    }

    static func sample(_ r: Row) throws -> MarketSample {
        let what = "a market sample"
        func dec(_ i: Int) throws -> Dec { try r.decimal(i, what) }
        func optional(_ i: Int) throws -> Dec? { try r.decimal(at: i, what) }
        let mid = try dec(3)
        return MarketSample(time: r[0], span: r[1], run: r[2], mid: mid, high: try optional(4) ?? mid, low: try optional(5) ?? mid,
                            bid: try optional(6), ask: try optional(7), ourBid: try optional(8), ourAsk: try optional(9),
                            base: try dec(10), quote: try dec(11), net: try dec(12), volume: try dec(13), turnover: try dec(14),
                            quoted: r[15], count: r[16], quotedCount: r[17], distance: try optional(18), ourSpread: try optional(19),
                            marketSpread: try optional(20))
    }

    /// Stores samples in one transaction (a running instance writes them in small batches).
    public func recordSamples(instance: Int, _ samples: [MarketSample]) throws(StoreError) {
        guard !samples.isEmpty else { return }
        try write { db in
            for s in samples { try Store.insertSample(db, instance: instance, s, raw: true) }
        }
    }

    /// Samples from `from` to `to` (ms, inclusive), oldest first. With `every`, one a bucket of
    /// that many milliseconds, the newest of each (what a chart of a long window needs); with
    /// `limit`, only the newest `limit`.
    public func samples(instance: Int, from: Int64, to: Int64, every: Int64? = nil, limit: Int = Int.max,
                        run: Int64? = nil) throws(StoreError) -> [MarketSample] {
        try read { db in
            let sql: String
            let scope = Store.runScope(run)
            var arguments: StatementArguments = [instance, from, to]
            if let run { arguments += [run] }
            if let every, every > 1 {
                if let thinned = try Store.newestPerBucket(db, instance: instance, from: from, to: to, every: every, limit: limit, run: run) {
                    return thinned
                }
                // SQLite takes a bare column's values from the row that gives MAX() its value.
                let columns = Store.sampleColumns.replacingOccurrences(of: "time, ", with: "MAX(time) AS time, ", options: [], range: nil)
                sql = "SELECT \(columns) FROM sample WHERE instance_id = ? AND time >= ? AND time <= ? \(scope) GROUP BY time / ? ORDER BY time DESC LIMIT ?"
                arguments += [every, min(limit, Int(Int32.max))]
            } else {
                sql = "SELECT \(Store.sampleColumns) FROM sample WHERE instance_id = ? AND time >= ? AND time <= ? \(scope) ORDER BY time DESC LIMIT ?"
                arguments += [min(limit, Int(Int32.max))]
            }
            var out: [MarketSample] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() { out.append(try Store.sample(row)) }
            out.reverse()
            return out
        }
    }

    /// The newest sample of each `every` ms from `to` back to `from`, the newest `limit`, oldest
    /// first: one seek on the key a bucket, so that a chart of 30 days reads the few hundred rows
    /// it draws, not the 128,000 it spans (a GROUP BY reads them all). Nil where the window holds
    /// too many buckets for seeks to pay; the caller groups then.
    static func newestPerBucket(_ db: Database, instance: Int, from: Int64, to: Int64, every: Int64, limit: Int,
                                run: Int64?) throws -> [MarketSample]? {
        let scope = Store.runScope(run)
        func edge(_ order: String) throws -> Int64? {
            var arguments: StatementArguments = [instance, from, to]
            if let run { arguments += [run] }
            return try Int64.fetchOne(db, sql: "SELECT time FROM sample WHERE instance_id = ? AND time >= ? AND time <= ? \(scope) ORDER BY time \(order) LIMIT 1",
                                      arguments: arguments)
        }
        guard let newest = try edge("DESC"), let oldest = try edge("ASC") else { return [] }
        let first = oldest / every, last = newest / every
        guard last - first < 20_000 else { return nil }
        let statement = try db.cachedStatement(
            sql: "SELECT \(Store.sampleColumns) FROM sample WHERE instance_id = ? AND time >= ? AND time < ? \(scope) ORDER BY time DESC LIMIT 1")
        var out: [MarketSample] = []
        var bucket = last
        while bucket >= first && out.count < limit {
            var arguments: StatementArguments = [instance, max(bucket * every, from), min((bucket + 1) * every, newest + 1)]
            if let run { arguments += [run] }
            if let row = try Row.fetchOne(statement, arguments: arguments) { out.append(try Store.sample(row)) }
            bucket -= 1
        }
        out.reverse()
        return out
    }

    /// Keeps the samples small: those older than `keepSince` go; raw ones older than
    /// `rawSince` are merged into one a `bucket` (only whole buckets, so that a merged row never
    /// meets a raw one of its own bucket). At most `batch` raw rows a call, so that one call
    /// stays short; it returns how many it merged, and a caller repeats while that is `batch`.
    @discardableResult
    public func compactSamples(instance: Int, keepSince: Int64, rawSince: Int64, bucket: Int64 = 60_000, batch: Int = Store.compactBatch) throws(StoreError) -> Int {
        try write { db in
            try db.execute(sql: "DELETE FROM sample WHERE instance_id = ? AND time < ?", arguments: [instance, keepSince])
            let edge = MarketSample.floorDiv(rawSince, bucket) * bucket
            var raw: [MarketSample] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT \(Store.sampleColumns) FROM sample WHERE instance_id = ? AND time < ? AND high IS NULL
                ORDER BY time LIMIT ?
                """, arguments: [instance, edge, batch])
            while let row = try rows.next() { raw.append(try Store.sample(row)) }
            guard let first = raw.first, let last = raw.last else { return 0 }
            // A batch that stops inside a bucket leaves that bucket for the next call.
            var merging = raw
            if raw.count == batch {
                let open = MarketSample.floorDiv(last.time, bucket)
                merging = raw.filter { MarketSample.floorDiv($0.time, bucket) < open }
                if merging.isEmpty { merging = raw }
            }
            guard let end = merging.last else { return 0 }
            try db.execute(sql: "DELETE FROM sample WHERE instance_id = ? AND time >= ? AND time <= ? AND high IS NULL",
                           arguments: [instance, first.time, end.time])
            for s in MarketSample.downsample(merging, bucket: bucket) { try Store.insertSample(db, instance: instance, s, raw: false) }
            return merging.count
        }
    }
}
