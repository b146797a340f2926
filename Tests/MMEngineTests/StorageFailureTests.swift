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

    /// How the database comes to refuse writes mid-run, and how it is given back.
    enum Refusal: String, CaseIterable, Sendable {
        /// Another connection holds SQLite's write lock.
        case locked
        /// The file system is full: the data directory is on a small tmpfs, filled to the last byte.
        case diskFull
        /// The database files become immutable (`chattr +i`, which binds root too).
        case readOnly
    }

    /// Makes the store refuse writes; returns what gives it back.
    static func refuse(_ how: Refusal, directory: DataDirectory) throws -> () -> Void {
        let db = directory.file("mmsh.db").path
        switch how {
        case .locked:
            let lock = try WriteLock(path: db)
            return { lock.release() }
        case .diskFull:
            let filler = directory.file("filler").path
            FileManager.default.createFile(atPath: filler, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
            let chunk = Data(count: 64 * 1024)
            var small = Data(count: 512)
            // Every byte taken, down to the last sector.
            while (try? handle.write(contentsOf: chunk)) != nil {}
            while !small.isEmpty { if (try? handle.write(contentsOf: small)) == nil { small = small.prefix(small.count / 2) } }
            try? handle.close()
            return { try? FileManager.default.removeItem(atPath: filler) }
        case .readOnly:
            try run("/usr/bin/chattr", ["+i", db, db + "-wal"])
            return { try? run("/usr/bin/chattr", ["-i", db, db + "-wal"]) }
        }
    }

    static func run(_ tool: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteNoPermission) }
    }

    /// A data directory on a tmpfs of its own (for the full disk), unmounted at the end.
    final class Mounted {
        let url: URL
        init(size: String) throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-tmpfs-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try StorageFailureTests.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", url.path])
        }
        deinit {
            try? StorageFailureTests.run("/bin/umount", ["-l", url.path])
            try? FileManager.default.removeItem(at: url)
        }
    }

    // The full disk and the immutable file need root, as this project's machines and CI run.
    @Test(arguments: getuid() == 0 ? Refusal.allCases : [.locked])
    func aDatabaseThatRefusesWritesMidRunLosesNoFillAndStopsQuotingUntilItIsBack(_ how: Refusal) async throws {
        let mount = how == .diskFull ? try Mounted(size: "8m") : nil
        let url = mount?.url.appendingPathComponent("data") ?? FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-storage-\(UUID().uuidString)")
        let directory = try DataDirectory(url: url)
        let store = try Store.open(directory: directory, busyTimeout: 0.02)
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

        let release = try Self.refuse(how, directory: directory)
        var held = 0
        var failing = false
        for _ in 0..<40 {
            await tick(1)
            let report = await manager.report(r.id)!
            held = max(held, report.unsavedFills)
            failing = failing || report.storageFailure != nil
        }
        let during = await manager.report(r.id)!
        #expect(failing && during.storageFailure != nil, "\(how): the store refuses writes")
        if how == .locked { #expect(during.storageFailure?.contains("locked") == true) }
        #expect(during.orders.isEmpty, "quotes are cancelled while the database refuses writes")
        // Fills the venue reports while writes fail are held, not dropped (with the lock, some always come).
        if how == .locked { #expect(held > 0, "fills reported while the store was locked are held, not dropped") }
        #expect(notes.all.filter { $0.contains("cannot write to the database") }.count == 1, "said once, loudly: \(notes.all)")

        release()
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
