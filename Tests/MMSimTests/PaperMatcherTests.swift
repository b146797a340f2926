import MMCore
import MMStrategy
import Testing
@testable import MMSim

/// The paper venue's matching against a recorded sequence of real book and trade updates.
@Suite struct PaperMatcherTests {
    let rules = MarketRules(tick: "0.01", step: "0.001", minQuantity: "0.001", minNotional: 1, makerFee: "0.001")

    func book(_ bids: [(Dec, Dec)], _ asks: [(Dec, Dec)]) -> OrderBook {
        OrderBook(bids: bids.map { BookLevel($0.0, $0.1) }, asks: asks.map { BookLevel($0.0, $0.1) })
    }

    @Test func aQuoteWaitsBehindTheVolumeThatWasThereFirst() throws {
        var m = PaperMatcher(rules: rules, base: 1, quote: 10_000)
        _ = m.book(book([(100, 2), ("99.5", 1)], [(101, 3)]), time: 1)
        // Joins 2.0 already bid at 100.
        let bid = try m.place(clientId: "b1", side: .buy, type: .limitMaker, price: 100, quantity: 1, time: 2)
        #expect(bid.status == .new)
        #expect(m.account.quoteLocked == Dec("100.1") && m.account.quoteFree == Dec("9899.9"))
        // 1.5 sells at 100: all of it goes to the volume ahead.
        #expect(m.trade(MarketTrade(price: 100, quantity: "1.5", takerSide: .sell, time: 3)).isEmpty)
        // The level thins to 0.2 (cancellations): only that is still ahead.
        #expect(m.book(book([(100, "0.2")], [(101, 3)]), time: 4).isEmpty)
        // 0.7 sells at 100: 0.2 ahead, then 0.5 for us.
        let fills = m.trade(MarketTrade(price: 100, quantity: "0.7", takerSide: .sell, time: 5))
        #expect(fills.count == 1 && fills[0].quantity == Dec("0.5") && fills[0].price == 100 && !fills[0].orderFilled)
        #expect(fills[0].fee == Dec("0.05"))
        #expect(m.order(clientId: "b1")?.status == .partiallyFilled)
        // A sale below our price went through us: the rest fills.
        let through = m.trade(MarketTrade(price: "99.9", quantity: 2, takerSide: .sell, time: 6))
        #expect(through.count == 1 && through[0].quantity == Dec("0.5") && through[0].orderFilled)
        #expect(m.openOrders.isEmpty && m.order(clientId: "b1")?.status == .filled)
        #expect(m.account.baseFree == 2 && m.account.quoteLocked == 0)
        #expect(m.account.quoteFree == Dec(10_000) - 100 - Dec("0.1"))
        // Buys do not reach a bid; a taker buying does not fill our bid.
        #expect(m.trade(MarketTrade(price: 100, quantity: 5, takerSide: .buy, time: 7)).isEmpty)
    }

    /// The book with our orders in it: each of our orders adds its remaining amount to its level
    /// (a level of its own where the market has none), best first, cut at the depth; the same
    /// as summing every level by price and sorting, whatever the orders and the depth.
    @Test func theBookWithOurOrdersIsTheMarketsPlusOurs() throws {
        var generator = SeededGenerator(seed: 21)
        for round in 0..<200 {
            var m = PaperMatcher(rules: rules, base: 1000, quote: 10_000_000)
            let bids = (0..<Int(generator.next() % 30)).map { BookLevel(Dec(100) - Dec($0 * 2) * rules.tick, Dec(Int(generator.next() % 50) + 1) * rules.step) }
            let asks = (0..<Int(generator.next() % 30)).map { BookLevel(Dec("100.01") + Dec($0 * 2) * rules.tick, Dec(Int(generator.next() % 50) + 1) * rules.step) }
            _ = m.book(OrderBook(bids: bids, asks: asks), time: 1)
            for i in 0..<Int(generator.next() % 8) {
                let buy = generator.next() & 1 == 0
                let offset = Dec(Int(generator.next() % 70)) * rules.tick
                _ = try? m.place(clientId: "o\(round)-\(i)", side: buy ? .buy : .sell, type: .limitMaker,
                                 price: buy ? Dec("99.99") - offset : Dec("100.02") + offset, quantity: Dec(Int(generator.next() % 9) + 1) * rules.step, time: 2)
            }
            let depth = Int(generator.next() % 40) + 1
            func expected(_ levels: [BookLevel], _ side: Side) -> [BookLevel] {
                var byPrice: [Dec: Dec] = [:]
                for l in levels { byPrice[l.price, default: 0] += l.amount }
                for o in m.openOrders where o.side == side { byPrice[o.price, default: 0] += o.remaining }
                return Array(byPrice.map { BookLevel($0.key, $0.value) }.sorted { side == .buy ? $0.price > $1.price : $0.price < $1.price }.prefix(depth))
            }
            let merged = m.book(depth: depth)
            #expect(merged.bids == expected(bids, .buy) && merged.asks == expected(asks, .sell), "round \(round)")
        }
    }

    @Test func aCrossingBookFillsWhatItHolds() throws {
        var m = PaperMatcher(rules: rules, base: 5, quote: 10_000)
        _ = m.book(book([(100, 1)], [(101, 1)]), time: 1)
        _ = try m.place(clientId: "a1", side: .sell, type: .limitMaker, price: 101, quantity: 2, time: 2)
        _ = try m.place(clientId: "a2", side: .sell, type: .limitMaker, price: 102, quantity: 1, time: 2)
        // The real bids jump to 101.5 with 1.2 there: our ask at 101 is crossed and fills 1.2.
        let fills = m.book(book([("101.5", "1.2"), (100, 1)], [(103, 1)]), time: 3)
        #expect(fills.map(\.clientId) == ["a1"] && fills[0].quantity == Dec("1.2"))
        #expect(m.account.baseLocked == Dec("1.8") && m.account.baseFree == 2)
        #expect(m.account.quoteFree == Dec(10_000) + Dec("121.2") - Dec("0.1212"))
        // Our orders are shown in the book the strategy sees.
        #expect(m.book().asks.first == BookLevel(101, Dec("0.8")))
        // A post-only order that would take is refused, and changes nothing.
        let before = m.account
        #expect(throws: ExchangeError.wouldTake) { try m.place(clientId: "x", side: .buy, type: .limitMaker, price: 103, quantity: 1, time: 4) }
        #expect(m.account == before)
        // Cancelling releases what is locked; an unknown order is -2011.
        let cancelled = try m.cancel(clientId: "a1")
        #expect(cancelled.status == .partiallyCanceled && cancelled.executed == Dec("1.2"))
        #expect(m.account.baseLocked == 1)
        #expect(throws: ExchangeError.unknownOrder) { try m.cancel(clientId: "a1") }
    }

    @Test func balancesAndRulesAreEnforced() throws {
        var m = PaperMatcher(rules: rules, base: "0.5", quote: 50)
        _ = m.book(book([(100, 1)], [(101, 1)]), time: 1)
        #expect(throws: ExchangeError.insufficientBalance) { try m.place(clientId: "b", side: .buy, type: .limitMaker, price: 99, quantity: 1, time: 2) }
        #expect(throws: ExchangeError.insufficientPosition) { try m.place(clientId: "s", side: .sell, type: .limitMaker, price: 102, quantity: 1, time: 2) }
        #expect(throws: ExchangeError.amountPrecision) { try m.place(clientId: "s", side: .sell, type: .limitMaker, price: 102, quantity: "0.0001", time: 2) }
        #expect(throws: ExchangeError.self) { try m.place(clientId: "s", side: .sell, type: .limitMaker, price: "102.001", quantity: "0.1", time: 2) }
        _ = try m.place(clientId: "s", side: .sell, type: .limitMaker, price: 102, quantity: "0.1", time: 2)
        #expect(throws: ExchangeError.self) { try m.place(clientId: "s", side: .sell, type: .limitMaker, price: 103, quantity: "0.1", time: 2) }
    }

    /// Over a long random sequence, what the account holds always equals its start plus its fills.
    @Test func balancesReconcileOverARandomSequence() throws {
        var random = SeededGenerator(seed: 42)
        var m = PaperMatcher(rules: rules, base: 10, quote: 100_000)
        var base = Dec(10), quote = Dec(100_000)
        var mid = Dec(100)
        var n = 0
        for step in 0..<3000 {
            mid += Dec(Int(random.next() % 5) - 2) * Dec("0.01")
            let real = book([(mid - Dec("0.05"), Dec(Int(random.next() % 3) + 1)), (mid - Dec("0.10"), 2)],
                            [(mid + Dec("0.05"), Dec(Int(random.next() % 3) + 1)), (mid + Dec("0.10"), 2)])
            var fills = m.book(real, time: Int64(step))
            if random.next() % 3 == 0 {
                n += 1
                let buy = random.next() % 2 == 0
                _ = try? m.place(clientId: "o\(n)", side: buy ? .buy : .sell, type: .limitMaker,
                                 price: buy ? mid - Dec("0.05") : mid + Dec("0.05"), quantity: "0.5", time: Int64(step))
            }
            if random.next() % 2 == 0 {
                fills += m.trade(MarketTrade(price: mid + Dec(Int(random.next() % 9) - 4) * Dec("0.02"), quantity: Dec(Int(random.next() % 4)),
                                             takerSide: random.next() % 2 == 0 ? .buy : .sell, time: Int64(step)))
            }
            if random.next() % 10 == 0, let o = m.openOrders.first { _ = try? m.cancel(clientId: o.clientId) }
            for f in fills {
                if f.side == .buy { base += f.quantity; quote -= f.price * f.quantity + f.fee } else { base -= f.quantity; quote += f.price * f.quantity - f.fee }
            }
            #expect(m.account.baseFree + m.account.baseLocked == base && m.account.quoteFree + m.account.quoteLocked == quote)
            let lockedBase = m.openOrders.filter { $0.side == .sell }.reduce(Dec(0)) { $0 + $1.remaining }
            #expect(m.account.baseLocked == lockedBase)
            #expect(!m.account.baseFree.isNegative && !m.account.quoteFree.isNegative)
        }
    }

    @Test func aLiquidationTakesWhatTheRealBookShows() throws {
        var m = PaperMatcher(rules: rules, base: 5, quote: 1000)
        _ = m.book(book([(100, 1), ("99.5", 2)], [(101, 1)]), time: 1)
        // Sell 4 down to 99.5: 1 at 100 and 2 at 99.5 are there; the last 1 is cancelled.
        let o = try m.place(clientId: "liq", side: .sell, type: .immediateOrCancel, price: "99.5", quantity: 4, time: 2)
        #expect(o.status == .partiallyCanceled && o.executed == 3)
        let fills = m.takeTakerFills()
        #expect(fills.map(\.price) == [100, "99.5"] && fills.map(\.quantity) == [1, 2] && fills.allSatisfy { !$0.isMaker })
        #expect(fills.last?.orderFilled == false)
        #expect(m.account.baseFree == 2 && m.account.quoteFree == Dec(1000) + 299 - Dec("0.299"))
        #expect(m.openOrders.isEmpty && m.takeTakerFills().isEmpty)
        // The real book is not changed by paper volume.
        #expect(m.market.bestBid == BookLevel(100, 1))
    }
}

/// A replay feeds the matcher level by level (`level` then `settle`); the paper venue hands it
/// the whole book (`book(_:time:)`). Over the same market both fill the same orders alike.
@Suite struct PaperMatcherFeedTests {
    let rules = MarketRules(tick: "0.01", step: "0.001", minQuantity: "0.001", minNotional: 1, makerFee: "0.001")

    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func levelByLevelEqualsTheWholeBook(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        var whole = PaperMatcher(rules: rules, base: 10, quote: 100_000)
        var levels = PaperMatcher(rules: rules, base: 10, quote: 100_000)
        var real = DepthBook()
        let tick = Dec("0.01")
        var mid = 10_000   // in ticks
        func price(_ ticks: Int) -> Dec { Dec(ticks) * tick }
        var ids = 0
        for step in 0..<4000 {
            switch g.next() % 10 {
            case 0...5:
                // A batch of level changes around the mid, which wanders (so the book crosses our orders).
                if g.next() % 5 == 0 { mid += Int(g.next() % 7) - 3 }
                var changes: [(Side, Dec, Dec)] = []
                for _ in 0..<Int(g.next() % 6 + 1) {
                    let side: Side = g.next() & 1 == 0 ? .buy : .sell
                    let d = Int(g.next() % 12)
                    let p = side == .buy ? price(mid - d) : price(mid + 1 + d)
                    let a = g.next() % 4 == 0 ? Dec(0) : Dec(Int(g.next() % 3000) + 1) * Dec("0.001")
                    changes.append((side, p, a))
                }
                // The real book never crosses itself: the other side gives way.
                for (side, p, a) in changes {
                    real.set(side, p, a)
                    if a.isPositive {
                        while side == .buy, let ask = real.bestAsk, ask.price <= p { real.set(.sell, ask.price, 0) }
                        while side == .sell, let bid = real.bestBid, bid.price >= p { real.set(.buy, bid.price, 0) }
                    }
                }
                let a = whole.book(real.book(), time: Int64(step))
                let before = levels.market
                for (side, p, _) in changes { levels.level(side, p, real.amount(side, at: p)) }
                // What the other side gave way to, as a depth stream would send it.
                for l in before.bidLevels where real.amount(.buy, at: l.price) != l.amount { levels.level(.buy, l.price, real.amount(.buy, at: l.price)) }
                for l in before.askLevels where real.amount(.sell, at: l.price) != l.amount { levels.level(.sell, l.price, real.amount(.sell, at: l.price)) }
                let b = levels.settle(time: Int64(step))
                #expect(levels.market == real)
                #expect(a == b, "step \(step)")
            case 6, 7:
                ids += 1
                let side: Side = g.next() & 1 == 0 ? .buy : .sell
                let p = side == .buy ? price(mid - Int(g.next() % 5)) : price(mid + 1 + Int(g.next() % 5))
                let q = Dec(Int(g.next() % 500) + 10) * Dec("0.001")
                let x = Result { () throws(ExchangeError) in try whole.place(clientId: "c\(ids)", side: side, type: .limitMaker, price: p, quantity: q, time: Int64(step)) }
                let y = Result { () throws(ExchangeError) in try levels.place(clientId: "c\(ids)", side: side, type: .limitMaker, price: p, quantity: q, time: Int64(step)) }
                #expect(String(describing: x) == String(describing: y))
            case 8:
                if let o = whole.openOrders.first {
                    #expect(try whole.cancel(clientId: o.clientId) == levels.cancel(clientId: o.clientId))
                }
            default:
                let taker: Side = g.next() & 1 == 0 ? .buy : .sell
                let p = taker == .sell ? price(mid - Int(g.next() % 4)) : price(mid + 1 + Int(g.next() % 4))
                let t = MarketTrade(price: p, quantity: Dec(Int(g.next() % 2000) + 1) * Dec("0.001"), takerSide: taker, time: Int64(step))
                #expect(whole.trade(t) == levels.trade(t))
            }
            #expect(whole.openOrders == levels.openOrders && whole.account == levels.account, "step \(step)")
        }
        #expect(whole.nextTrade > 20, "the sequence filled orders (\(whole.nextTrade) fills)")
    }
}
