import MMCore
import MMStrategy
import Testing
@testable import MMSim

@Suite struct MatchingEngineTests {
    let rules = MarketRules(tick: "0.01", step: "0.001", minQuantity: "0.001", minNotional: 1, makerFee: "0.001")

    func engine(base: Dec = 10, quote: Dec = 10_000) -> MatchingEngine {
        var e = MatchingEngine(rules: rules, base: base, quote: quote)
        _ = e.setParticipants(OrderBook(bids: [BookLevel("99.00", 5), BookLevel("98.00", 5)],
                                        asks: [BookLevel("101.00", 5), BookLevel("102.00", 5)]), time: 0)
        return e
    }

    @Test func postOnlyRestsAndLocks() throws {
        var e = engine()
        let (order, trades) = try e.place(clientId: "b1", side: .buy, type: .limitMaker, price: "99.50", quantity: 2, time: 1)
        #expect(trades.isEmpty && order.status == .new && order.orderId.hasPrefix("C02__"))
        // A buy locks its value plus the fee: 199 × 1.001.
        #expect(e.account.quoteLocked == Dec("199.199") && e.account.quoteFree == Dec("9800.801"))
        #expect(e.bestBid == Dec("99.5"))
        _ = try e.place(clientId: "s1", side: .sell, type: .limitMaker, price: "100.50", quantity: 3, time: 2)
        #expect(e.account.baseLocked == 3 && e.account.baseFree == 7)
        #expect(e.openOrders.map(\.clientId) == ["b1", "s1"])
    }

    @Test func rejectionsCarryMEXCCodes() {
        var e = engine(base: 1, quote: 50)
        func code(_ side: Side, _ price: Dec, _ qty: Dec, type: OrderType = .limitMaker, id: String = "x") -> Int? {
            do { _ = try e.place(clientId: id, side: side, type: type, price: price, quantity: qty, time: 1); return nil }
            catch { return error.code }
        }
        #expect(code(.buy, "101.00", 1) == -2010)      // would take the best ask
        #expect(code(.sell, "99.00", "0.5") == -2010)  // would take the best bid
        #expect(code(.buy, "50.00", "0.01") == 30002)  // 0.50 below the minimum notional of 1
        #expect(code(.buy, "100.00", 1) == 10101)      // 100.1 needed, 50 free
        #expect(code(.sell, "100.00", 2) == 30004)     // 2 base needed, 1 free
        #expect(code(.buy, "10.00", "0.0001") == 10096)
        #expect(code(.buy, "10.001", 1) == 33333)
        #expect(code(.buy, "10.00", 0) == 10102)
        // Nothing was locked by any of them.
        #expect(e.account == AccountBalances(baseFree: 1, quoteFree: 50))
        let e2 = ExchangeError.minimum(1, "USDT")
        #expect(e2.message == "The minimum transaction volume cannot be less than:1USDT")
    }

    @Test func priceTimePriorityAndPartialFills() throws {
        var e = engine()
        // Two of our asks at 100.50, one after the other, and one at 100.40.
        _ = try e.place(clientId: "a", side: .sell, type: .limitMaker, price: "100.50", quantity: 1, time: 1)
        _ = try e.place(clientId: "b", side: .sell, type: .limitMaker, price: "100.50", quantity: 1, time: 2)
        _ = try e.place(clientId: "c", side: .sell, type: .limitMaker, price: "100.40", quantity: 1, time: 3)
        let trades = e.takerOrder(side: .buy, quantity: "2.5", time: 10)
        // Best price first (c), then time order at 100.50 (a, then half of b).
        #expect(trades.map(\.clientId) == ["c", "a", "b"])
        #expect(trades.map(\.quantity) == [1, 1, Dec("0.5")])
        #expect(trades.map(\.orderFilled) == [true, true, false])
        #expect(e.order(clientId: "b")?.status == .partiallyFilled)
        #expect(e.order(clientId: "b")?.executed == Dec("0.5"))
        // Cancelling the rest of b: partially cancelled, its remaining base released.
        let b = try e.cancel(clientId: "b")
        #expect(b.status == .partiallyCanceled)
        #expect(e.account.baseLocked == 0 && e.account.baseFree == Dec("7.5"))
        #expect(throws: ExchangeError.unknownOrder) { try e.cancel(clientId: "b") }
        #expect(throws: ExchangeError.unknownOrder) { try e.cancel(clientId: "nobody") }
    }

    @Test func participantsAheadKeepTheirPlace() throws {
        var e = engine()
        // 5 of other participants' volume sits at 101.00 before our order joins the level.
        _ = try e.place(clientId: "late", side: .sell, type: .limitMaker, price: "101.00", quantity: 1, time: 1)
        #expect(e.takerOrder(side: .buy, quantity: 5, time: 2).isEmpty)
        #expect(e.takerOrder(side: .buy, quantity: 1, time: 3).map(\.clientId) == ["late"])
    }

    @Test func fillsMoveBalancesAndChargeTheFee() throws {
        var e = engine()
        _ = try e.place(clientId: "b", side: .buy, type: .limitMaker, price: "99.50", quantity: 2, time: 1)
        let t = e.takerOrder(side: .sell, quantity: 2, time: 2)
        #expect(t.count == 1 && t[0].price == Dec("99.5") && t[0].fee == Dec("0.199") && t[0].isMaker)
        #expect(e.account == AccountBalances(baseFree: 12, quoteFree: Dec("9800.801")))
        _ = try e.place(clientId: "s", side: .sell, type: .limitMaker, price: "100.50", quantity: 2, time: 3)
        _ = e.takerOrder(side: .buy, quantity: 2, time: 4)
        // 201 received less 0.201 fee.
        #expect(e.account == AccountBalances(baseFree: 10, quoteFree: Dec("10001.6")))
    }

    @Test func immediateOrCancelTakesWhatItCanAndCancelsTheRest() throws {
        var e = engine()
        let (order, trades) = try e.place(clientId: "ioc", side: .sell, type: .immediateOrCancel, price: "98.50", quantity: 7, time: 1)
        // Takes the 5 at 99.00; 98.00 is beyond its limit; the rest is cancelled.
        #expect(trades.map(\.quantity) == [5] && trades[0].price == 99 && !trades[0].isMaker)
        #expect(order.status == .partiallyCanceled && order.executed == 5)
        #expect(e.account.baseLocked == 0 && e.account.baseFree == 5)
        #expect(e.account.quoteFree == Dec("10000") + Dec("495") - Dec("0.495"))
    }

    @Test func aMarketMovingThroughAQuoteFillsIt() throws {
        var e = engine()
        _ = try e.place(clientId: "ask", side: .sell, type: .limitMaker, price: "100.50", quantity: 1, time: 1)
        // The market moves up: other participants now bid 100.80.
        let trades = e.setParticipants(OrderBook(bids: [BookLevel("100.80", 3)], asks: [BookLevel("101.20", 3)]), time: 2)
        #expect(trades.map(\.clientId) == ["ask"] && trades[0].price == Dec("100.5"))
        let book = e.book()
        #expect(book.bids.first == BookLevel("100.80", 2) && book.asks.first == BookLevel("101.20", 3))
    }

    /// Whatever happens, balances equal the start plus fills less fees, and what is locked is
    /// exactly what open orders hold.
    @Test(arguments: Array(UInt64(1)...30))
    func balancesAlwaysReconcile(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        var e = engine(base: 50, quote: 5_000)
        var base: Dec = 50, quote: Dec = 5_000
        var ids = 0
        for step in 0..<300 {
            let time = Int64(step)
            switch g.next() % 4 {
            case 0, 1:
                let side: Side = g.next() % 2 == 0 ? .buy : .sell
                let offset = Dec(Int(g.next() % 200)) * rules.tick
                let price = side == .buy ? Dec("99.01") + offset : Dec("100.99") - offset
                ids += 1
                if let (_, trades) = try? e.place(clientId: "o\(ids)", side: side, type: g.next() % 5 == 0 ? .limit : .limitMaker,
                                                  price: price, quantity: Dec(Int(g.next() % 3000 + 1)) * rules.step, time: time) {
                    for t in trades { account(t, &base, &quote) }
                }
            case 2:
                if let open = e.openOrders.randomElement(using: &g) { _ = try e.cancel(clientId: open.clientId) }
            default:
                let trades = e.takerOrder(side: g.next() % 2 == 0 ? .buy : .sell, quantity: Dec(Int(g.next() % 4000)) * rules.step, time: time)
                for t in trades { account(t, &base, &quote) }
            }
            #expect(e.account.baseFree + e.account.baseLocked == base, "seed \(seed) step \(step)")
            #expect(e.account.quoteFree + e.account.quoteLocked == quote, "seed \(seed) step \(step)")
            let open = e.openOrders
            let lockedBase = open.filter { $0.side == .sell }.reduce(Dec(0)) { $0 + $1.remaining }
            let lockedQuote = open.filter { $0.side == .buy }.reduce(Dec(0)) { $0 + $1.remaining * $1.price * (1 + rules.makerFee) }
            #expect(e.account.baseLocked == lockedBase && e.account.quoteLocked == lockedQuote, "seed \(seed) step \(step)")
            #expect(!e.account.baseFree.isNegative && !e.account.quoteFree.isNegative)
            if let bid = e.bestBid, let ask = e.bestAsk { #expect(bid < ask, "the book never stays crossed") }
        }
    }

    func account(_ t: ExchangeTrade, _ base: inout Dec, _ quote: inout Dec) {
        if t.side == .buy { base += t.quantity; quote -= t.quantity * t.price + t.fee }
        else { base -= t.quantity; quote += t.quantity * t.price - t.fee }
    }
}


@Suite struct PruningTests {
    @Test func closedOrdersArePrunedButOpenOnesStay() throws {
        let rules = MarketRules(tick: "0.01", step: "0.001", minNotional: 1)
        var e = MatchingEngine(rules: rules, base: 100, quote: 100_000)
        for i in 0..<50 {
            _ = try e.place(clientId: "c\(i)", side: .buy, type: .limitMaker, price: "10.00", quantity: 1, time: Int64(i))
            if i % 2 == 0 { _ = try e.cancel(clientId: "c\(i)") }
        }
        e.pruneClosed(keep: 5)
        #expect(e.openOrders.count == 25)
        #expect(e.order(clientId: "c0") == nil && e.order(clientId: "c48")?.status == .canceled)
        #expect(e.order(clientId: "c49")?.status == .new)
    }
}
