import Foundation
import MMCore
import Testing
@testable import MMStrategy

/// Settings with some keys changed, as a risk config.
func riskConfig(_ changes: [String: String]) -> RiskConfig {
    var s = Settings()
    for (k, v) in changes { s.set(k, try! Catalog.lookup(k).parse(v)) }
    return RiskConfig(s)
}

/// 2026-12-01 12:00:00 UTC.
let noon: Int64 = 1_796_126_400_000

func figures(_ now: Int64 = noon, net: Dec, share: Dec? = "0.5", marketAge: Int64 = 0, venueAge: Int64 = 0) -> RiskFigures {
    RiskFigures(now: now, netPnL: net, share: share, target: "0.5", marketAge: marketAge, venueAge: venueAge)
}

func live(_ side: Side, _ price: Dec, _ amount: Dec, _ id: String) -> LiveOrder {
    LiveOrder(clientId: id, side: side, price: price, amount: amount, placedAt: 0, batch: 1, level: 0)
}

@Suite struct RiskTests {
    @Test func theDailyLossReducesAtItsShareThenHaltsAndTheHaltHolds() {
        let c = riskConfig(["risk.daily_loss": "100", "risk.reduce_at": "75%"])
        var s = RiskState()
        #expect(Risk.assess(figures(net: 0), config: c, state: &s) == nil)
        #expect(s.mode == .active)
        // −74.99 is short of 75% of 100.
        #expect(Risk.assess(figures(noon + 1000, net: "-74.99"), config: c, state: &s) == nil)
        let reducing = Risk.assess(figures(noon + 2000, net: -75), config: c, state: &s)
        #expect(reducing?.to == .reducing && reducing?.binding?.limit == "risk.daily_loss")
        #expect(s.dayPnL == -75)
        let halted = Risk.assess(figures(noon + 3000, net: -100), config: c, state: &s)
        #expect(halted?.from == .reducing && halted?.to == .halted)
        #expect(s.binding?.message == "today's net P&L -100 reached the daily loss limit of 100")
        #expect(s.since == noon + 3000)
        // The market recovers; the halt holds (no resume_after).
        #expect(Risk.assess(figures(noon + 600_000, net: 50), config: c, state: &s) == nil)
        #expect(s.mode == .halted)
    }

    @Test func aDailyLossHaltResumesOnlyOnTheNextDay() {
        let c = riskConfig(["risk.daily_loss": "100", "risk.resume_after": "10m", "hours.tz": "Europe/Berlin"])
        var s = RiskState()
        // 23:00 in Berlin (22:00 UTC): the run starts at −20 of the day's P&L carried from an earlier run.
        let late = noon + 10 * 3_600_000
        s.carried = -20
        s.carriedDay = Risk.day(late, timeZone: c.timeZone)
        _ = Risk.assess(figures(late, net: 0), config: c, state: &s)
        #expect(s.dayPnL == -20)
        #expect(Risk.assess(figures(late + 1000, net: -80), config: c, state: &s)?.to == .halted, "−20 carried, −80 now: the limit")
        // The cooldown passes within the day: still at the limit, it holds.
        #expect(Risk.assess(figures(late + 700_000, net: -80), config: c, state: &s) == nil)
        #expect(s.mode == .halted)
        // By hand: refused, nothing changes.
        let before = s
        guard case .failure(let refusal) = Risk.resume(&s, figures: figures(late + 700_000, net: -80), config: c, at: late + 700_000) else {
            Issue.record("resume must be refused at the limit")
            return
        }
        #expect(refusal.message.hasPrefix("today's net P&L -100 reached the daily loss limit of 100; it resumes when the day ends in Europe/Berlin"))
        #expect(s == before)
        // Midnight in Berlin: a new day, the day's P&L starts at zero, the cooldown is long past.
        let change = Risk.assess(figures(late + 3_600_000 + 1000, net: -80), config: c, state: &s)
        #expect(change?.to == .active && change?.lifted?.limit == "risk.daily_loss")
        #expect(s.dayPnL == 0)
    }

    @Test func theDrawdownCountsFromThePeakAndFromTheResume() {
        let c = riskConfig(["risk.drawdown": "50", "risk.reduce_at": "75%"])
        var s = RiskState()
        _ = Risk.assess(figures(net: 0), config: c, state: &s)
        _ = Risk.assess(figures(noon + 1, net: 50), config: c, state: &s)
        #expect(s.peak == 50)
        // 50 → 12.5 is a drawdown of 37.5, 75% of 50.
        #expect(Risk.assess(figures(noon + 2, net: "12.5"), config: c, state: &s)?.to == .reducing)
        #expect(s.drawdown == "37.5")
        #expect(Risk.assess(figures(noon + 3, net: 0), config: c, state: &s)?.to == .halted)
        #expect(s.binding?.message == "net P&L 0 is 50 below its peak 50, at the drawdown limit of 50")
        // Resumed by hand: the peak is now 0, so the same P&L is no drawdown.
        guard case .success(let change) = Risk.resume(&s, figures: figures(noon + 4, net: 0), config: c, at: noon + 4) else {
            Issue.record("resume refused")
            return
        }
        #expect(change?.from == .halted && change?.to == .active)
        #expect(Risk.assess(figures(noon + 5, net: 0), config: c, state: &s) == nil)
        #expect(s.mode == .active && s.peak == 0)
    }

    @Test func aDrawdownHaltResumesAfterTheCooldown() {
        let c = riskConfig(["risk.drawdown": "10", "risk.resume_after": "30s"])
        var s = RiskState()
        _ = Risk.assess(figures(net: 10), config: c, state: &s)
        #expect(Risk.assess(figures(noon + 1000, net: 0), config: c, state: &s)?.to == .halted)
        #expect(Risk.assess(figures(noon + 30_999, net: -5), config: c, state: &s) == nil, "29.999 s: still cooling down")
        let change = Risk.assess(figures(noon + 31_000, net: -5), config: c, state: &s)
        #expect(change?.to == .active)
        #expect(s.peak == -5)
    }

    @Test func theInventoryDeviationKeepsOnlyTheSideThatBringsItBack() {
        let c = riskConfig(["risk.inventory_deviation": "10%"])
        var s = RiskState()
        #expect(Risk.assess(figures(net: 0, share: "0.6"), config: c, state: &s) == nil, "10% away is within")
        let change = Risk.assess(figures(noon + 1, net: 0, share: "0.6001"), config: c, state: &s)
        #expect(change?.to == .reducing && change?.binding?.limit == "risk.inventory_deviation")
        #expect(s.binding?.message == "inventory share 60.01% is 10.01% from the target 50%, beyond 10%")
        var d = Decision()
        d.place = true
        d.buys = [ProposedOrder(side: .buy, level: 0, price: 99, amount: 1)]
        d.sells = [ProposedOrder(side: .sell, level: 0, price: 101, amount: 1)]
        let orders = [live(.buy, 98, 1, "b"), live(.sell, 102, 1, "s")]
        Risk.filter(&d, state: s, config: c, live: orders, share: "0.6001", target: "0.5")
        #expect(d.buys.isEmpty && d.sells.count == 1 && d.place)
        #expect(d.cancels.map(\.clientId) == ["b"], "the live buy goes, the sell stays")
        #expect(d.dropped.map(\.order.side) == [.buy])
        #expect(d.dropped.first?.reason.hasPrefix("reducing: inventory share 60.01%") == true)
        // Back within: active again.
        #expect(Risk.assess(figures(noon + 2, net: 0, share: "0.55"), config: c, state: &s)?.to == .active)
    }

    @Test func haltedCancelsEverythingAndPlacesNothing() {
        var s = RiskState()
        _ = Risk.pause(&s, binding: RiskBinding("pause", "paused by hand"), at: noon)
        var d = Decision()
        d.place = true
        d.buys = [ProposedOrder(side: .buy, level: 0, price: 99, amount: 1)]
        d.renewals = [live(.sell, 103, 1, "h")]
        d.cancels = [CancelRequest(clientId: "s", reason: "refresh")]
        Risk.filter(&d, state: s, config: riskConfig([:]), live: [live(.buy, 98, 1, "b"), live(.sell, 102, 1, "s"), live(.sell, 103, 1, "h")],
                    share: "0.5", target: "0.5")
        #expect(!d.place && d.buys.isEmpty && d.renewals.isEmpty)
        #expect(d.cancels.map(\.clientId) == ["s", "b", "h"], "each live order cancelled once")
        #expect(d.cancels[1].reason == "halted: paused by hand")
        // A pause holds whatever the figures, until resumed.
        #expect(Risk.assess(figures(noon + 3_600_000, net: 1000), config: riskConfig(["risk.resume_after": "1s"]), state: &s) == nil)
        #expect(s.mode == .halted)
        guard case .success = Risk.resume(&s, figures: nil, config: riskConfig([:]), at: noon + 3_600_001) else {
            Issue.record("resume refused")
            return
        }
        #expect(s.mode == .active && s.paused == nil)
    }

    @Test func theOrderRateHaltsBeforeTheMinuteHoldsTooMany() {
        let c = riskConfig(["risk.order_rate": "10", "risk.resume_after": "1m"])
        var s = RiskState()
        #expect(Risk.admit(6, now: noon, config: c, state: &s) == nil)
        #expect(Risk.admit(4, now: noon + 10_000, config: c, state: &s) == nil, "10 in the minute is the limit, allowed")
        let change = Risk.admit(1, now: noon + 20_000, config: c, state: &s)
        #expect(change?.to == .halted && change?.binding?.limit == "risk.order_rate")
        #expect(s.binding?.message == "10 orders placed in the last minute and 1 more due, above risk.order_rate 10 a minute")
        // After the cooldown it resumes, the count starting again.
        #expect(Risk.assess(figures(noon + 80_000, net: 0), config: c, state: &s)?.to == .active)
        #expect(Risk.admit(10, now: noon + 80_001, config: c, state: &s) == nil)
    }

    @Test func theDeadmansSwitchHaltsWhileDataOrAnswersAreMissingAndLiftsItself() {
        let c = riskConfig(["risk.deadman": "5s"])
        var s = RiskState()
        #expect(Risk.assess(figures(net: 0, venueAge: 5000), config: c, state: &s) == nil, "5 s is the limit, not past it")
        let silent = Risk.assess(figures(noon + 1, net: 0, venueAge: 5001), config: c, state: &s)
        #expect(silent?.to == .halted && silent?.binding?.limit == "risk.deadman")
        #expect(s.binding?.message == "no answer from MEXC for 5 s (risk.deadman 5 s)")
        let back = Risk.assess(figures(noon + 2, net: 0), config: c, state: &s)
        #expect(back?.to == .active && back?.lifted?.limit == "risk.deadman")
        #expect(Risk.assess(figures(noon + 3, net: 0, marketAge: 9000), config: c, state: &s)?.binding?.message
                == "no fresh market data for 9 s (risk.deadman 5 s)")
    }

    @Test func theOpenNotionalKeepsTheInnermostLevelsOfBothSides() {
        let c = riskConfig(["risk.open_notional": "1000"])
        var d = Decision()
        d.place = true
        d.buys = [ProposedOrder(side: .buy, level: 0, price: 100, amount: 3), ProposedOrder(side: .buy, level: 1, price: 99, amount: 3)]
        d.sells = [ProposedOrder(side: .sell, level: 0, price: 101, amount: 3), ProposedOrder(side: .sell, level: 1, price: 102, amount: 3)]
        // 300 + 303 + 297 = 900; the level-1 sell (306) would make 1,206.
        Risk.filter(&d, state: RiskState(), config: c, live: [], share: "0.5", target: "0.5")
        #expect(d.buys.map(\.level) == [0, 1] && d.sells.map(\.level) == [0])
        #expect(d.dropped.map(\.reason) == ["open orders would be worth 1206, above risk.open_notional 1000"])
        // Live orders that stay count; those being cancelled do not.
        var e = Decision()
        e.place = true
        e.buys = [ProposedOrder(side: .buy, level: 0, price: 100, amount: 3)]
        e.cancels = [CancelRequest(clientId: "old", reason: "refresh")]
        Risk.filter(&e, state: RiskState(), config: c, live: [live(.sell, 150, 5, "old"), live(.sell, 140, 5, "keep")], share: "0.5", target: "0.5")
        #expect(e.buys.count == 1 && e.place, "700 kept + 300 is 1,000: at the limit, allowed")
        var f = Decision()
        f.place = true
        f.buys = [ProposedOrder(side: .buy, level: 0, price: 100, amount: 3)]
        Risk.filter(&f, state: RiskState(), config: c, live: [live(.sell, "140.2", 5, "keep")], share: "0.5", target: "0.5")
        #expect(f.buys.isEmpty && !f.place, "701 kept + 300 is over")
    }

    @Test func theStopLossAgainstHoldingIgnoresAFallingMarket() {
        // Started with 1 base and 100 quote at a mid of 100 (value 200). The price halves; the
        // instance sold half its base on the way: 0.5 base, 130 quote, value 155 at a mid of 50.
        // Holding would be worth 150: the instance did better than holding.
        for (basis, fires) in [("value", true), ("holding", false)] {
            let c = config(["stop_loss.pct": "10%", "stop_loss.basis": basis])
            var state = StrategyState()
            _ = Strategy.decide(view(book: book(bid: "99.99", ask: "100.01"), base: 1, quote: 100), state: &state, config: c)
            #expect(state.startValue == 200 && state.startQuote == 100)
            let d = Strategy.decide(view(now: 2_000_000, book: book(bid: "49.99", ask: "50.01"), base: "0.5", quote: 130), state: &state, config: c)
            #expect(d.stop == fires, "basis \(basis)")
            if basis == "holding" {
                // 150 × 0.9 = 135: a value of 134 fires it.
                let e = Strategy.decide(view(now: 3_000_000, book: book(bid: "49.99", ask: "50.01"), base: "0.5", quote: 109), state: &state, config: c)
                #expect(e.stop && e.events == [.stopLoss(start: 150, now: 134, threshold: 135, againstHolding: true)])
            }
        }
    }
}
