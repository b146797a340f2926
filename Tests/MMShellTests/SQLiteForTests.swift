import GRDB

/// Raw SQL against a database file, for tests that fake another mmsh version's writes.
enum DatabaseQueueForTests {
    static func open(_ path: String) throws -> (String) throws -> Void {
        let queue = try DatabaseQueue(path: path)
        return { sql in try queue.write { try $0.execute(sql: sql) } }
    }
}
