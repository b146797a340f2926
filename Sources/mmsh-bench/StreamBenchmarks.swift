import Foundation
import MMCore
import MMMexc
import MMProto
import MMStrategy

/// MEXC's depth stream: decoding frames, applying diffs to the local book, and the path from a
/// frame arriving to the instance's decision.
func streamBenchmarks() -> [Benchmark] {
    // A synced book of 1,000 levels a side around 60,000.
    var seeded = LocalBook()
    var bids: [BookLevel] = [], asks: [BookLevel] = []
    for i in 0..<1000 {
        bids.append(BookLevel(Dec("59999.99") - Dec(i) * Dec("0.01"), Dec("0.5") + Dec(i % 7) * Dec("0.01")))
        asks.append(BookLevel(Dec("60000.01") + Dec(i) * Dec("0.01"), Dec("0.5") + Dec(i % 5) * Dec("0.01")))
    }
    _ = seeded.snapshot(lastUpdateId: 1, bids: bids, asks: asks)
    // 64 frames of 10 changed levels near the touch (5 a side), each one version on.
    func frame(_ n: Int) -> (DepthDiff, Data) {
        var w = PushDataV3ApiWrapper()
        w.channel = "spot@public.aggre.depth.v3.api.pb@10ms@BTCUSDT"
        w.symbol = "BTCUSDT"
        w.sendTime = 1_795_770_000_000 + Int64(n)
        var d = PublicAggreDepthsV3Api()
        var diffBids: [BookLevel] = [], diffAsks: [BookLevel] = []
        for k in 0..<5 {
            let quantity = (n + k) % 6 == 0 ? Dec(0) : Dec("0.1") * Dec(1 + (n + k) % 9)
            diffBids.append(BookLevel(Dec("59999.99") - Dec((n * 3 + k) % 40) * Dec("0.01"), quantity))
            diffAsks.append(BookLevel(Dec("60000.01") + Dec((n * 7 + k) % 40) * Dec("0.01"), quantity))
        }
        d.bids = diffBids.map { l in var i = PublicAggreDepthV3ApiItem(); i.price = l.price.description; i.quantity = l.amount.description; return i }
        d.asks = diffAsks.map { l in var i = PublicAggreDepthV3ApiItem(); i.price = l.price.description; i.quantity = l.amount.description; return i }
        d.eventType = "spot@public.aggre.depth.v3.api.pb@10ms"
        d.fromVersion = "\(n + 2)"
        d.toVersion = "\(n + 2)"
        w.publicAggreDepths = d
        return (DepthDiff(fromVersion: Int64(n + 2), toVersion: Int64(n + 2), bids: diffBids, asks: diffAsks),
                Data(try! w.serializedBytes() as [UInt8]))
    }
    let made = (0..<64).map(frame)
    let diffs = made.map(\.0), frames = made.map(\.1)
    // Versions run on forever: each benchmark renumbers its diffs as it goes.
    var book = seeded, version: Int64 = 1, n = 0
    var sink = 0

    var settings = Settings()
    for (k, v) in ["levels.count": "5", "refresh.tolerance": "0.05%", "optimize.enabled": "on", "inventory.skew": "on"] {
        settings.set(k, try! Catalog.lookup(k).parse(v))
    }
    let config = StrategyConfig(settings)
    let rules = MarketRules(tick: "0.01", step: "0.000001", minQuantity: "0.000001", minNotional: 1, makerFee: "0.001")
    let balances = Balances(base: AssetBalance(total: 1, available: 1), quote: AssetBalance(total: 60000, available: 60000))
    var state = StrategyState()

    func next(_ diff: DepthDiff) -> DepthDiff {
        var d = diff
        version += 1
        d.fromVersion = version
        d.toVersion = version
        return d
    }
    return [
        Benchmark(name: "stream: decode a depth frame and apply it to the book", target: .throughput(perSecond: 200_000)) {
            n &+= 1
            guard case .depth(_, let diff)? = try? StreamFrames.decode(frames[n & 63]) else { return }
            _ = book.apply(next(diff))
            sink &+= book.bestBid!.price.scale
        },
        Benchmark(name: "stream: apply a 10-level diff, then read the top of the book", target: .throughput(perSecond: 1_000_000)) {
            n &+= 1
            _ = book.apply(next(diffs[n & 63]))
            sink &+= book.bestBid!.price.mantissa == 0 ? 1 : 0
        },
        Benchmark(name: "stream: depth frame in → decision ready (decode, apply, top 50, decide)",
                  target: .latency(medianNs: 20_000, p99Ns: 50_000)) {
            n &+= 1
            guard case .depth(_, let diff)? = try? StreamFrames.decode(frames[n & 63]) else { return }
            _ = book.apply(next(diff))
            let view = MarketView(now: 1_795_770_000_000 + Int64(n), book: book.book(depth: 50), balances: balances, rules: rules)
            state.createAt = 0
            let d = Strategy.decide(view, state: &state, config: config)
            sink &+= d.buys.count
        },
    ]
}
