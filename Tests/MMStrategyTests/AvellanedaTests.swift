import Foundation
import MMCore
import Testing
@testable import MMStrategy

/// An Avellaneda config, with its estimators' state given directly.
private func asConfig(_ changes: [String: String] = [:]) -> StrategyConfig {
    config(["strategy": "avellaneda"].merging(changes) { $1 })
}

private func preset(sigma: Double, alpha: Double, kappa: Double, mid: Double, now: Int64, samples: Int = 200,
                    trades: Int = 200) -> StrategyState {
    var s = StrategyState()
    // Changes alternating ±σ have a root mean square of exactly σ.
    let changes = (0..<samples).map { $0 % 2 == 0 ? sigma : -sigma }
    s.model = ModelState(Avellaneda.State(volatility: VolatilityEstimator(changes: changes, lastSecond: now / 1000, lastMid: mid),
                                          intensity: IntensityEstimator(trades: trades, alpha: alpha, kappa: kappa, fittedAt: now),
                                          lastMid: mid))
    return s
}

@Suite struct AvellanedaTests {
    let t0: Int64 = 1_800_000_000_000

    @Test func theRegistryMatchesTheSetting() {
        #expect(QuoteModels.all.map { $0.name } == Catalog.strategies)
        #expect(config().model is PureMarketMaking)
        #expect(asConfig().model is Avellaneda)
    }

    /// Mid 100, σ 0.1%/s, κ 1000, γ 1, T 1; base 1.5 and quote 50 make 2 base at the mid, the
    /// target 50% of it is 1, so q = (1.5 − 1) / 2 = 0.25. By hand:
    /// - r = 100·(1 − 0.25·1·0.001·1) = 99.975
    /// - δ = 100·(1·0.001·1 + (2/1)·ln(1 + 1/1000)) = 100·(0.001 + 0.0019990006663) = 0.29990006663
    /// - bid = r − δ/2 = 99.82504996669 → 99.82; ask = r + δ/2 = 100.12495003331 → 100.12
    /// - level 1, 50% of δ/2 = 0.074975 further: bid 99.75007…→ 99.75, ask 100.19992…→ 100.19
    /// - η 1 on the buys (q > 0 would grow): 0.1 × e^(−0.25) = 0.0778800… → 0.077
    @Test func aDecisionByHand() {
        let c = asConfig(["levels.count": "2", "as.level_distance": "50%", "as.amount_shape": "1", "order.amount": "0.1"])
        var s = preset(sigma: 0.001, alpha: 2, kappa: 1000, mid: 100, now: t0 + 1000)
        let d = Strategy.decide(view(now: t0 + 1000, base: "1.5", quote: 50), state: &s, config: c, explain: true)
        #expect(ladder(d.buys) == ["99.82×0.077", "99.75×0.077"])
        #expect(ladder(d.sells) == ["100.12×0.1", "100.19×0.1"])
        #expect(d.place)
        let trace = d.trace.joined(separator: "\n")
        #expect(trace.contains("σ 0.001/s over 200 samples; α 2/s, κ 1000"))
        #expect(trace.contains("q 0.25 (base 1.5, target 1 of 2)"))
        #expect(trace.contains("r = s·(1 − q·γ·σ·T) = 99.975"))
        #expect(trace.contains("δ = s·(γ·σ·T + (2/γ)·ln(1 + γ/κ)) = 0.29990007"))
        #expect(trace.contains("buys × e^(−η·|q|) = ×0.778801"))
    }

    /// Its own target and levels, when set, win over the shared ones, and the risk supervisor follows the target.
    @Test func itsOwnTargetAndLevels() {
        let c = asConfig(["as.inventory_target": "75%", "as.levels": "3", "levels.count": "1", "inventory.target": "50%"])
        #expect(c.inventoryTarget == "0.75")
        var s = preset(sigma: 0.001, alpha: 2, kappa: 1000, mid: 100, now: t0 + 1000)
        // 1.5 base of 2: exactly at a 75% target, so q = 0.
        let d = Strategy.decide(view(now: t0 + 1000, base: "1.5", quote: 50), state: &s, config: c, explain: true)
        #expect(d.buys.count == 3 && d.sells.count == 3)
        #expect(d.trace.contains { $0.contains("q 0 (base 1.5, target 1.5 of 2)") })
        #expect(config(["as.inventory_target": "75%"]).inventoryTarget == "0.5", "pure market making keeps inventory.target")
    }

    /// With q = 0 the quotes are symmetric about the mid; the minimum spread pushes them out.
    @Test func theMinimumSpreadHolds() {
        // δ/2 ≈ 0.15% of the mid; a 1% minimum puts the quotes at 99.50 and 100.50.
        let c = asConfig(["as.min_spread": "1%"])
        var s = preset(sigma: 0.001, alpha: 2, kappa: 1000, mid: 100, now: t0 + 1000)
        let d = Strategy.decide(view(now: t0 + 1000, base: 1, quote: 100), state: &s, config: c, explain: true)
        #expect(ladder(d.buys) == ["99.5×0.001"])
        #expect(ladder(d.sells) == ["100.5×0.001"])
        #expect(d.trace.contains { $0.contains("moved out to it") })
    }

    @Test func nothingIsQuotedUntilTheEstimatorsHaveEnough() {
        let c = asConfig(["as.volatility_buffer": "10", "as.intensity_buffer": "20"])
        var s = StrategyState()
        var generator = SeededGenerator(seed: 7)
        var quotedAt: Int?
        var waits: [String] = []
        for second in 0..<40 {
            let mid = 100 + Double(Int(generator.next() % 5)) * 0.01
            let bid = Dec(fraction: (mid - 0.01) / 1000) * 1000, ask = Dec(fraction: (mid + 0.01) / 1000) * 1000
            let trades = (0..<2).map { i in
                TapeTrade(price: i == 0 ? bid - Dec(Int(generator.next() % 4)) * "0.01" : ask + Dec(Int(generator.next() % 4)) * "0.01",
                          amount: 1, time: t0 + Int64(second) * 1000 - 500)
            }
            var v = view(now: t0 + Int64(second) * 1000, book: book(bid: bid.rounded(places: 2), ask: ask.rounded(places: 2)), base: 1, quote: 100)
            v.trades = second == 0 ? [] : trades
            let d = Strategy.decide(v, state: &s, config: c, explain: true)
            if let why = d.waitingFor {
                #expect(d.buys.isEmpty && d.sells.isEmpty && !d.place)
                waits.append(why)
            } else if quotedAt == nil {
                quotedAt = second
                #expect(d.place)
            }
        }
        #expect(waits.first == "avellaneda warming up: σ 10 more mid samples (one a second), the intensity fit 20 more public trades; nothing is quoted until then")
        #expect(waits.contains("avellaneda warming up: σ 5 more mid samples (one a second), the intensity fit 10 more public trades; nothing is quoted until then"))
        // Ten changes need eleven mids (seconds 0–10); twenty trades come by second 10.
        #expect(quotedAt == 10)
    }

    @Test func aFixedHorizonQuotesInsideItOnlyWithTheTimeLeftFalling() throws {
        let zone = "Europe/Berlin"
        // 2027-01-15 09:00 to 17:00 in Berlin (UTC+1) is 08:00 to 16:00 UTC.
        let c = asConfig(["as.horizon": "2027-01-15T09:00/2027-01-15T17:00", "hours.tz": zone])
        let start = Horizon.epochMilliseconds(wall: (Horizon.days(year: 2027, month: 1, day: 15) * 24 + 9) * 60,
                                              in: TimeZone(identifier: zone)!)
        #expect(start == 1_800_000_000_000)   // 2027-01-15T08:00Z
        var before = preset(sigma: 0.001, alpha: 2, kappa: 1000, mid: 100, now: start - 1000)
        let early = Strategy.decide(view(now: start - 1000, base: "1.5", quote: 50), state: &before, config: c)
        #expect(early.waitingFor == "outside the horizon 2027-01-15T09:00/2027-01-15T17:00 (Europe/Berlin)")
        #expect(early.buys.isEmpty && early.sells.isEmpty)
        // Three quarters of the window left: T = 0.75 in the reservation price.
        var s = preset(sigma: 0.001, alpha: 2, kappa: 1000, mid: 100, now: start + 7_200_000)
        let d = Strategy.decide(view(now: start + 7_200_000, base: "1.5", quote: 50), state: &s, config: c, explain: true)
        #expect(d.trace.contains { $0.contains("T 0.75") })
        // r = 100·(1 − 0.25·0.001·0.75) = 99.98125
        #expect(d.trace.contains { $0.contains("= 99.98125") })
        var after = preset(sigma: 0.001, alpha: 2, kappa: 1000, mid: 100, now: start + 8 * 3_600_000 + 1000)
        #expect(Strategy.decide(view(now: start + 8 * 3_600_000 + 1000), state: &after, config: c).waitingFor != nil)
    }

    @Test func aDailyHorizonPassesMidnight() {
        let c = asConfig(["as.horizon": "22:00-02:00"])
        let midnight: Int64 = 1_800_057_600_000   // a UTC midnight
        #expect(midnight % 86_400_000 == 0)
        func t(_ at: Int64) -> String? {
            var s = preset(sigma: 0.001, alpha: 2, kappa: 1000, mid: 100, now: at)
            let d = Strategy.decide(view(now: at), state: &s, config: c, explain: true)
            return d.waitingFor ?? d.trace.first { $0.contains(" T ") }.map { String($0[$0.range(of: "T ")!.upperBound...]) }
        }
        #expect(t(midnight - 3 * 3_600_000) == "outside the horizon 22:00-02:00 (UTC)")
        #expect(t(midnight - 2 * 3_600_000) == "1")
        #expect(t(midnight) == "0.5")
        #expect(t(midnight + 3_600_000) == "0.25")
        #expect(t(midnight + 2 * 3_600_000) == "outside the horizon 22:00-02:00 (UTC)")
    }

    /// Trades whose distances are exponential with rate κ, arriving at α a second, give back α and κ.
    @Test(arguments: [(alpha: 2.0, kappa: 2000.0), (alpha: 0.5, kappa: 300.0), (alpha: 20.0, kappa: 10_000.0)])
    func theFitRecoversAlphaAndKappa(truth: (alpha: Double, kappa: Double)) {
        var generator = SeededGenerator(seed: 42)
        var estimator = IntensityEstimator(trades: 5000)
        var time: Int64 = t0
        for _ in 0..<5000 {
            time += Int64(-log(generator.uniform()) / truth.alpha * 1000)
            estimator.add(distance: -log(generator.uniform()) / truth.kappa, time: time)
        }
        estimator.refitIfDue(now: time)
        let kappa = try! #require(estimator.kappa), alpha = try! #require(estimator.alpha)
        // Stated tolerance: within 5% for κ and 10% for α on 5000 trades.
        #expect(abs(kappa / truth.kappa - 1) < 0.05, "κ \(kappa) against \(truth.kappa)")
        #expect(abs(alpha / truth.alpha - 1) < 0.10, "α \(alpha) against \(truth.alpha)")
    }

    @Test func aFailedFitKeepsThePreviousOneAndSaysSo() {
        var estimator = IntensityEstimator(trades: 10)
        var generator = SeededGenerator(seed: 1)
        for i in 0..<10 { estimator.add(distance: -log(generator.uniform()) / 1000, time: t0 + Int64(i) * 1000) }
        estimator.refitIfDue(now: t0 + 10_000)
        let kept = estimator.kappa
        #expect(kept != nil && estimator.failure == nil)
        // Ten trades all at one distance: κ cannot be told.
        for i in 0..<10 { estimator.add(distance: 0.0005, time: t0 + 20_000 + Int64(i) * 1000) }
        estimator.refitIfDue(now: t0 + 30_000)
        #expect(estimator.kappa == kept)
        #expect(estimator.failure == "all 10 trades at the same distance from the mid; κ cannot be told")

        // The trace of a decision says the previous fit is in use.
        var s = preset(sigma: 0.001, alpha: 2, kappa: 1000, mid: 100, now: t0)
        var model = Avellaneda.State(volatility: VolatilityEstimator(changes: Array(repeating: 0.001, count: 200), lastSecond: t0 / 1000, lastMid: 100),
                                     intensity: estimator, lastMid: 100)
        model.intensity.add(distance: 0.0005, time: t0)
        s.model = ModelState(model)
        let d = Strategy.decide(view(now: t0 + 31_000), state: &s, config: asConfig(["as.intensity_buffer": "10"]), explain: true)
        #expect(d.trace.contains { $0.contains("the latest intensity fit failed (all 10 trades at the same distance from the mid; κ cannot be told); the previous fit is kept") })
        #expect(!d.buys.isEmpty && !d.sells.isEmpty)
    }

    @Test func volatilityIsPerSecondWhateverTheGap() {
        var v = VolatilityEstimator(samples: 2)
        v.sample(mid: 100, now: t0)
        v.sample(mid: 100.1, now: t0 + 500)          // the same second: skipped
        v.sample(mid: 101, now: t0 + 1000)           // +1% in one second
        v.sample(mid: 101 * 1.02, now: t0 + 5000)    // +2% over four seconds: 1% a second
        #expect(abs(v.sigma! - 0.01) < 1e-12)
    }

    /// Over random markets: the bid is below the ask, both on ticks, never inside the minimum
    /// spread; more inventory above the target lowers the reservation price and the quotes.
    @Test func propertiesOverRandomMarkets() {
        var g = SeededGenerator(seed: 2026)
        for _ in 0..<500 {
            let tick: Dec = ["0.01", "0.0001", "1", "0.5"][Int(g.next() % 4)]
            let mid = Dec(Int(g.next() % 100_000) + 100) * tick
            let r = MarketRules(tick: tick, step: "0.0001")
            let sigma = 0.0001 + g.uniform() * 0.005, kappa = 50 + g.uniform() * 20_000, gamma = 0.05 + g.uniform() * 5
            let minSpread = g.uniform() < 0.5 ? "0" : "0.2%"
            let c = asConfig(["as.risk_factor": "\(Dec(fraction: gamma / 10) * 10)".description, "as.min_spread": minSpread,
                              "levels.count": "\(1 + g.next() % 5)", "order.amount": "0.01"])
            let base = Dec(Int(g.next() % 1000)) * "0.01", quote = Dec(Int(g.next() % 1000)) * mid * "0.01"
            func decide(base: Dec) -> Decision {
                var s = preset(sigma: sigma, alpha: 1, kappa: kappa, mid: mid.doubleValue, now: t0 + 1000)
                return Strategy.decide(view(now: t0 + 1000, book: book(bid: mid - tick, ask: mid + tick), base: base, quote: quote, rules: r),
                                       state: &s, config: c, explain: true)
            }
            let d = decide(base: base)
            for o in d.buys + d.sells { #expect(o.price.floored(toMultipleOf: tick) == o.price, "\(o.price) on tick \(tick)") }
            if let bid = d.buys.first, let ask = d.sells.first {
                #expect(bid.price < ask.price)
                if minSpread != "0" {
                    #expect(bid.price <= mid * (1 - Dec("0.001")))
                    #expect(ask.price >= mid * (1 + Dec("0.001")))
                }
            }
            for (a, b) in zip(d.buys, d.buys.dropFirst()) { #expect(a.price >= b.price) }
            for (a, b) in zip(d.sells, d.sells.dropFirst()) { #expect(a.price <= b.price) }
            let more = decide(base: base + 5)
            if let a = d.sells.first, let b = more.sells.first { #expect(b.price <= a.price) }
            if let a = d.buys.first, let b = more.buys.first { #expect(b.price <= a.price) }
            // The pure formula: r falls as q rises.
            let low = Avellaneda.quotes(q: -0.2, sigma: sigma, kappa: kappa, gamma: gamma, timeLeft: 1, minSpread: 0)
            let high = Avellaneda.quotes(q: 0.3, sigma: sigma, kappa: kappa, gamma: gamma, timeLeft: 1, minSpread: 0)
            #expect(high.shift > low.shift && high.bid < low.bid && high.ask < low.ask)
        }
    }
}
