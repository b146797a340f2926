import Foundation
import MMCore
import MMStorage
import Testing
@testable import MMEngine

@Suite struct SampleStoreTests {
    func raw(_ t: Int64, mid: Int, volume: String = "0.5") -> MarketSample {
        MarketSample(time: t, span: 1000, run: 1, mid: Dec(mid), bid: Dec(mid - 1), ask: Dec(mid + 1), ourBid: nil, ourAsk: Dec(mid + 2),
                     base: Dec("0.123456789"), quote: Dec("1000.000000001"), net: Dec("-0.000000001"), volume: Dec(volume)!,
                     turnover: Dec(volume)! * Dec(mid), quoted: 0)
    }

    /// Samples come back exactly as written; a chart's read takes the newest of each slice.
    @Test func samplesReadBackExactlyAndThinned() throws {
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "a", limit: 10)
        let written = (0..<600).map { raw(1_000_000 + Int64($0) * 1000, mid: 100 + $0 % 10) }
        try store.recordSamples(instance: r.id, written)
        #expect(try store.samples(instance: r.id, from: 0, to: .max) == written)
        let thinned = try store.samples(instance: r.id, from: 0, to: .max, every: 60_000)
        #expect(thinned.count == 11 || thinned.count == 10)
        #expect(thinned.allSatisfy { s in written.contains(s) })
        #expect(thinned.last == written.last)
        #expect(try store.samples(instance: r.id, from: 0, to: .max, limit: 3) == Array(written.suffix(3)))
    }

    /// Thinning is the newest sample of each slice, whatever the gaps, the window's edges and the
    /// runs: the store's seeks give what a plain scan of every sample gives.
    @Test func thinningIsTheNewestOfEachSlice() throws {
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "a", limit: 10)
        var generator = SeededGenerator(seed: 11)
        var written: [MarketSample] = []
        var t: Int64 = 1_795_770_000_000
        for i in 0..<3000 {
            // Seconds apart, with now and then a gap of up to an hour.
            t += generator.next() % 50 == 0 ? Int64(generator.next() % 3_600_000) : 1000
            var s = raw(t, mid: 100 + i % 17)
            s.run = i < 1500 ? 1 : 2
            written.append(s)
        }
        try store.recordSamples(instance: r.id, written)
        for (every, from, to, limit, run) in [(60_000 as Int64, Int64(0), Int64.max, Int.max, nil as Int64?),
                                              (7_000, written[100].time + 1, written[2500].time, Int.max, nil),
                                              (300_000, 0, .max, 5, nil), (90_000, 0, .max, Int.max, 2),
                                              (1_000_000_000, 0, .max, Int.max, nil)] {
            let window = written.filter { $0.time >= from && $0.time <= to && (run == nil || $0.run == run) }
            var newest: [Int64: MarketSample] = [:]
            for s in window { newest[s.time / every] = s }
            let expected = Array(newest.keys.sorted().map { newest[$0]! }.suffix(limit))
            let got = try store.samples(instance: r.id, from: from, to: to, every: every, limit: limit, run: run)
            #expect(got == expected, "every \(every), from \(from), to \(to), limit \(limit), run \(String(describing: run))")
        }
        #expect(try store.samples(instance: r.id, from: 0, to: 1000, every: 60_000).isEmpty)
    }

    /// 'pnl' sums the fills as the store reads them: the same summary, whole and per day, as the
    /// ledger of the fills read into memory, to the last unit; NULL flags and mids stay unknown.
    @Test func theLedgerSumsFillsAsTheyAreRead() throws {
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "a", limit: 10)
        var generator = SeededGenerator(seed: 5)
        var fills: [FillRecord] = []
        var t: Int64 = 1_795_770_000_000
        for i in 0..<2000 {
            t += Int64(generator.next() % 600_000)
            let buy = generator.next() & 1 == 0
            let price = Dec(60000) + Dec(Int(generator.next() % 2000)) * Dec("0.01")
            fills.append(FillRecord(instanceId: r.id, tradeId: "t\(i)", clientId: "c\(i)", side: buy ? "buy" : "sell", price: price.description,
                                    quantity: (Dec(Int(generator.next() % 1000) + 1) * Dec("0.00001")).description, fee: "0.0001",
                                    time: t, feeAsset: i % 3 == 0 ? "BTC" : "USDT", maker: i % 5 == 0 ? nil : i % 2 == 0,
                                    mid: i % 7 == 0 ? nil : (price + Dec("0.5")).description, runId: 1))
        }
        _ = try store.recordFills(fills)
        let read = try store.ledgerFills(instance: r.id, baseAsset: "BTC")
        #expect(read.count == 2000 && read.contains { $0.maker == nil } && read.contains { $0.mid == nil } && read.contains { $0.feeInBase })
        let mark = Dec("60010.25")
        let tally = try store.ledgerTally(instance: r.id, baseAsset: "BTC", by: .day, offset: 3600)
        #expect(tally.whole.summary(mark: mark) == Ledger.summarize(read, mark: mark))
        let expected = Ledger.buckets(read, by: .day, mark: mark, offset: 3600)
        #expect(tally.buckets.map(\.start) == expected.map(\.start))
        #expect(tally.buckets.map { $0.fills.summary(mark: mark) } == expected.map(\.summary))
        #expect(tally.whole.last == read.last)
        let window = try store.ledgerTally(instance: r.id, since: read[500].time, until: read[1500].time, baseAsset: "BTC")
        #expect(window.whole.summary(mark: mark) == Ledger.summarize(read.filter { $0.time >= read[500].time && $0.time <= read[1500].time }, mark: mark))
    }

    /// Older than a day: one a minute with exact sums; older than the keep: gone; the day's
    /// raw samples untouched. Compacting again changes nothing.
    @Test func compactionDownsamplesAndForgets() throws {
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "a", limit: 10)
        let day: Int64 = 86_400_000, now: Int64 = 40 * day
        var written: [MarketSample] = []
        for start in [now - 35 * day, now - 3 * day, now - 3_600_000] {
            for i in 0..<300 { written.append(raw(start + Int64(i) * 1000, mid: 100 + i % 5, volume: "0.001")) }
        }
        try store.recordSamples(instance: r.id, written)
        let merged = try store.compactSamples(instance: r.id, keepSince: now - 30 * day, rawSince: now - day)
        #expect(merged == 300)
        let after = try store.samples(instance: r.id, from: 0, to: .max)
        #expect(after.first!.time >= now - 30 * day, "older than samples.keep: gone")
        let old = after.filter { $0.time < now - day }
        #expect(old.count == 5 || old.count == 6, "five minutes of samples, a row per minute")
        #expect(old.reduce(Dec(0)) { $0 + $1.volume } == Dec("0.3"), "volumes add up exactly")
        #expect(old.reduce(0) { $0 + $1.count } == 300 && old.allSatisfy { $0.high >= $0.mid && $0.low <= $0.mid })
        #expect(old.map(\.high).max() == 104 && old.map(\.low).min() == 100)
        #expect(after.filter { $0.time >= now - day } == Array(written.suffix(300)), "the last day stays raw")
        #expect(try store.compactSamples(instance: r.id, keepSince: now - 30 * day, rawSince: now - day) == 0)
        #expect(try store.samples(instance: r.id, from: 0, to: .max) == after)
    }

    /// A running instance samples once a second: mid, touch, its own quotes, holding and net
    /// as status has them, the market's prints and its quoted time.
    @Test func aRunningInstanceSamplesOnceASecond() async throws {
        let store = try Store.inMemory()
        let r = try store.createInstance(name: "a", limit: 10)
        let clock = ManualClock()
        let manager = InstanceManager(store: store, clock: clock)
        try await manager.start(id: r.id, name: r.name, settings: settings(busy), loop: false)
        let started = clock.now()
        for _ in 0..<240 {
            clock.advance(ms: 500)
            await manager.tickAll()
        }
        let report = await manager.report(r.id)!
        await manager.stop(r.id)
        let samples = try store.samples(instance: r.id, from: 0, to: .max)
        #expect((118...121).contains(samples.count), "\(samples.count) samples in two minutes")
        #expect(samples.allSatisfy { $0.time > started && $0.run != nil && $0.bid != nil && $0.ask != nil && $0.bid! < $0.ask! })
        #expect(zip(samples, samples.dropFirst()).allSatisfy { $1.time - $0.time >= 1000 })
        #expect(samples.contains { $0.ourBid != nil && $0.ourAsk != nil && $0.distance != nil })
        let volume = samples.reduce(Dec(0)) { $0 + $1.volume }
        let ours = try store.fills(instance: r.id).reduce(Dec(0)) { $0 + Dec($1.quantity)! }
        #expect(volume.isPositive && volume >= ours, "the market's prints include our fills")
        let quoted = samples.reduce(Int64(0)) { $0 + $1.quoted }
        #expect(quoted > 0 && quoted <= samples.reduce(Int64(0)) { $0 + $1.span })
        // Net P&L as status computes it, at the sample's own mid.
        let last = samples.last!
        #expect(last.net == last.base * last.mid + last.quote - (report.startBase * last.mid + report.startQuote))
    }
}
