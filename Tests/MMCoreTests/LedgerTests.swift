import Testing
@testable import MMCore

@Suite struct LedgerTests {
    /// Two buys, one partial sell, fees in quote, marked at 103. By hand:
    /// - the position 2 at an average cost of 101; selling 1.5 at 105 realizes 1.5 × 4 = 6
    /// - 0.5 left at cost 50.5, worth 51.5 at 103: unrealized 1
    /// - fees 0.35; net 6 + 1 − 0.35 = 6.65 = 0.5 × 103 − 44.85 (the base and quote the fills moved)
    /// - spread capture 0.5 + 0.2 + 0.3 = 1; inventory 2.5 + 0.8 + 2.7 = 6; 1 + 6 − 0.35 = 6.65
    @Test func partialFillsAndQuoteFees() {
        let fills = [
            LedgerFill(time: 1, isBuy: true, price: 100, amount: 1, fee: "0.1", maker: true, mid: "100.5"),
            LedgerFill(time: 2, isBuy: true, price: 102, amount: 1, fee: "0.1", maker: true, mid: "102.2"),
            LedgerFill(time: 3, isBuy: false, price: 105, amount: "1.5", fee: "0.15", maker: false, mid: "104.8"),
        ]
        let s = Ledger.summarize(fills, mark: 103)
        #expect(s.realized == 6 && s.unrealized == 1 && s.fees == "0.35" && s.net == "6.65")
        #expect(s.position == "0.5" && s.averageCost == 101)
        #expect(s.spreadCapture == 1 && s.inventory == 6)
        #expect(s.volumeBase == "3.5" && s.volumeQuote == "359.5")
        #expect(s.averageBuy == 101 && s.averageSell == 105)
        #expect(s.buys == 2 && s.sells == 1 && s.makerShare == "0.666666")
    }

    /// A long position that flips short, with a fee in base. By hand:
    /// - buy 2 at 50 (fee 0.002 base), sell 3 at 55 (fee 0.165 quote): closing 2 realizes 10,
    ///   and the third opens a short of 1 at 55
    /// - marked at 60 the short has lost 5; fees 0.002 × 60 + 0.165 = 0.285; net 4.715
    /// - check: base −1.002 and quote +64.835 against before: −60.12 + 64.835 = 4.715
    @Test func aLongThatFlipsShortWithAFeeInBase() {
        let fills = [
            LedgerFill(time: 1, isBuy: true, price: 50, amount: 2, fee: "0.002", feeInBase: true, mid: 50),
            LedgerFill(time: 2, isBuy: false, price: 55, amount: 3, fee: "0.165", mid: 55),
        ]
        let s = Ledger.summarize(fills, mark: 60)
        #expect(s.realized == 10 && s.unrealized == -5)
        #expect(s.position == -1 && s.averageCost == 55)
        #expect(s.feesBase == "0.002" && s.feesQuote == "0.165" && s.fees == "0.285")
        #expect(s.net == "4.715")
        // No spread captured at the mid; all of it is inventory.
        #expect(s.spreadCapture == 0 && s.inventory == 5)
    }

    /// Net P&L adds up across runs valued at one mid (realized does not need to: average cost
    /// carries over a run's end).
    @Test func severalRunsAddUp() {
        let run1 = [LedgerFill(time: 1, isBuy: true, price: 10, amount: 3, fee: "0.03", mid: "10.1")]
        let run2 = [LedgerFill(time: 5, isBuy: false, price: 12, amount: 2, fee: "0.024", mid: "11.9"),
                    LedgerFill(time: 6, isBuy: false, price: 11, amount: 2, fee: "0.022", mid: 11)]
        let all = Ledger.summarize(run1 + run2, mark: 11)
        #expect(all.net == Ledger.summarize(run1, mark: 11).net + Ledger.summarize(run2, mark: 11).net)
        // 3 bought at 10; selling 2 at 12 realizes 4, then 1 at 11 realizes 1 and 1 more opens a
        // short at 11, worth nothing at a mark of 11. Net: base −1 and quote +15.924: 4.924.
        #expect(all.realized == 5 && all.unrealized == 0 && all.net == "4.924")
    }

    @Test func theDecompositionAddsUpExactlyOverRandomFills() {
        var g = SeededGenerator(seed: 77)
        for _ in 0..<300 {
            var fills: [LedgerFill] = []
            let n = Int(g.next() % 40)
            var mid = Dec(Int(g.next() % 10_000) + 100) * "0.01"
            var base: Dec = 0, quote: Dec = 0
            for t in 0..<n {
                mid += Dec(Int(g.next() % 21) - 10) * "0.01"
                if !mid.isPositive { mid = "0.01" }
                let isBuy = g.next() % 2 == 0
                let price = mid + Dec(Int(g.next() % 11) - 5) * "0.01"
                guard price.isPositive else { continue }
                let amount = Dec(Int(g.next() % 5000) + 1) * "0.0001"
                let feeInBase = g.next() % 3 == 0
                let fee = feeInBase ? amount * "0.001" : (price * amount * "0.001").rounded(places: 8)
                fills.append(LedgerFill(time: Int64(t), isBuy: isBuy, price: price, amount: amount, fee: fee, feeInBase: feeInBase,
                                        maker: g.next() % 2 == 0, mid: g.next() % 5 == 0 ? nil : mid))
                base += isBuy ? amount : -amount
                quote += isBuy ? -(price * amount) : price * amount
                if feeInBase { base -= fee } else { quote -= fee }
            }
            let mark = mid + Dec(Int(g.next() % 101) - 50) * "0.01"
            let s = Ledger.summarize(fills, mark: mark)
            #expect(s.realized + s.unrealized - s.fees == s.net)
            #expect(s.spreadCapture + s.inventory - s.fees == s.net)
            #expect(base * mark + quote == s.net, "the value now less holding what was there before, at the same mid")
        }
    }

    @Test func bucketsAndRisk() {
        let h: Int64 = 3_600_000
        let fills = [LedgerFill(time: 10, isBuy: true, price: 10, amount: 1, fee: 0),
                     LedgerFill(time: h + 5, isBuy: false, price: 11, amount: 1, fee: 0),
                     LedgerFill(time: h + 6, isBuy: true, price: 10, amount: 1, fee: 0)]
        let hours = Ledger.buckets(fills, by: .hour, mark: 10)
        #expect(hours.map(\.start) == [0, h])
        #expect(hours.map(\.summary.fills) == [1, 2])
        // Weeks start on Monday 1970-01-05.
        #expect(Ledger.BucketSize.week.start(of: 5 * 86_400_000, offset: 0) == 4 * 86_400_000)
        #expect(Ledger.BucketSize.day.start(of: 86_400_000 + 5, offset: 3600) == 86_400_000 - 3_600_000)

        let series: [(time: Int64, net: Dec, hold: Dec)] = [(0, 0, 100), (h, 5, 100), (2 * h, 2, 100), (3 * h, 8, 100), (4 * h, 7, 100)]
        let risk = Ledger.risk(series, period: .hour)
        #expect(risk.maxDrawdown == 3)
        #expect(risk.returns.count == 4)
        #expect(abs(risk.returns[0] - 0.05) < 1e-12 && abs(risk.returns[1] + 0.03) < 1e-12)
        #expect(risk.sharpe != nil && risk.sortino != nil)
    }
}
