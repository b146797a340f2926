import Foundation
import Testing
@testable import MMCore

@Suite struct SettingsTests {
    /// Every setting's default renders to text that parses back to the same value.
    @Test(arguments: Catalog.specs.map(\.key))
    func defaultRoundTrips(key: String) throws {
        let spec = try Catalog.lookup(key)
        let text = spec.render(spec.defaultValue)
        #expect(try spec.parse(text) == spec.defaultValue, "\(key): \(text)")
        #expect(!spec.help.isEmpty)
        #expect(!spec.rangeText.isEmpty)
    }

    /// A valid input for each key, the value it must normalize to, and an input it must refuse.
    static let cases: [(key: String, input: String, rendered: String, bad: String)] = [
        ("venue", "PAPER", "paper", "mars"),
        ("account", "desk-2", "desk-2", "has space"),
        ("pair", "eth/usdt", "ETHUSDT", "ETH//USDT"),
        ("strategy", "Avellaneda", "avellaneda", "stoikov"),
        ("as.risk_factor", "0.5", "0.5", "0"),
        ("as.amount_shape", "0.1", "0.1", "-1"),
        ("as.min_spread", "0.1%", "0.1%", "100%"),
        ("as.level_distance", "25%", "25%", "-5%"),
        ("as.inventory_target", "30%", "30%", "101%"),
        ("as.levels", "3", "3", "21"),
        ("as.volatility_buffer", "60", "60", "5"),
        ("as.intensity_buffer", "500", "500", "9"),
        ("as.horizon", "daily 09:00-17:30", "09:00-17:30", "09:00-09:00"),
        ("order.amount", "0.0100", "0.01", "0"),
        ("order.min", "off", "off", "-1"),
        ("order.max", "2.5", "2.5", "lots"),
        ("position.max", "0", "0", "-0.1"),
        ("spread.bid", "20bp", "0.2%", "-0.1%"),
        ("spread.ask", "0.35", "0.35%", "100%"),
        ("spread.min", "0.05%", "0.05%", "x%"),
        ("levels.count", "20", "20", "21"),
        ("levels.spread", "0.5%", "0.5%", "-1"),
        ("levels.amount", "-0.001", "-0.001", "1e-3"),
        ("refresh.time", "1m30s", "1m30s", "50ms"),
        ("refresh.tolerance", "off", "off", "101%"),
        ("refresh.max_age", "3600", "1h", "0s"),
        ("refresh.fill_delay", "0", "0s", "2d"),
        ("price.source", "best_bid", "best_bid", "middle"),
        ("price.inventory_cost", "61000.5", "61000.5", "0"),
        ("inventory.skew", "yes", "on", "maybe"),
        ("inventory.target", "60%", "60%", "101%"),
        ("inventory.range", "2", "2", "0"),
        ("band.ceiling", "70000", "70000", "0"),
        ("band.floor", "off", "off", "cheap"),
        ("band.moving", "true", "on", "2"),
        ("band.moving_ceiling", "2%", "2%", "-2%"),
        ("band.moving_floor", "1.5%", "1.5%", "100%"),
        ("band.refresh", "12h", "12h", "0.5s"),
        ("ping_pong", "no", "off", "ping"),
        ("hanging.enabled", "on", "on", "hang"),
        ("hanging.cancel", "5%", "5%", "0"),
        ("optimize.enabled", "on", "on", "o"),
        ("optimize.bid_depth", "0.5", "0.5", "-1"),
        ("optimize.ask_depth", "0", "0", "deep"),
        ("costs.enabled", "off", "off", "free"),
        ("volatility.enabled", "on", "on", "vol"),
        ("volatility.window", "10m", "10m", "5s"),
        ("volatility.multiplier", "1.5", "1.5", "-1"),
        ("volatility.max_spread", "5%", "5%", "100%"),
        ("stop_loss.pct", "10%", "10%", "0"),
        ("stop_loss.action", "liquidate", "liquidate", "panic"),
        ("stop_loss.basis", "Holding", "holding", "profit"),
        ("hanging.max_count", "4", "4", "0"),
        ("hanging.max_share", "25%", "25%", "150%"),
        ("risk.daily_loss", "250.5", "250.5", "-1"),
        ("risk.drawdown", "100", "100", "0"),
        ("risk.reduce_at", "80%", "80%", "0"),
        ("risk.inventory_deviation", "15%", "15%", "101%"),
        ("risk.open_notional", "5000", "5000", "lots"),
        ("risk.order_rate", "120", "120", "0"),
        ("risk.resume_after", "15m", "15m", "0s"),
        ("risk.deadman", "30s", "30s", "2d"),
        ("hours.window", "22:00-02:00,09:00-17:00", "22:00-02:00,09:00-17:00", "9am-5pm"),
        ("hours.days", "mon-fri", "mon-fri", "someday"),
        ("hours.tz", "Europe/Berlin", "Europe/Berlin", "Mars/Olympus"),
        ("sim.mid", "100", "100", "0"),
        ("sim.spread", "0.1%", "0.1%", "100%"),
        ("sim.volatility", "0", "0%", "60%"),
        ("sim.takers", "120", "120", "-1"),
        ("sim.seed", "42", "42", "-42"),
        ("sim.base", "1.5", "1.5", "-1"),
        ("sim.quote", "1000", "1000", "1k"),
        ("sim.fee", "0.1%", "0.1%", "10%"),
        ("sim.tick", "0.001", "0.001", "0"),
        ("sim.step", "0.01", "0.01", "-0.01"),
        ("sim.min_notional", "5", "5", "five"),
        ("mexc.rest_url", "http://127.0.0.1:8080/", "http://127.0.0.1:8080", "ftp://x"),
        ("mexc.ws_url", "ws://127.0.0.1:8080/ws", "ws://127.0.0.1:8080/ws", "https://x"),
        ("orphans", "adopt", "adopt", "keep"),
        ("autostart", "on", "on", "sometimes"),
        ("record", "on", "on", "always"),
        ("mexc.streams", "off", "off", "sometimes"),
        ("market.stale_after", "2500ms", "2s500ms", "0.5s"),
        ("log.keep", "500", "500", "99"),
    ]

    @Test func everyKeyHasACase() {
        #expect(Set(Self.cases.map(\.key)) == Set(Catalog.keys))
    }

    @Test(arguments: cases)
    func parseValidateRenderRoundTrip(c: (key: String, input: String, rendered: String, bad: String)) throws {
        let spec = try Catalog.lookup(c.key)
        let value = try spec.parse(c.input)
        #expect(spec.render(value) == c.rendered)
        #expect(try spec.parse(spec.render(value)) == value)
        let error = #expect(throws: SettingError.self) { try spec.parse(c.bad) }
        // One line that names the key and says what is accepted.
        #expect(error?.message.hasPrefix("\(c.key):") == true)
        #expect(error?.message.contains("accepted:") == true)
        #expect(error?.message.contains("\n") == false)
    }

    @Test func horizonForms() throws {
        let spec = try Catalog.lookup("as.horizon")
        #expect(try spec.parse("infinite") == .horizon(.infinite))
        #expect(try spec.parse("22:00-06:00") == .horizon(.daily(HoursWindow(start: 22 * 60, end: 6 * 60))))
        let window = try spec.parse("2026-12-01T09:00/2026-12-05T17:30")
        #expect(spec.render(window) == "2026-12-01T09:00/2026-12-05T17:30")
        guard case .horizon(.window(let from, let to)) = window else { Issue.record("not a window"); return }
        // 2026-12-01 is 20,788 days after 1970-01-01.
        #expect(from == (20_788 * 24 + 9) * 60)
        #expect(to - from == (4 * 24 + 8) * 60 + 30)
        // Read in a zone: 09:00 in Berlin (UTC+1 in December) is 08:00 UTC.
        #expect(Horizon.epochMilliseconds(wall: from, in: TimeZone(identifier: "Europe/Berlin")!) == ((20_788 * 24 + 8) * 60) * 60_000)
        for bad in ["2026-02-30T09:00/2026-03-01T00:00", "2026-12-05T09:00/2026-12-01T09:00", "2026-12-01 09:00/2026-12-02T09:00", "soon"] {
            let e = #expect(throws: SettingError.self) { try spec.parse(bad) }
            #expect(e?.message.hasPrefix("as.horizon: '\(bad)' is not a") == true)
        }
    }

    @Test func unknownKeySuggests() {
        let e = #expect(throws: SettingError.self) { try Catalog.lookup("sprad.bid") }
        #expect(e?.message == "unknown setting 'sprad.bid' (did you mean 'spread.bid'?); 'settings' lists them all")
        let far = #expect(throws: SettingError.self) { try Catalog.lookup("zzzzzz") }
        #expect(far?.message.contains("did you mean") == false)
    }

    @Test func choiceSuggests() {
        let e = #expect(throws: SettingError.self) { try Catalog.lookup("venue").parse("papr") }
        #expect(e?.message == "venue: unknown value 'papr' (did you mean 'paper'?); accepted: sim, paper, live")
    }

    @Test func crossFieldRules() throws {
        var s = Settings()
        s.set("order.min", .decimal(2))
        s.set("order.max", .decimal(1))
        #expect(throws: SettingError("order.min (2) must not exceed order.max (1)")) { try s.validate() }
        s.set("order.max", .decimal(2))
        try s.validate()
        s.set("band.ceiling", .decimal(100))
        s.set("band.floor", .decimal(100))
        #expect(throws: SettingError("band.floor (100) must be below band.ceiling (100)")) { try s.validate() }
        s.set("band.floor", .off)
        try s.validate()
    }

    @Test func settingTheDefaultClearsTheOverride() {
        var s = Settings()
        s.set("spread.bid", .percent("0.002"))
        #expect(s.isChanged("spread.bid"))
        s.set("spread.bid", .percent("0.001"))
        #expect(!s.isChanged("spread.bid"))
        #expect(s.text("spread.bid") == "0.1%")
    }

    @Test func suggestions() {
        #expect(Suggest.closest(to: "strat", in: ["start", "stop", "status"]) == "start")
        #expect(Suggest.closest(to: "stauts", in: ["start", "stop", "status"]) == "status")
        #expect(Suggest.closest(to: "xyz", in: ["start", "stop"]) == nil)
        #expect(Suggest.closest(to: "spread.b", in: Catalog.keys) == "spread.bid")
    }

    @Test func aListOfChoicesIsStoredInTheChoicesOrder() throws {
        let spec = try OptionCatalog.lookup("alerts.events")
        #expect(try spec.parse("fills, Halted,halted") == .text("halted,fills"))
        #expect(try spec.parse("all") == .text(AlertKinds.all.joined(separator: ",")))
        #expect(spec.defaultValue == .text(AlertKinds.all.filter { $0 != "fills" }.joined(separator: ",")))
        #expect { try spec.parse("halted,,fills") } throws: { ($0 as? SettingError)?.message.hasPrefix("alerts.events: unknown value ''") == true }
    }
}

@Suite struct MeaningTests {
    @Test func anUnknownSettingIsSuggestedByMeaningToo() {
        func hint(_ key: String) -> String? {
            do { _ = try Catalog.lookup(key); return nil } catch { return error.message }
        }
        #expect(hint("order.refresh") == "unknown setting 'order.refresh' (did you mean 'refresh.time'?); 'settings' lists them all")
        #expect(hint("bid_spread") == "unknown setting 'bid_spread' (did you mean 'spread.bid'?); 'settings' lists them all")
        #expect(hint("sprad.bid") == "unknown setting 'sprad.bid' (did you mean 'spread.bid'?); 'settings' lists them all")
        // Every meaning points at a setting that exists.
        for (word, key) in Catalog.meanings { #expect(Catalog.spec(key) != nil, "\(word) → \(key)") }
    }
}
