import Foundation

/// One of MEXC's rate-limit pools (the IP pool or the UID pool) under the stricter reading of
/// its docs: one budget of `capacity` weight per sliding `window` shared by every endpoint.
/// A request that does not fit waits until it does: the limiter delays, it never drops. A 429
/// closes the pool until its `Retry-After` has passed.
public actor WeightPool {
    public let capacity: Int
    public let window: Duration
    private var spent: [(at: ContinuousClock.Instant, weight: Int)] = []
    private var spentTotal = 0
    private var closedUntil: ContinuousClock.Instant?
    /// When a request last had to wait, and how long.
    public private(set) var lastDelay: (at: ContinuousClock.Instant, delay: Duration)?

    public init(capacity: Int = 500, window: Duration = .seconds(10)) {
        self.capacity = max(1, capacity)
        self.window = window
    }

    /// Waits until `weight` fits in the budget, spends it, and returns how long it waited.
    @discardableResult
    public func acquire(_ weight: Int) async -> Duration {
        guard weight > 0 else { return .zero }
        let clock = ContinuousClock()
        let start = clock.now
        var slept = false
        while true {
            let now = clock.now
            if let until = closedUntil, until > now {
                try? await Task.sleep(until: until, clock: clock)
                slept = true
                continue
            }
            while let first = spent.first, now - first.at >= window {
                spentTotal -= first.weight
                spent.removeFirst()
            }
            let need = min(weight, capacity)
            if spentTotal + need <= capacity {
                spent.append((now, need))
                spentTotal += need
                guard slept else { return .zero }
                let waited = now - start
                lastDelay = (now, waited)
                return waited
            }
            // Wait until enough of the oldest spending leaves the window.
            var freed = 0
            var until = now
            for entry in spent {
                freed += entry.weight
                until = entry.at + window
                if spentTotal - freed + need <= capacity { break }
            }
            try? await Task.sleep(until: until, clock: clock)
            slept = true
        }
    }

    /// After a 429: nothing more is sent from this pool before `after` has passed.
    public func close(for after: Duration) {
        let until = ContinuousClock.now + after
        if closedUntil.map({ $0 < until }) ?? true { closedUntil = until }
        lastDelay = (ContinuousClock.now, after)
    }

    /// Whether a request waited within the last `recent`.
    public func throttled(within recent: Duration = .seconds(10)) -> Bool {
        if let until = closedUntil, until > ContinuousClock.now { return true }
        guard let last = lastDelay else { return false }
        return ContinuousClock.now - last.at < recent
    }

    /// Weight spent within the current window.
    public var used: Int {
        let now = ContinuousClock.now
        return spent.filter { now - $0.at < window }.reduce(0) { $0 + $1.weight }
    }
}
