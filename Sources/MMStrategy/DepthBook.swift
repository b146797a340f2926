import MMCore

/// An order book kept level by level: one amount a price, each side stored best last (bids
/// ascending, asks descending). Changes happen near the touch, so a search gallops from the best
/// end and an insert or a removal there moves few elements. The live client's `LocalBook` and the
/// paper and backtest venues' market (`PaperMatcher`) keep their books in one. Pure: no I/O.
public struct DepthBook: Sendable, Equatable {
    /// Bids, ascending: the best is last.
    public private(set) var bidLevels: [BookLevel] = []
    /// Asks, descending: the best is last.
    public private(set) var askLevels: [BookLevel] = []

    public init() {}

    /// A book from levels best first, as `OrderBook` holds them. Levels need not be sorted or
    /// unique (a price given twice adds up); empty ones are left out.
    public init(_ book: OrderBook) {
        bidLevels = Self.stored(book.bids, ascending: true)
        askLevels = Self.stored(book.asks, ascending: false)
    }

    static func stored(_ bestFirst: [BookLevel], ascending: Bool) -> [BookLevel] {
        let inOrder = zip(bestFirst, bestFirst.dropFirst()).allSatisfy { ascending ? $0.price > $1.price : $0.price < $1.price }
        if inOrder && bestFirst.allSatisfy({ $0.amount.isPositive }) { return bestFirst.reversed() }
        var byPrice: [Dec: Dec] = [:]
        for l in bestFirst { byPrice[l.price, default: 0] += l.amount }
        return byPrice.filter { $0.value.isPositive }.map { BookLevel($0.key, $0.value) }
            .sorted { ascending ? $0.price < $1.price : $0.price > $1.price }
    }

    public var bestBid: BookLevel? { bidLevels.last }
    public var bestAsk: BookLevel? { askLevels.last }

    /// The top `depth` levels a side, best first.
    public func book(depth: Int = .max) -> OrderBook {
        OrderBook(bids: bidLevels.suffix(depth).reversed(), asks: askLevels.suffix(depth).reversed())
    }

    /// One side's top `depth` levels best first, with `ours` (any order, a price given more than
    /// once adds up) added to the levels at their prices: the book as a venue that holds our
    /// orders shows it. The runs of levels between our prices are copied whole.
    public func top(_ side: Side, depth: Int, adding ours: [BookLevel]) -> [BookLevel] {
        let stored = side == .buy ? bidLevels : askLevels
        if ours.isEmpty { return stored.suffix(depth).reversed() }
        let buy = side == .buy
        let sorted = ours.sorted { buy ? $0.price > $1.price : $0.price < $1.price }
        let capacity = min(depth, stored.count + ours.count)
        return stored.withUnsafeBufferPointer { src in
            [BookLevel](unsafeUninitializedCapacity: capacity) { out, count in
                var n = 0
                // src[..<next] is what is left to take, its best last.
                var next = src.count
                // Copies the levels from next-1 down to `low`, as many as fit, best first.
                func take(downTo low: Int) {
                    var i = next - 1
                    let stop = max(low, next - (capacity - n))
                    while i >= stop {
                        (out.baseAddress! + n).initialize(to: src[i])
                        n += 1
                        i -= 1
                    }
                    next = low
                }
                for o in sorted {
                    // A second order at a price adds to the level the first one made.
                    if n > 0, out[n - 1].price == o.price {
                        out[n - 1].amount += o.amount
                        continue
                    }
                    guard n < capacity else { break }
                    let (at, found) = Self.position(of: o.price, in: stored, ascending: buy)
                    // The levels better than ours go first; then ours, added to its level when there is one.
                    take(downTo: min(next, found ? at + 1 : at))
                    guard n < capacity else { break }
                    if found && next > at {
                        (out.baseAddress! + n).initialize(to: BookLevel(o.price, src[at].amount + o.amount))
                        next = at
                    } else {
                        (out.baseAddress! + n).initialize(to: o)
                    }
                    n += 1
                }
                take(downTo: 0)
                count = n
            }
        }
    }

    /// One side's levels best first, as far as `limit` (inclusive): the levels a taker paying up
    /// to `limit` reaches, or that cross an order at `limit`.
    public func levels(_ side: Side, through limit: Dec) -> ReversedCollection<ArraySlice<BookLevel>> {
        let levels = side == .buy ? bidLevels : askLevels
        // Best last: the levels at `limit` or better are a suffix.
        let from = side == .buy ? Self.position(of: limit, in: levels, ascending: true).index
                                : Self.position(of: limit, in: levels, ascending: false).index
        return levels[from...].reversed()
    }

    /// The amount resting at `price` on `side` (0 when there is no level there).
    public func amount(_ side: Side, at price: Dec) -> Dec {
        let levels = side == .buy ? bidLevels : askLevels
        let (i, found) = Self.position(of: price, in: levels, ascending: side == .buy)
        return found ? levels[i].amount : 0
    }

    /// Sets one level's absolute amount; zero or less removes it.
    @inline(__always) public mutating func set(_ side: Side, _ price: Dec, _ amount: Dec) {
        if side == .buy { Self.set(price, amount, in: &bidLevels, ascending: true) } else { Self.set(price, amount, in: &askLevels, ascending: false) }
    }

    public mutating func removeAll() {
        bidLevels.removeAll(keepingCapacity: true)
        askLevels.removeAll(keepingCapacity: true)
    }

    static func set(_ price: Dec, _ amount: Dec, in levels: inout [BookLevel], ascending: Bool) {
        let (i, found) = position(of: price, in: levels, ascending: ascending)
        if !amount.isPositive {
            if found { levels.remove(at: i) }
        } else if found {
            levels[i].amount = amount
        } else {
            levels.insert(BookLevel(price, amount), at: i)
        }
    }

    /// Where `price` is or would go in a side stored best last: the first index whose price is
    /// not before it. The search gallops from the best end, then halves what is left.
    @inline(__always)
    static func position(of price: Dec, in levels: [BookLevel], ascending: Bool) -> (index: Int, found: Bool) {
        @inline(__always) func before(_ p: Dec) -> Bool { ascending ? p < price : p > price }
        let n = levels.count
        var low = 0, high = n, step = 1
        while step <= n {
            let probe = n - step
            if before(levels[probe].price) { low = probe + 1; break }
            high = probe
            step &<<= 1
        }
        while low < high {
            let mid = (low + high) >> 1
            if before(levels[mid].price) { low = mid + 1 } else { high = mid }
        }
        return (low, low < n && levels[low].price == price)
    }
}
