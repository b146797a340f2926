import MMCore
import Testing

@Suite struct MarketSampleTests {
    func sample(_ t: Int64, mid: String, volume: String = "0", turnover: String = "0", quoted: Int64 = 1000,
                ourBid: String? = nil, ourAsk: String? = nil, run: Int64 = 1) -> MarketSample {
        let m: Dec = Dec(mid)!, half: Dec = Dec("0.5")
        let bid: Dec? = ourBid.flatMap { Dec($0) }, ask: Dec? = ourAsk.flatMap { Dec($0) }
        let v: Dec = Dec(volume)!, q: Dec = Dec(turnover)!
        return MarketSample(time: t, span: 1000, run: run, mid: m, bid: m - half, ask: m + half, ourBid: bid, ourAsk: ask,
                            base: 1, quote: 100, net: Dec("0.25"), volume: v, turnover: q, quoted: quoted)
    }

    /// Distances and spreads, by hand: mid 100, ours 99 and 102, the market's 99.5 and 100.5.
    @Test func theMeasuresOfOneSample() {
        let s = sample(1000, mid: "100", ourBid: "99", ourAsk: "102")
        #expect(s.distance == Dec("0.015"))      // (102 − 99) / 2 / 100
        #expect(s.ourSpread == Dec("0.03"))
        #expect(s.marketSpread == Dec("0.01"))
        #expect(s.quotedCount == 1 && s.high == s.mid && s.low == s.mid)
        let oneSide = sample(1000, mid: "100", ourBid: "98")
        #expect(oneSide.distance == Dec("0.02") && oneSide.ourSpread == nil)
        let none = sample(1000, mid: "100")
        #expect(none.distance == nil && none.quotedCount == 0)
    }

    /// One a minute: the last sample's state, the extremes, exact sums, weighted means; a new
    /// run starts a new row even inside the same minute.
    @Test func downsamplingKeepsSumsExactAndRunsApart() {
        let minute: Int64 = 60_000
        var raw: [MarketSample] = []
        for i in 0..<120 {
            raw.append(sample(Int64(i) * 1000 + 500, mid: "\(100 + i % 7).25", volume: "0.001", turnover: "0.1001",
                              quoted: i % 2 == 0 ? 1000 : 0, ourBid: i % 3 == 0 ? "99" : nil, ourAsk: i % 3 == 0 ? "101" : nil))
        }
        raw.append(sample(120_900, mid: "100", volume: "1", run: 2))
        let merged = MarketSample.downsample(raw, bucket: minute)
        #expect(merged.count == 3)
        #expect(merged[0].count == 60 && merged[0].span == 60_000 && merged[0].time == 59_500)
        #expect(merged[0].volume == Dec("0.06") && merged[0].turnover == Dec("6.006"))
        #expect(merged[0].quoted == 30_000)
        #expect(merged[0].high == Dec("106.25") && merged[0].low == Dec("100.25") && merged[0].mid == raw[59].mid)
        #expect(merged[0].quotedCount == 20)
        // Every quoted sample of the minute had ours at 99/101 around its own mid.
        let quoted = raw.prefix(60).filter { $0.distance != nil }
        let expected = quoted.reduce(Dec(0)) { $0 + $1.distance! }.divided(by: Dec(quoted.count), scale: MarketSample.places)
        #expect(merged[0].distance == expected)
        #expect(merged[2].run == 2 && merged[2].count == 1 && merged[2].volume == 1)
        // Merging merged rows again changes nothing but the buckets.
        let hourly = MarketSample.downsample(merged, bucket: 3_600_000)
        #expect(hourly.count == 2 && hourly[0].volume == Dec("0.12") && hourly[0].count == 120 && hourly[0].quotedCount == 40)
    }

    @Test func theSummaryOfAWindow() {
        var samples: [MarketSample] = []
        for (i, mid) in ["100", "103", "97", "101"].enumerated() {
            samples.append(sample(Int64(i) * 1000, mid: mid, volume: "2", turnover: "200", quoted: i == 0 ? 0 : 1000,
                                  ourBid: "99", ourAsk: "101"))
        }
        let m = MarketSummary.summarize(samples, from: 0, to: 4000)
        #expect(m.open == 100 && m.high == 103 && m.low == 97 && m.last == 101 && m.range == 6)
        #expect(m.rangeShare == Dec("0.06185567"))   // 6 / 97, 8 places
        #expect(m.volume == 8 && m.turnover == 800 && m.covered == 4000 && m.quoted == 3000)
        #expect(m.uptime == Dec("0.75"))
        #expect(m.share(of: 2) == Dec("0.25"))
        #expect(MarketSummary.summarize([], from: 0, to: 1).open == nil)
    }
}
