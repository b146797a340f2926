import MMCore
import MMStrategy

/// Takes a running instance's market samples: once a second, what the market and the instance
/// look like (`MarketSample`), with what the market traded and how long both sides were quoted
/// since the sample before. Samples are written in batches of about ten seconds (a crash loses
/// at most those; they are statistics, not the ledger), and the stored ones are kept small:
/// raw for a day, then one a minute, gone after `samples.keep`.
public struct Sampler {
    public static let every: Int64 = 1000
    static let flushEvery: Int64 = 10_000
    static let compactEvery: Int64 = 600_000
    static let rawFor: Int64 = 86_400_000
    /// Samples held while the store refuses them (an hour's); older ones are dropped first.
    static let pendingLimit = 3600

    /// How long samples are kept (`option samples.keep`).
    var keep: Int64
    var lastAt: Int64?
    var volume: Dec = 0
    var turnover: Dec = 0
    /// The run's quoted milliseconds at the last sample.
    var quotedAt: Int64 = 0
    public internal(set) var pending: [MarketSample] = []
    var flushedAt: Int64 = 0
    var compactedAt: Int64?

    public init(keep: Int64) { self.keep = keep }

    public mutating func observe(_ trades: [TapeTrade]) {
        for t in trades {
            volume += t.amount
            turnover += t.price * t.amount
        }
    }

    func due(_ now: Int64) -> Bool { lastAt.map { now - $0 >= Self.every } ?? true }

    /// A sample now, when one is due and the book has a mid.
    public mutating func take(now: Int64, run: Int64?, book: OrderBook, orders: [LiveOrder], balances: Balances,
                       startBase: Dec, startQuote: Dec, quotedMs: Int64) {
        guard due(now), let mid = book.mid else { return }
        let resting = orders.filter { !$0.cancelling }
        let ourBid = resting.filter { $0.side == .buy }.map(\.price).max()
        let ourAsk = resting.filter { $0.side == .sell }.map(\.price).min()
        let net = balances.base.total * mid + balances.quote.total - (startBase * mid + startQuote)
        let span = lastAt.map { min(now - $0, Self.every * 5) } ?? Self.every
        pending.append(MarketSample(time: now, span: span, run: run, mid: mid, bid: book.bestBid, ask: book.bestAsk,
                                    ourBid: ourBid, ourAsk: ourAsk, base: balances.base.total, quote: balances.quote.total,
                                    net: net, volume: volume, turnover: turnover, quoted: min(quotedMs - quotedAt, span)))
        if pending.count > Self.pendingLimit { pending.removeFirst(pending.count - Self.pendingLimit) }
        lastAt = now
        volume = 0
        turnover = 0
        quotedAt = quotedMs
    }

    func flushDue(_ now: Int64) -> Bool { !pending.isEmpty && now - flushedAt >= Self.flushEvery }
    func compactDue(_ now: Int64) -> Bool { compactedAt.map { now - $0 >= Self.compactEvery } ?? true }
}

extension Sampler {
    /// The samples taken and not yet handed out, for the caller to store.
    public mutating func takePending() -> [MarketSample] {
        defer { pending = [] }
        return pending
    }
}
