import MMCore
import MMStrategy
import Testing
@testable import MMMexc

func lv(_ p: Dec, _ q: Dec) -> BookLevel { BookLevel(p, q) }

@Suite struct LocalBookTests {
    @Test func followsMEXCsRecipe() {
        var book = LocalBook()
        #expect(book.apply(DepthDiff(fromVersion: 99, toVersion: 100, bids: [lv(10, 1)], asks: [])) == .buffered)
        #expect(book.apply(DepthDiff(fromVersion: 101, toVersion: 103, bids: [lv(10, 2)], asks: [lv(11, 5)])) == .buffered)
        #expect(book.apply(DepthDiff(fromVersion: 104, toVersion: 104, bids: [lv(9, 1)], asks: [])) == .buffered)
        // The snapshot holds up to 102: the first buffered diff is dropped, the second straddles.
        #expect(book.snapshot(lastUpdateId: 102, bids: [lv(10, 3), lv(8, 1)], asks: [lv(11, 1), lv(12, 1)]) == .applied)
        #expect(book.version == 104)
        #expect(book.bids == [lv(10, 2), lv(9, 1), lv(8, 1)])
        #expect(book.asks == [lv(11, 5), lv(12, 1)])
        // Absolute quantities; 0 removes.
        #expect(book.apply(DepthDiff(fromVersion: 105, toVersion: 105, bids: [lv(10, 0)], asks: [lv("10.5", 2), lv(12, 0)])) == .applied)
        #expect(book.bestBid == lv(9, 1) && book.bestAsk == lv("10.5", 2))
        #expect(book.book(depth: 1) == OrderBook(bids: [lv(9, 1)], asks: [lv("10.5", 2)]))
    }

    @Test func gapsDuplicatesAndRegressionsAskForASnapshot() {
        var book = LocalBook()
        _ = book.snapshot(lastUpdateId: 10, bids: [lv(10, 1)], asks: [lv(11, 1)])
        #expect(book.apply(DepthDiff(fromVersion: 5, toVersion: 10, bids: [], asks: [])) == .stale)
        #expect(book.apply(DepthDiff(fromVersion: 9, toVersion: 12, bids: [lv(10, 2)], asks: [])) == .applied)
        #expect(book.apply(DepthDiff(fromVersion: 9, toVersion: 12, bids: [lv(10, 2)], asks: [])) == .needsSnapshot(reason: "a duplicate or an older diff: at 12, got 9…12"))
        #expect(!book.isSynced && book.bids.isEmpty)
        _ = book.snapshot(lastUpdateId: 20, bids: [lv(10, 1)], asks: [lv(11, 1)])
        #expect(book.apply(DepthDiff(fromVersion: 21, toVersion: 21, bids: [], asks: [])) == .applied)
        #expect(book.apply(DepthDiff(fromVersion: 23, toVersion: 24, bids: [], asks: [])) == .needsSnapshot(reason: "a gap: at 21, got 23…24"))
        // The diff that showed the gap is kept for the next snapshot.
        #expect(book.snapshot(lastUpdateId: 22, bids: [lv(10, 7)], asks: [lv(11, 1)]) == .applied)
        #expect(book.version == 24)
        // A snapshot older than every buffered diff leaves a gap: another one is needed.
        book.reset()
        _ = book.apply(DepthDiff(fromVersion: 50, toVersion: 51, bids: [], asks: []))
        #expect(book.snapshot(lastUpdateId: 40, bids: [], asks: []) == .needsSnapshot(reason: "gap after the snapshot: 40 then 50…51"))
        #expect(book.apply(DepthDiff(fromVersion: 3, toVersion: 2, bids: [], asks: [])) == .needsSnapshot(reason: "diff 3…2 runs backwards"))
    }

    /// A simulated exchange book changes version by version; its diffs reach the local book
    /// duplicated, reordered, with gaps, across disconnects, with snapshots taken before or after
    /// the diffs in flight. Whenever the local book is in sync it equals the exchange's book at
    /// the same version, and at the end it equals the exchange's book.
    @Test(arguments: 1...25 as ClosedRange<UInt64>)
    func alwaysEqualsTheExchangesBook(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        func roll(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        var bids: [Dec: Dec] = [:], asks: [Dec: Dec] = [:]
        func sorted() -> (bids: [BookLevel], asks: [BookLevel]) {
            (bids.sorted { $0.key > $1.key }.map { lv($0.key, $0.value) }, asks.sorted { $0.key < $1.key }.map { lv($0.key, $0.value) })
        }
        var version: Int64 = 1000
        var history: [Int64: (bids: [BookLevel], asks: [BookLevel])] = [version: sorted()]
        var frames: [DepthDiff] = []
        // The exchange: 600 frames, each 1 to 3 versions of 1 to 3 level changes.
        for _ in 0..<600 {
            let from = version + 1
            var touchedBids: Set<Dec> = [], touchedAsks: Set<Dec> = []
            for _ in 0..<(1 + roll(3)) {
                version += 1
                for _ in 0..<(1 + roll(3)) {
                    let bid = roll(2) == 0
                    let price = bid ? Dec(90 + roll(10)) : Dec(101 + roll(10))
                    let quantity = roll(4) == 0 ? Dec(0) : Dec(1 + roll(9))
                    if bid { bids[price] = quantity.isZero ? nil : quantity; touchedBids.insert(price) } else {
                        asks[price] = quantity.isZero ? nil : quantity; touchedAsks.insert(price)
                    }
                }
                history[version] = sorted()
            }
            frames.append(DepthDiff(fromVersion: from, toVersion: version,
                                    bids: touchedBids.sorted().map { lv($0, bids[$0] ?? 0) }, asks: touchedAsks.sorted().map { lv($0, asks[$0] ?? 0) }))
        }
        // The network: duplicates, swaps, drops and disconnects, never on the last 20 frames.
        var delivered: [(DepthDiff, disconnect: Bool)] = []
        var i = 0
        while i < frames.count {
            let calm = i >= frames.count - 20
            switch calm ? 9 : roll(40) {
            case 0: delivered.append((frames[i], false)); delivered.append((frames[i], false)); i += 1
            case 1 where i + 1 < frames.count: delivered.append((frames[i + 1], false)); delivered.append((frames[i], false)); i += 2
            case 2: i += 1
            case 3: delivered.append((frames[i], true)); i += 1
            default: delivered.append((frames[i], false)); i += 1
            }
        }
        var book = LocalBook()
        var snapshotDue: Int? = 3
        var synced = 0
        for (n, (frame, disconnect)) in delivered.enumerated() {
            if disconnect { book.reset(); snapshotDue = n + 1 + roll(4) }
            if case .needsSnapshot = book.apply(frame) { snapshotDue = n + 1 + roll(4) }
            if let due = snapshotDue, n >= due {
                // The snapshot comes from the exchange as it is when asked: ahead of what was
                // delivered (a few frames in flight), or, sometimes, behind it.
                let ahead = min(frames.count - 1, (frames.firstIndex { $0 == frame } ?? 0) + roll(4) - 1)
                let v = frames[max(0, ahead)].toVersion
                let s = history[v]!
                if case .needsSnapshot = book.snapshot(lastUpdateId: v, bids: s.bids, asks: s.asks) { snapshotDue = n + 2 } else { snapshotDue = nil }
            }
            if let v = book.version {
                synced += 1
                let want = history[v]!
                #expect(book.bids == want.bids && book.asks == want.asks, "seed \(seed): differs at version \(v)")
            }
        }
        #expect(synced > delivered.count / 2, "in sync most of the time")
        if !book.isSynced { _ = book.snapshot(lastUpdateId: version, bids: sorted().bids, asks: sorted().asks) }
        #expect(book.version == version)
        #expect(book.bids == sorted().bids && book.asks == sorted().asks)
    }
}
