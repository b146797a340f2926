import Foundation
import GRDB

/// A storage failure, worded for the user. The database is never reset or overwritten on error.
public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One instance as stored.
public struct InstanceRecord: Equatable, Sendable, Codable {
    public var id: Int
    public var name: String
    public var createdAt: Date
}

/// The repository of instances, their settings and the shell-wide options, in SQLite.
///
/// Every mutating call is one transaction: when it returns, the change is on disk; when it
/// throws, nothing changed.
public final class Store: Sendable {
    private let db: DatabaseQueue
    public let path: String?

    /// Opens (creating if needed) `mmsh.db` in `directory`. A write waits up to `busyTimeout`
    /// seconds for another connection's lock before it fails.
    public static func open(directory: DataDirectory, busyTimeout: Double = 2) throws(StoreError) -> Store {
        let path = directory.url.appendingPathComponent("mmsh.db").path
        // An existing file with nothing in it is not a new database: something emptied it.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0,
           !FileManager.default.fileExists(atPath: path + "-wal") || ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int ?? 0) == 0 {
            throw StoreError("\(path) is empty (0 bytes): it is not the database mmsh wrote there; it was left untouched. Move it away to start afresh, or put back a copy")
        }
        // Create the file ourselves so that it is 0600 from its first byte; SQLite gives its
        // -wal and -shm files the same mode.
        if !FileManager.default.fileExists(atPath: path) {
            let fd = Glibc.open(path, O_CREAT | O_WRONLY | O_EXCL, 0o600)
            if fd >= 0 { close(fd) }
        }
        // Damage is looked for through a read-only connection first: one that may write would
        // fold a WAL into the damaged file when it closes, and the file must stay as it was.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 0 {
            var check = Configuration()
            check.readonly = true
            check.busyMode = .timeout(busyTimeout)
            do {
                let reader = try DatabaseQueue(path: path, configuration: check)
                try Store(queue: reader, path: path).checkIntegrity()
            } catch let e as StoreError {
                throw e
            } catch {
                throw Store.describe(error, path: path)
            }
        }
        var config = Configuration()
        config.journalMode = .wal
        config.busyMode = .timeout(busyTimeout)
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw Store.describe(error, path: path)
        }
        let store = Store(queue: queue, path: path)
        try store.migrate()
        return store
    }

    /// SQLite's quick_check: damage is refused before anything is written into the file.
    func checkIntegrity() throws(StoreError) {
        let problems: [String]
        do { problems = try db.read { try String.fetchAll($0, sql: "PRAGMA quick_check(5)") } } catch {
            throw Store.describe(error, path: path)
        }
        guard problems == ["ok"] else {
            let file = path ?? "the database"
            throw StoreError("\(file) is damaged (\(problems.prefix(2).joined(separator: "; "))); it was left untouched: move it away to start afresh, or try 'sqlite3 \(file) .recover' into a new file")
        }
    }

    /// A private in-memory database; with `copyOf`, a copy of that store's data (for dry runs).
    public static func inMemory(copyOf other: Store? = nil) throws(StoreError) -> Store {
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue()
            if let other { try other.db.backup(to: queue) }
        } catch {
            throw Store.describe(error, path: nil)
        }
        let store = Store(queue: queue, path: nil)
        try store.migrate()
        return store
    }

    private init(queue: DatabaseQueue, path: String?) {
        self.db = queue
        self.path = path
    }

    // MARK: Schema

    static let migrator: DatabaseMigrator = {
        var m = DatabaseMigrator()
        m.registerMigration("v1: instances, settings, options") { db in
            try db.execute(sql: """
                CREATE TABLE instance (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    created_at REAL NOT NULL
                );
                CREATE TABLE setting (
                    instance_id INTEGER NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (instance_id, key)
                );
                CREATE TABLE option (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                );
                """)
        }
        registerTradingMigration(&m)
        registerSampleMigration(&m)
        return m
    }()

    private func migrate() throws(StoreError) {
        do {
            if try db.read({ try Store.migrator.hasBeenSuperseded($0) }) {
                let where_ = path.map { " at \($0)" } ?? ""
                throw StoreError("the database\(where_) was written by a newer mmsh; upgrade mmsh to use it (it was left untouched)")
            }
            try Store.migrator.migrate(db)
        } catch let e as StoreError {
            throw e
        } catch {
            throw Store.describe(error, path: path)
        }
    }

    static func describe(_ error: any Error, path: String?) -> StoreError {
        let file = path ?? "the database"
        guard let e = error as? DatabaseError else { return StoreError("\(file): \(error)") }
        switch e.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return StoreError("\(file) is damaged or not an mmsh database (\(e.message ?? "corrupt")); it was left untouched: move it away to start afresh")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError("\(file) is locked by another process; close the other mmsh and try again")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            return StoreError("\(file) cannot be opened for writing (\(e.message ?? "permission denied"))")
        case .SQLITE_FULL, .SQLITE_IOERR:
            return StoreError("\(file): could not write (\(e.message ?? "I/O error")); nothing was changed")
        default:
            return StoreError("\(file): \(e.message ?? "\(e.resultCode)")")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try db.read(body) } catch { throw Store.describe(error, path: path) }
    }

    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try db.write(body)
        } catch let e as StoreError {
            throw e
        } catch {
            throw Store.describe(error, path: path)
        }
    }

    // MARK: Instances

    public func instances() throws(StoreError) -> [InstanceRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, created_at FROM instance ORDER BY id").map(Store.record)
        }
    }

    public func instance(_ id: Int) throws(StoreError) -> InstanceRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT id, name, created_at FROM instance WHERE id = ?", arguments: [id]).map(Store.record)
        }
    }

    private static func record(_ row: Row) -> InstanceRecord {
        InstanceRecord(id: row["id"], name: row["name"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    /// Creates an instance with the smallest free id, refusing past `limit` instances or a taken name.
    /// `name` nil picks `mm<id>`. `settings` are stored with it in the same transaction.
    public func createInstance(name: String?, limit: Int, settings: [String: String] = [:],
                               now: Date = Date()) throws(StoreError) -> InstanceRecord {
        try write { db in
            let ids = try Int.fetchAll(db, sql: "SELECT id FROM instance ORDER BY id")
            guard ids.count < limit else {
                throw StoreError("there are already \(ids.count) instances, the most allowed (option max_instances is \(limit)); delete one first")
            }
            var id = 1
            for taken in ids where taken == id { id += 1 }
            let taken = try String.fetchAll(db, sql: "SELECT name FROM instance")
            let name = name ?? Store.freeName(id: id, taken: taken)
            if try Int.fetchOne(db, sql: "SELECT id FROM instance WHERE name = ?", arguments: [name]) != nil {
                throw StoreError("an instance named '\(name)' exists already; choose another name")
            }
            try db.execute(sql: "INSERT INTO instance (id, name, created_at) VALUES (?, ?, ?)",
                           arguments: [id, name, now.timeIntervalSince1970])
            for (key, value) in settings {
                try db.execute(sql: "INSERT INTO setting (instance_id, key, value) VALUES (?, ?, ?)", arguments: [id, key, value])
            }
            return InstanceRecord(id: id, name: name, createdAt: now)
        }
    }

    /// An instance with the given id and name, for a scratch store (a backtest runs its
    /// instance there under its own id, and its run is copied back).
    public func createInstance(id: Int, name: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "INSERT INTO instance (id, name, created_at) VALUES (?, ?, ?)",
                           arguments: [id, name, Date().timeIntervalSince1970])
        }
    }

    private static func freeName(id: Int, taken: [String]) -> String {
        let lower = Set(taken.map { $0.lowercased() })
        var n = id
        while lower.contains("mm\(n)") { n += 1 }
        return "mm\(n)"
    }

    public func rename(_ id: Int, to name: String) throws(StoreError) {
        try write { db in
            if let other = try Int.fetchOne(db, sql: "SELECT id FROM instance WHERE name = ?", arguments: [name]), other != id {
                throw StoreError("an instance named '\(name)' exists already (\(other)); choose another name")
            }
            try db.execute(sql: "UPDATE instance SET name = ? WHERE id = ?", arguments: [name, id])
            guard db.changesCount == 1 else { throw StoreError("there is no instance \(id)") }
        }
    }

    public func deleteInstance(_ id: Int) throws(StoreError) {
        try write { db in
            for table in ["setting", "run", "\"order\"", "fill", "event", "pnl"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE instance_id = ?", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM instance WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { throw StoreError("there is no instance \(id)") }
        }
    }

    // MARK: Settings

    /// The stored (non-default) settings of an instance, as text.
    public func settings(_ id: Int) throws(StoreError) -> [String: String] {
        try read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM setting WHERE instance_id = ?", arguments: [id]) {
                out[row["key"]] = row["value"]
            }
            return out
        }
    }

    /// Replaces the listed keys: a nil value removes the key (back to its default). One transaction.
    public func updateSettings(_ id: Int, _ changes: [String: String?]) throws(StoreError) {
        try write { db in
            guard try Int.fetchOne(db, sql: "SELECT id FROM instance WHERE id = ?", arguments: [id]) != nil else {
                throw StoreError("there is no instance \(id)")
            }
            for (key, value) in changes.sorted(by: { $0.key < $1.key }) {
                if let value {
                    try db.execute(sql: "INSERT OR REPLACE INTO setting (instance_id, key, value) VALUES (?, ?, ?)",
                                   arguments: [id, key, value])
                } else {
                    try db.execute(sql: "DELETE FROM setting WHERE instance_id = ? AND key = ?", arguments: [id, key])
                }
            }
        }
    }

    // MARK: Options

    public func options() throws(StoreError) -> [String: String] {
        try read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM option") { out[row["key"]] = row["value"] }
            return out
        }
    }

    /// Sets (or with nil, removes) a shell-wide option.
    public func setOption(_ key: String, _ value: String?) throws(StoreError) {
        try write { db in
            if let value {
                try db.execute(sql: "INSERT OR REPLACE INTO option (key, value) VALUES (?, ?)", arguments: [key, value])
            } else {
                try db.execute(sql: "DELETE FROM option WHERE key = ?", arguments: [key])
            }
        }
    }
}
