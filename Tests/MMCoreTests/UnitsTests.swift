import Testing
@testable import MMCore

@Suite struct UnitsTests {
    @Test(arguments: [("0.2%", "0.002"), ("20bp", "0.002"), ("0.2", "0.002"), ("1.5 %", "0.015"), ("0", "0"), ("100%", "1"), ("2bps", "0.0002")])
    func percentages(input: String, fraction: String) {
        #expect(Units.parsePercent(input) == Dec(fraction)!)
    }

    @Test func percentRendering() {
        #expect(Units.renderPercent("0.002") == "0.2%")
        #expect(Units.renderPercent("0.00005") == "0.005%")
        #expect(Units.renderPercent(1) == "100%")
    }

    @Test(arguments: [("500ms", 500), ("30s", 30_000), ("5m", 300_000), ("1h", 3_600_000), ("1d", 86_400_000),
                      ("1.5", 1500), ("1m30s", 90_000), ("0", 0), ("2h5m", 7_500_000), ("0.5s", 500)])
    func durations(input: String, ms: Int64) {
        #expect(Units.parseDuration(input) == TimeSpan(milliseconds: ms))
    }

    @Test(arguments: ["", "5x", "-1s", "0.0001", "1.5ms", "s", "1h-5m", "m5"])
    func badDurations(input: String) {
        #expect(Units.parseDuration(input) == nil)
    }

    @Test func durationRendering() {
        #expect(TimeSpan(milliseconds: 90_000).description == "1m30s")
        #expect(TimeSpan(milliseconds: 1500).description == "1s500ms")
        #expect(TimeSpan(milliseconds: 0).description == "0s")
        #expect(TimeSpan.days(1).description == "1d")
    }

    @Test func symbols() {
        #expect(Units.normalizeSymbol("BTC/USDT") == "BTCUSDT")
        #expect(Units.normalizeSymbol("btc-usdt") == "BTCUSDT")
        #expect(Units.normalizeSymbol("eth_usdc") == "ETHUSDC")
        #expect(Units.normalizeSymbol("BTC//USDT") == nil)
        #expect(Units.normalizeSymbol("BTC USDT") == nil)
        #expect(Units.normalizeSymbol("B") == nil)
        #expect(Units.normalizeSymbol("BTC/") == nil)
    }

    @Test func hoursWindows() throws {
        let w = try HoursWindow.parseList("09:00-17:30,22:00-02:00").get()
        #expect(w.map(\.description) == ["09:00-17:30", "22:00-02:00"])
        #expect(w[1].passesMidnight)
        #expect(w[1].contains(minuteOfDay: 23 * 60))
        #expect(w[1].contains(minuteOfDay: 60))
        #expect(!w[1].contains(minuteOfDay: 2 * 60))
        #expect(w[0].contains(minuteOfDay: 9 * 60))
        #expect(!w[0].contains(minuteOfDay: 17 * 60 + 30))
        let allDay = try HoursWindow.parseList("00:00-24:00").get()
        #expect(allDay.map(\.description) == ["00:00-24:00"])
        #expect(allDay[0].contains(minuteOfDay: 0) && allDay[0].contains(minuteOfDay: 1439))
        #expect(HoursWindow.parseList("9-17") == .failure(.malformed("9-17")))
        #expect(HoursWindow.parseList("25:00-26:00") == .failure(.malformed("25:00-26:00")))
        #expect(HoursWindow.parseList("10:00-10:00") == .failure(.empty("10:00-10:00")))
        #expect(HoursWindow.parseList("10:00-11:00,") == .failure(.malformed("")))
    }

    @Test func weekdays() {
        #expect(WeekdaySet.parse("mon-fri")?.description == "mon-fri")
        #expect(WeekdaySet.parse("sat,sun")?.description == "sat,sun")
        #expect(WeekdaySet.parse("all")?.description == "all")
        #expect(WeekdaySet.parse("fri-mon")?.description == "mon,fri-sun")
        #expect(WeekdaySet.parse("Monday,wed-fri")?.description == "mon,wed-fri")
        #expect(WeekdaySet.parse("mon-sun")?.description == "all")
        #expect(WeekdaySet.parse("funday") == nil)
        #expect(WeekdaySet.parse("") == nil)
        #expect(WeekdaySet.parse("mo") == nil)
    }
}

@Suite struct ReadableNumberTests {
    @Test func groupsThousandsAndRoundsToThePlaces() {
        #expect(Units.readable("6012.345", places: 2) == "6,012.34")
        #expect(Units.readable("6012.355", places: 2) == "6,012.36")
        #expect(Units.readable("-1234567.5", places: 0) == "-1,234,568")
        #expect(Units.readable("0.1", places: 6) == "0.100000")
        #expect(Units.readable("999.999", places: 2) == "1,000.00")
        #expect(Units.readable("5551.285653735732", places: 2) == "5,551.29")
    }

    @Test func symbolsSplitIntoTheirAssets() {
        #expect(Units.assets(of: "BTCUSDT")! == ("BTC", "USDT"))
        #expect(Units.assets(of: "ETHBTC")! == ("ETH", "BTC"))
        #expect(Units.assets(of: "USDCUSDT")! == ("USDC", "USDT"))
        #expect(Units.assets(of: "ETHFDUSD")! == ("ETH", "FDUSD"))
        #expect(Units.assets(of: "FOOBAR") == nil)
        #expect(Units.assets(of: "USDT") == nil)
    }
}
