import GRDB
import Foundation
import GRDBSQLite
import MMCore

/// Decimals are stored as their exact text ("42000.15"), never as SQLite's REAL: a column read
/// back is the value written, to the last unit. Text that is not a decimal reads as a decoding
/// error, not as zero.
extension Dec: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { description.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Dec? {
        String.fromDatabaseValue(dbValue).flatMap { Dec($0) }
    }
}

extension Row {
    /// The decimal in column `index`: nil for NULL; text that is not a decimal throws (GRDB's
    /// own conversion would stop the process).
    func decimal(at index: Int, _ what: @autoclosure () -> String) throws -> Dec? {
        let value: DatabaseValue = self[index]
        if value.isNull { return nil }
        guard let d = Dec.fromDatabaseValue(value) else {
            throw StoreError("\(what()) holds '\(value.description)' where a decimal belongs; the database was changed by hand")
        }
        return d
    }

    func decimal(_ index: Int, _ what: @autoclosure () -> String) throws -> Dec {
        guard let d = try decimal(at: index, what()) else {
            throw StoreError("\(what()) has no value where a decimal belongs; the database was changed by hand")
        }
        return d
    }
}

/// The columns of the row a statement stands on, read where SQLite holds them: no `Row`, no
/// `DatabaseValue`, no String for a value that reads well. What the ledger reads a million of.
struct SteppedColumns {
    let statement: OpaquePointer

    /// Moves to the next row: false after the last. The statement's arguments are bound already.
    func step(_ db: Database) throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(statement, i) == SQLITE_NULL }
    func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(statement, i) }

    /// The column's text as bytes, valid until the statement steps on.
    func text(_ i: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let p = sqlite3_column_text(statement, i) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(statement, i)))
    }

    func textEquals(_ i: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !isNull(i) else { return false }
        let t = text(i)
        return t.count == bytes.count && (t.isEmpty || memcmp(t.baseAddress!, bytes.baseAddress!, t.count) == 0)
    }

    /// Whether text column `i` holds exactly `literal` (ASCII).
    func textIs(_ i: Int32, _ literal: StaticString) -> Bool {
        textEquals(i, UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// The decimal in text column `i`: nil for NULL; text that is not a decimal throws.
    func decimal(at i: Int32, _ what: @autoclosure () -> String) throws -> Dec? {
        if isNull(i) { return nil }
        let bytes = text(i)
        do { return try Dec.parse(utf8: bytes) } catch {
            throw StoreError("\(what()) holds '\(String(decoding: bytes, as: UTF8.self))' where a decimal belongs; the database was changed by hand")
        }
    }

    func decimal(_ i: Int32, _ what: @autoclosure () -> String) throws -> Dec {
        guard let d = try decimal(at: i, what()) else {
            throw StoreError("\(what()) has no value where a decimal belongs; the database was changed by hand")
        }
        return d
    }
}

/// Arguments bound straight to a prepared statement, then one step: no `StatementArguments` of
/// boxed values, no String for a decimal. What a running instance (and every second of a
/// backtest) writes its market samples with. Parameters count from 1, as SQLite's do.
struct DirectBinding {
    let statement: OpaquePointer
    /// The first binding that failed (SQLite's code), reported when the statement runs.
    private var failed: Int32 = SQLITE_OK

    init(_ statement: OpaquePointer) {
        self.statement = statement
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    private mutating func check(_ code: Int32) { if code != SQLITE_OK && failed == SQLITE_OK { failed = code } }

    mutating func bind(_ i: Int32, _ value: Int64) { check(sqlite3_bind_int64(statement, i, value)) }
    mutating func bind(_ i: Int32, _ value: Int64?) { if let value { bind(i, value) } else { check(sqlite3_bind_null(statement, i)) } }
    mutating func bind(_ i: Int32, _ value: Dec) {
        // A decimal's text is short enough to live inside its String (no allocation);
        // SQLITE_TRANSIENT: SQLite copies it, as it lives only as long as the closure.
        var text = value.description
        check(text.withUTF8 { sqlite3_bind_text(statement, i, $0.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                                                Int32($0.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self)) })
    }
    mutating func bind(_ i: Int32, _ value: Dec?) { if let value { bind(i, value) } else { check(sqlite3_bind_null(statement, i)) } }

    /// Runs the statement once (one that returns no rows) and resets it.
    func run(_ db: Database) throws {
        defer { sqlite3_reset(statement) }
        guard failed == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: failed), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}
