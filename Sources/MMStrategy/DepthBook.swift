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
    /// Each level's price again, as a whole number of 10^-`keyScale`, at the level's index: the
    /// searches compare these (one integer compare, eight to a cache line) rather than decimals
    /// of any scale, which was most of the cost of a level change. Empty, and not used, when
    /// `keyed` is false: a price did not fit 64 bits at the scale the book's prices need.
    var bidKeys: [Int64] = []
    var askKeys: [Int64] = []
    var keyScale = 0
    var keyed = true

    public init() {}

    /// A book from levels best first, as `OrderBook` holds them. Levels need not be sorted or
    /// unique (a price given twice adds up); empty ones are left out.
    public init(_ book: OrderBook) {
        bidLevels = Self.stored(book.bids, ascending: true)
        askLevels = Self.stored(book.asks, ascending: false)
        rekey(scale: max(bidLevels.lazy.map(\.price.normalized.scale).max() ?? 0, askLevels.lazy.map(\.price.normalized.scale).max() ?? 0))
    }

    /// Two books are equal when their levels are, whatever the scale of their keys.
    public static func == (a: DepthBook, b: DepthBook) -> Bool { a.bidLevels == b.bidLevels && a.askLevels == b.askLevels }

    /// The key of `price` at the book's key scale; nil when it has more decimals or does not fit.
    @inline(__always) func key(_ price: Dec) -> Int64? {
        if price.scale <= keyScale { return price.units(atScale: keyScale) }
        return price.normalized.units(atScale: keyScale)
    }

    /// Every key anew at `scale` (a price came with more decimals than the keys have); when one
    /// does not fit, the book is searched by its decimals from then on (`unkey`).
    mutating func rekey(scale: Int) {
        keyScale = scale
        keyed = true
        var bids: [Int64] = [], asks: [Int64] = []
        bids.reserveCapacity(bidLevels.count)
        asks.reserveCapacity(askLevels.count)
        for l in bidLevels { guard let k = key(l.price) else { return unkey() }; bids.append(k) }
        for l in askLevels { guard let k = key(l.price) else { return unkey() }; asks.append(k) }
        bidKeys = bids
        askKeys = asks
    }

    mutating func unkey() {
        keyed = false
        bidKeys = []
        askKeys = []
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
        var ours = ours
        return ours.withUnsafeMutableBufferPointer { top(side, depth: depth, adding: $0) }
    }

    /// The same with our levels in a buffer of the caller's, which it reorders: a backtest
    /// asks for this book at every decision, and an array for our few orders and another for
    /// them sorted cost more than the book itself.
    public func top(_ side: Side, depth: Int, adding ours: UnsafeMutableBufferPointer<BookLevel>) -> [BookLevel] {
        let stored = side == .buy ? bidLevels : askLevels
        if ours.isEmpty { return stored.suffix(depth).reversed() }
        let buy = side == .buy
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
                for k in ours.indices {
                    // Our next best, selected as the loop needs it: at a shallow depth only the
                    // first few are ever looked at, and sorting them all cost more than the book.
                    var best = k
                    for j in (k + 1)..<ours.count where buy ? ours[j].price > ours[best].price : ours[j].price < ours[best].price { best = j }
                    ours.swapAt(k, best)
                    let o = ours[k]
                    // A second order at a price adds to the level the first one made.
                    if n > 0, out[n - 1].price == o.price {
                        out[n - 1].amount += o.amount
                        continue
                    }
                    guard n < capacity else { break }
                    // When the levels left to fill the depth are all better than ours, they are
                    // the rest of the answer: no search (our quotes usually sit off a shallow top).
                    let room = capacity - n
                    if next >= room, buy ? src[next - room].price > o.price : src[next - room].price < o.price {
                        take(downTo: next - room)
                        break
                    }
                    let (at, found) = position(of: o.price, side)
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
        return levels[position(of: limit, side).index...].reversed()
    }

    /// The amount resting at `price` on `side` (0 when there is no level there).
    public func amount(_ side: Side, at price: Dec) -> Dec {
        let (i, found) = position(of: price, side)
        return found ? (side == .buy ? bidLevels : askLevels)[i].amount : 0
    }

    /// Where `price` is or would go on `side`: by its key when it has one, else by the decimals.
    @inline(__always) func position(of price: Dec, _ side: Side) -> (index: Int, found: Bool) {
        if keyed, let k = key(price) { return Self.position(of: k, in: side == .buy ? bidKeys : askKeys, ascending: side == .buy) }
        return Self.position(of: price, in: side == .buy ? bidLevels : askLevels, ascending: side == .buy)
    }

    /// Sets one level's absolute amount; zero or less removes it.
    @inline(__always) public mutating func set(_ side: Side, _ price: Dec, _ amount: Dec) {
        var k: Int64 = 0
        if keyed {
            if let known = key(price) {
                k = known
            } else {
                // More decimals than the keys have: every key anew at the finer scale.
                rekey(scale: max(keyScale, price.normalized.scale))
                if keyed, let known = key(price) { k = known } else { unkey() }
            }
        }
        if side == .buy {
            Self.set(price, k, amount, keyed: keyed, in: &bidLevels, &bidKeys, ascending: true)
        } else {
            Self.set(price, k, amount, keyed: keyed, in: &askLevels, &askKeys, ascending: false)
        }
    }

    public mutating func removeAll() {
        bidLevels.removeAll(keepingCapacity: true)
        askLevels.removeAll(keepingCapacity: true)
        bidKeys.removeAll(keepingCapacity: true)
        askKeys.removeAll(keepingCapacity: true)
        keyed = true
    }

    static func set(_ price: Dec, _ key: Int64, _ amount: Dec, keyed: Bool, in levels: inout [BookLevel], _ keys: inout [Int64], ascending: Bool) {
        let (i, found) = keyed ? position(of: key, in: keys, ascending: ascending) : position(of: price, in: levels, ascending: ascending)
        if !amount.isPositive {
            if found {
                levels.remove(at: i)
                if keyed { keys.remove(at: i) }
            }
        } else if found {
            levels[i].amount = amount
        } else {
            levels.insert(BookLevel(price, amount), at: i)
            if keyed { keys.insert(key, at: i) }
        }
    }

    /// `position(of:in:ascending:)` over the keys.
    @inline(__always)
    static func position(of key: Int64, in keys: [Int64], ascending: Bool) -> (index: Int, found: Bool) {
        keys.withUnsafeBufferPointer { keys in
            @inline(__always) func before(_ k: Int64) -> Bool { ascending ? k < key : k > key }
            let n = keys.count
            var low = 0, high = n, step = 1
            while step <= n {
                let probe = n - step
                if before(keys[probe]) { low = probe + 1; break }
                high = probe
                step &<<= 1
            }
            while low < high {
                let mid = (low + high) >> 1
                if before(keys[mid]) { low = mid + 1 } else { high = mid }
            }
            return (low, low < n && keys[low] == key)
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
