import GRDB
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
