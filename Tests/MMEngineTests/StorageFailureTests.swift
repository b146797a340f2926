import Foundation
import GRDB
import Synchronization
import MMCore
import MMStorage
import Testing
@testable import MMEngine

/// A database that refuses writes mid-run must lose no fill and no order: what could not be
/// written is held, quoting stops and says so, and everything is written once the store works.
@Suite struct StorageFailureTests {
    /// Holds SQLite's write lock from another connection, as another process would: an
    /// exclusive transaction kept open on a thread of its own until `release`.
    final class WriteLock: @unchecked Sendable {
        let taken = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        let ended = DispatchSemaphore(value: 0)
        init(path: String) throws {
            let queue = try DatabaseQueue(path: path)
            Thread.detachNewThread { [taken, go, ended] in
                try? queue.inTransaction(.exclusive) { _ in
                    taken.signal()
                    go.wait()
                    return .commit
                }
                ended.signal()
            }
            taken.wait()
        }
        func release() {
            go.signal()
            ended.wait()
        }
    }

    /// A database file with a short busy timeout, so that a held lock fails writes quickly.
    static func fileStore() throws -> (URL, DataDirectory, Store) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-storage-\(UUID().uuidString)")
        let directory = try DataDirectory(url: url)
        return (url, directory, try Store.open(directory: directory, busyTimeout: 0.02))
    }

    @Test func aLockedDatabaseMidRunLosesNoFillAndStopsQuotingUntilItIsBack() async throws {
        let (url, directory, store) = try Self.fileStore()
        defer { try? FileManager.default.removeItem(at: url) }
        let r = try store.createInstance(name: "a", limit: 10)
        let clock = ManualClock()
        let notes = NoteSink()
        let manager = InstanceManager(store: store, clock: clock) { _, level, message in notes.add("\(level.rawValue): \(message)") }
        var busier = busy
        busier["sim.takers"] = "3000"
        try await manager.start(id: r.id, name: r.name, settings: settings(busier), loop: false)
        func tick(_ n: Int) async {
            for _ in 0..<n {
                clock.advance(ms: 500)
                await manager.tickAll()
            }
        }
        await tick(60)
        let before = await manager.report(r.id)!
        #expect(before.fills > 0 && before.storageFailure == nil)

        let lock = try WriteLock(path: directory.file("mmsh.db").path)
        var held = 0
        for _ in 0..<40 {
            await tick(1)
            held = max(held, await manager.report(r.id)!.unsavedFills)
        }
        let during = await manager.report(r.id)!
        #expect(during.storageFailure?.contains("locked") == true)
        #expect(during.orders.isEmpty, "quotes are cancelled while the database refuses writes")
        #expect(held > 0, "fills reported while the store was locked are held, not dropped")
        #expect(notes.all.filter { $0.contains("cannot write to the database") }.count == 1, "said once, loudly: \(notes.all)")

        lock.release()
        await tick(40)
        let after = await manager.report(r.id)!
        #expect(after.storageFailure == nil && after.unsavedFills == 0)
        #expect(!after.orders.isEmpty, "quoting resumes")
        #expect(try store.events(instance: r.id).contains { $0.message.hasPrefix("the database accepts writes again") })
        _ = await manager.stop(r.id)

        // Every fill the venue made is stored once, and the balances reconcile with them exactly.
        let final = await manager.report(r.id)!
        let fills = try store.fills(instance: r.id)
        #expect(fills.count == final.fills && final.fills > before.fills)
        #expect(Set(fills.map(\.tradeId)).count == fills.count)
        var base = final.startBase, quote = final.startQuote
        for f in fills {
            let q = Dec(f.quantity)!, p = Dec(f.price)!, fee = Dec(f.fee)!
            if f.side == "buy" { base += q; quote -= q * p + fee } else { base -= q; quote += q * p - fee }
        }
        #expect(final.snapshot!.balances.base.total == base && final.snapshot!.balances.quote.total == quote)
        // No order was sent without its record: every order the store knows ended, none is open.
        #expect(try store.orders(instance: r.id, openOnly: true).isEmpty)
        #expect(try store.lastRun(instance: r.id)?.endState == "stopped")
    }

    @Test func aRunThatCannotBeRecordedDoesNotStart() async throws {
        let (url, directory, store) = try Self.fileStore()
        defer { try? FileManager.default.removeItem(at: url) }
        let r = try store.createInstance(name: "a", limit: 10)
        let manager = InstanceManager(store: store, clock: ManualClock())
        let lock = try WriteLock(path: directory.file("mmsh.db").path)
        await #expect(throws: EngineError.self) {
            try await manager.start(id: r.id, name: r.name, settings: settings(busy), loop: false)
        }
        #expect(await manager.runningCount == 0)
        lock.release()
        #expect(try store.lastRun(instance: r.id) == nil)
    }
}

final class NoteSink: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ s: String) { lines.withLock { $0.append(s) } }
    var all: [String] { lines.withLock { $0 } }
}
