import Foundation
import MMCore

/// Avellaneda–Stoikov market making, as Hummingbot's `avellaneda_market_making` does it, with
/// every price measured relative to the mid so that the same γ means the same on any market.
///
/// At each decision, with s the mid:
/// - q = (base − target) / inventory, where inventory is the whole holding in base at s and the
///   target is `as.inventory_target` (else `inventory.target`) of it: −1 to 1.
/// - σ: the mid's change per second as a fraction of it (`VolatilityEstimator`).
/// - α, κ: λ(δ) = α·e^(−κδ) fitted from the public trades (`IntensityEstimator`); δ a fraction of s.
/// - T: the time left as a fraction of the horizon's window; 1 when infinite.
/// - reservation price r = s·(1 − q·γ·σ·T); optimal spread δ = s·(γ·σ·T + (2/γ)·ln(1 + γ/κ)).
///
/// σ, not σ²: q is a share and γ a pure number, so q·γ·σ·T is a share of the price, and γ says
/// how many volatilities a full deviation from the target moves the reservation price. σ² per
/// second is of the order of 10⁻⁸ and would leave γ without a usable scale. Hummingbot makes the
/// same choice in the reservation price and the spread, on purpose (its comments say why).
///
/// Quotes at r ∓ δ/2, never closer to s than `as.min_spread`/2; `as.levels` (else `levels.count`)
/// a side, the deeper ones `as.level_distance`
/// of δ/2 apart; on the side that would grow the deviation, sizes × e^(−η·|q|).
public struct Avellaneda: QuoteModel {
    public static let name = "avellaneda"

    public var gamma: Double
    public var eta: Double
    public var minSpread: Dec
    public var levelDistance: Dec
    public var levels: Int
    public var orderAmount: Dec
    public var inventoryTarget: Dec
    public var volatilitySamples: Int
    public var intensityTrades: Int
    public var horizon: Horizon
    /// A fixed window's ends in ms since the epoch, read in `hours.tz`.
    var window: (from: Int64, to: Int64)?
    /// `hours.tz` as the user wrote it.
    var zoneName: String

    public struct State: Sendable, Equatable, Codable {
        public var volatility: VolatilityEstimator
        public var intensity: IntensityEstimator
        /// The mid at the previous decision: the trades since are measured from it.
        public var lastMid: Double?
    }

    public init(_ s: Settings) {
        gamma = s["as.risk_factor"].decimal!.doubleValue
        eta = s["as.amount_shape"].decimal!.doubleValue
        minSpread = s["as.min_spread"].fraction!
        levelDistance = s["as.level_distance"].fraction!
        levels = s["as.levels"].integer ?? s["levels.count"].integer!
        orderAmount = s["order.amount"].decimal!
        inventoryTarget = s["as.inventory_target"].fraction ?? s["inventory.target"].fraction!
        volatilitySamples = s["as.volatility_buffer"].integer!
        intensityTrades = s["as.intensity_buffer"].integer!
        if case .horizon(let h) = s["as.horizon"] { horizon = h } else { horizon = .infinite }
        zoneName = s["hours.tz"].text!
        if case .window(let from, let to) = horizon {
            let zone = TimeZone(identifier: s["hours.tz"].text!) ?? TimeZone(identifier: "UTC")!
            window = (Horizon.epochMilliseconds(wall: from, in: zone), Horizon.epochMilliseconds(wall: to, in: zone))
        }
    }

    public func makeState() -> State {
        State(volatility: VolatilityEstimator(samples: volatilitySamples), intensity: IntensityEstimator(trades: intensityTrades))
    }

    public func quote(_ input: QuoteInput, state: inout State, shared: inout StrategyState, config c: StrategyConfig,
                      dropped: inout [DroppedOrder], trace: inout Trace) -> ModelQuote {
        let view = input.view, s = input.mid, now = view.now
        let mid = s.doubleValue
        // The estimators take every update, quoting or not.
        if let before = state.lastMid, before > 0 {
            for t in view.trades { state.intensity.add(distance: abs(t.price.doubleValue - before) / before, time: t.time) }
        }
        state.lastMid = mid
        state.volatility.sample(mid: mid, now: now)
        state.intensity.refitIfDue(now: now)
        let ref = Reference(buy: s, sell: s)

        guard let timeLeft = timeLeft(now: now, shared: &shared, config: c) else {
            return ModelQuote(reference: ref, waitingFor: "outside the horizon \(horizon) (\(zoneName))")
        }
        guard let sigma = state.volatility.sigma, let kappa = state.intensity.kappa, let alpha = state.intensity.alpha else {
            return ModelQuote(reference: ref, waitingFor: warmingUp(state))
        }
        if let failure = state.intensity.failure { trace.add("avellaneda: the latest intensity fit failed (\(failure)); the previous fit is kept") }
        guard input.wantsLadder else { return ModelQuote(reference: ref) }

        // q: the holding's distance from its target, as a share of the whole inventory in base.
        let balances = view.balances
        let inventory = balances.base.total + balances.quote.total.divided(by: s, scale: 18)
        guard inventory.isPositive else {
            return ModelQuote(reference: ref, ladder: Proposal(buys: [], sells: []))
        }
        let target = view.rules.amount(inventory * inventoryTarget)
        let q = (balances.base.total - target).divided(by: inventory, scale: 12).doubleValue

        let f = Self.quotes(q: q, sigma: sigma, kappa: kappa, gamma: gamma, timeLeft: timeLeft, minSpread: minSpread.doubleValue)
        let (shift, spread, bidFactor, askFactor) = (f.shift, f.spread, f.bid, f.ask)
        let half = spread / 2, minHalf = minSpread.doubleValue / 2
        let step = half * levelDistance.doubleValue
        if trace.enabled {
            func g(_ x: Double) -> String { String(format: "%.6g", x) }
            trace.add("avellaneda: mid \(s); σ \(g(sigma))/s over \(state.volatility.samples) samples; α \(g(alpha))/s, κ \(g(kappa)) (fit of \(state.intensity.fittedOn.trades) trades at \(state.intensity.fittedOn.levels) distances); q \(g(q)) (base \(balances.base.total), target \(target) of \(inventory.rounded(places: 8))); γ \(g(gamma)); T \(g(timeLeft))")
            trace.add("avellaneda: reservation price r = s·(1 − q·γ·σ·T) = \((s * Dec(statistic: 1 - shift)).rounded(places: 8)); optimal spread δ = s·(γ·σ·T + (2/γ)·ln(1 + γ/κ)) = \((s * Dec(statistic: spread)).rounded(places: 8)) (\(Steps.pct(Dec(statistic: spread))))")
            if 1 - shift - half > 1 - minHalf || 1 - shift + half < 1 + minHalf {
                trace.add("avellaneda: a quote inside as.min_spread \(Steps.pct(minSpread)) moved out to it")
            }
        }

        let rules = view.rules
        let wanted = rules.amount(orderAmount)
        var p = Proposal(buys: [], sells: [])
        let minimumAsk = s * Dec(statistic: 1 + minHalf)
        for level in 0..<levels {
            let bid = rules.price(s * Dec(statistic: bidFactor - Double(level) * step))
            var ask = rules.price(s * Dec(statistic: askFactor + Double(level) * step))
            // Floored to the tick, an ask may fall inside the minimum spread, or onto the bid.
            if ask < minimumAsk || ask <= bid { ask += rules.tick }
            guard wanted.isPositive else {
                let why = "size \(orderAmount) rounds to 0 at the market's step \(rules.step)"
                dropped.append(DroppedOrder(order: ProposedOrder(side: .buy, level: level, price: bid, amount: 0), reason: why))
                dropped.append(DroppedOrder(order: ProposedOrder(side: .sell, level: level, price: ask, amount: 0), reason: why))
                continue
            }
            if bid.isPositive {
                p.buys.append(ProposedOrder(side: .buy, level: level, price: bid, amount: wanted))
            } else {
                dropped.append(DroppedOrder(order: ProposedOrder(side: .buy, level: level, price: bid, amount: wanted),
                                            reason: "price rounds to 0 or below at the tick \(rules.tick) (the spread is wider than the price)"))
            }
            p.sells.append(ProposedOrder(side: .sell, level: level, price: ask, amount: wanted))
        }
        trace.add("avellaneda: \(levels) level\(levels == 1 ? "" : "s") a side from bid \(p.buys.first.map { "\($0.price)" } ?? "none") and ask \(p.sells.first.map { "\($0.price)" } ?? "none"), \(Steps.pct(Dec(statistic: step))) of the mid apart")

        // η: the side that would grow the deviation is made smaller.
        if eta > 0, q != 0 {
            let factor = Dec(statistic: exp(-eta * abs(q)))
            let side: Side = q > 0 ? .buy : .sell
            var orders = side == .buy ? p.buys : p.sells
            for i in orders.indices { orders[i].amount = rules.amount(orders[i].amount * factor) }
            for o in orders where !o.amount.isPositive {
                dropped.append(DroppedOrder(order: o, reason: "η: size × e^(−η·|q|) = ×\(factor.rounded(places: 6)) rounds to 0 at the step \(rules.step)"))
            }
            orders.removeAll { !$0.amount.isPositive }
            if side == .buy { p.buys = orders } else { p.sells = orders }
            trace.add("avellaneda: η \(String(format: "%.6g", eta)): \(side == .buy ? "buys" : "sells") × e^(−η·|q|) = ×\(factor.rounded(places: 6))")
        }
        let spacing = s.isPositive ? Dec(statistic: step) : 0
        return ModelQuote(reference: ref, ladder: p, levelSpacing: spacing)
    }

    /// The model's prices as factors of the mid: the reservation price's shift below it
    /// (q·γ·σ·T), the optimal spread (γ·σ·T + (2/γ)·ln(1 + γ/κ)), and the bid and ask, each at
    /// least half the minimum spread away from the mid.
    public static func quotes(q: Double, sigma: Double, kappa: Double, gamma: Double, timeLeft: Double,
                              minSpread: Double) -> (shift: Double, spread: Double, bid: Double, ask: Double) {
        let shift = q * gamma * sigma * timeLeft
        let spread = gamma * sigma * timeLeft + 2 / gamma * log(1 + gamma / kappa)
        let bid = Swift.min(1 - shift - spread / 2, 1 - minSpread / 2)
        let ask = Swift.max(1 - shift + spread / 2, 1 + minSpread / 2)
        return (shift, spread, bid, ask)
    }

    /// What the estimators still need, in words.
    func warmingUp(_ state: State) -> String {
        var needs: [String] = []
        if !state.volatility.isReady { needs.append("σ \(state.volatility.needed) more mid sample\(state.volatility.needed == 1 ? "" : "s") (one a second)") }
        if !state.intensity.isFull {
            needs.append("the intensity fit \(state.intensity.needed) more public trade\(state.intensity.needed == 1 ? "" : "s")")
        } else if !state.intensity.isReady {
            needs.append("an intensity fit that holds (\(state.intensity.failure ?? "not yet fitted"))")
        }
        return "avellaneda warming up: " + needs.joined(separator: ", ") + "; nothing is quoted until then"
    }

    /// T: the share of the horizon's window still ahead; nil outside the window.
    func timeLeft(now: Int64, shared: inout StrategyState, config c: StrategyConfig) -> Double? {
        switch horizon {
        case .infinite:
            return 1
        case .window:
            guard let (from, to) = window, now >= from, now < to else { return nil }
            return Double(to - now) / Double(to - from)
        case .daily(let w):
            let offset = Hours.offset(&shared, now: now, timeZone: c.timeZone)
            let day: Int64 = 86_400_000
            let local = ((now + Int64(offset) * 1000) % day + day) % day
            let start = Int64(w.start) * 60_000, end = Int64(w.end) * 60_000
            let length = ((end - start) % day + day) % day
            let elapsed = ((local - start) % day + day) % day
            guard elapsed < length else { return nil }
            return Double(length - elapsed) / Double(length)
        }
    }
}
