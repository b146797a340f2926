import MMCore
import Testing
@testable import MMStrategy

/// The book kept level by level against the plainest model of one: a dictionary sorted on demand.
@Suite struct DepthBookTests {
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func alwaysEqualsASortedDictionary(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var book = DepthBook()
        var bids: [Dec: Dec] = [:], asks: [Dec: Dec] = [:]
        let tick = Dec("0.01")
        for step in 0..<3000 {
            let side: Side = g.next() & 1 == 0 ? .buy : .sell
            // Mostly near the touch, sometimes far; a quarter remove a level.
            let distance = g.next() % 8 == 0 ? Int(g.next() % 500) : Int(g.next() % 20)
            let price = side == .buy ? Dec(100) - Dec(distance) * tick : Dec("100.01") + Dec(distance) * tick
            let amount = g.next() % 4 == 0 ? Dec(0) : Dec(Int(g.next() % 1000) + 1) * Dec("0.001")
            book.set(side, price, amount)
            if side == .buy { bids[price] = amount.isPositive ? amount : nil } else { asks[price] = amount.isPositive ? amount : nil }
            let wantBids = bids.map { BookLevel($0.key, $0.value) }.sorted { $0.price > $1.price }
            let wantAsks = asks.map { BookLevel($0.key, $0.value) }.sorted { $0.price < $1.price }
            if step % 100 == 0 || step == 2999 {
                #expect(book.book() == OrderBook(bids: wantBids, asks: wantAsks))
                #expect(book.book(depth: 5) == OrderBook(bids: Array(wantBids.prefix(5)), asks: Array(wantAsks.prefix(5))))
            }
            #expect(book.bestBid == wantBids.first && book.bestAsk == wantAsks.first)
            let probe = Dec(100) - Dec(Int(g.next() % 30)) * tick
            #expect(book.amount(.buy, at: probe) == bids[probe] ?? 0)
            #expect(Array(book.levels(.buy, through: probe)) == wantBids.filter { $0.price >= probe })
            let askProbe = Dec("100.01") + Dec(Int(g.next() % 30)) * tick
            #expect(Array(book.levels(.sell, through: askProbe)) == wantAsks.filter { $0.price <= askProbe })
        }
    }

    /// Prices of mixed scales (as a feed may write them: "100", "100.5", "100.50", "100.505") and
    /// prices too large for the book's integer keys: the same book as the dictionary's, searched by
    /// keys rescaled as finer prices come, or by the decimals once a key does not fit.
    @Test(arguments: [false, true])
    func mixedScalesAndHugePrices(huge: Bool) {
        var g = SeededGenerator(seed: huge ? 8 : 7)
        var book = DepthBook()
        var bids: [Dec: Dec] = [:]
        let ticks = [Dec("1"), Dec("0.5"), Dec("0.50"), Dec("0.005")]
        for step in 0..<2000 {
            var price = Dec(100) - Dec(Int(g.next() % 40)) * ticks[Int(g.next() % UInt64(step < 500 ? 2 : 4))]
            // 10^16 at 4 decimals does not fit 64 bits as a whole number of 10^-4.
            if huge && step == 1000 { price = Dec("10000000000000000.0001") }
            let amount = g.next() % 4 == 0 ? Dec(0) : Dec(Int(g.next() % 100) + 1)
            book.set(.buy, price, amount)
            bids[price] = amount.isPositive ? amount : nil
            let want = bids.map { BookLevel($0.key, $0.value) }.sorted { $0.price > $1.price }
            #expect(book.book().bids == want)
            let probe = Dec(100) - Dec(Int(g.next() % 40)) * Dec("0.5")
            #expect(book.amount(.buy, at: probe) == bids[probe] ?? 0)
            #expect(Array(book.levels(.buy, through: probe)) == want.filter { $0.price >= probe })
        }
        #expect(book.keyed == !huge)
        book.removeAll()
        #expect(book.keyed && book.book().bids.isEmpty)
    }

    /// Levels given out of order, twice at a price or empty are sorted, added up and left out.
    @Test func anUnsortedBookIsStoredSorted() {
        let book = DepthBook(OrderBook(bids: [BookLevel(99, 1), BookLevel(100, 2), BookLevel(99, 3), BookLevel(98, 0)],
                                       asks: [BookLevel(101, 1), BookLevel(102, 2)]))
        #expect(book.book() == OrderBook(bids: [BookLevel(100, 2), BookLevel(99, 4)], asks: [BookLevel(101, 1), BookLevel(102, 2)]))
        #expect(book.amount(.sell, at: 102) == 2 && book.amount(.sell, at: 103) == 0)
    }
}

/// The book with our orders added, against the plainest merge: a dictionary of every price.
@Suite struct DepthBookWithOursTests {
    @Test(arguments: [21, 22, 23] as [UInt64])
    func addingOursEqualsAMergedDictionary(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        for _ in 0..<300 {
            var book = DepthBook()
            let tick = Dec("0.5")
            for _ in 0..<Int(g.next() % 40) {
                let side: Side = g.next() & 1 == 0 ? .buy : .sell
                let d = Int(g.next() % 30)
                book.set(side, side == .buy ? Dec(100) - Dec(d) * tick : Dec(101) + Dec(d) * tick, Dec(Int(g.next() % 9) + 1))
            }
            for side in [Side.buy, .sell] {
                // Our orders: at the book's prices, between them, beyond them, twice at a price.
                let ours = (0..<Int(g.next() % 6)).map { _ in
                    let d = Int(g.next() % 34)
                    return BookLevel(side == .buy ? Dec(100) - Dec(d) * tick : Dec(101) + Dec(d) * tick, Dec(Int(g.next() % 3) + 1) * Dec("0.1"))
                }
                var all: [Dec: Dec] = [:]
                for l in book.book().bids where side == .buy { all[l.price, default: 0] += l.amount }
                for l in book.book().asks where side == .sell { all[l.price, default: 0] += l.amount }
                for l in ours { all[l.price, default: 0] += l.amount }
                let want = all.map { BookLevel($0.key, $0.value) }.sorted { side == .buy ? $0.price > $1.price : $0.price < $1.price }
                for depth in [1, 3, 10, 100] {
                    #expect(book.top(side, depth: depth, adding: ours) == Array(want.prefix(depth)), "\(ours) depth \(depth)")
                }
            }
        }
    }
}
