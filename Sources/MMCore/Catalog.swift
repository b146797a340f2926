/// Every setting an instance has. These names are a contract with users' scripts: keep them.
/// Defaults are chosen so that `new` followed by `start` quotes at once on the sim venue.
public enum Catalog {
    public static let venues = ["sim", "paper", "live"]
    public static let strategies = ["pmm", "avellaneda"]
    public static let priceSources = ["mid", "last", "best_bid", "best_ask", "last_own_trade", "inventory_cost"]

    private static let zero = Bound.atLeast(0)
    private static let positive = Bound.above(0)
    private static let hundredPercent = Bound.atMost(1)
    /// Amounts, prices and multipliers stay within ±10^15 (with at most 12 decimals, see
    /// `SettingSpec.maxDecimals`): products and quotients of any two of them, and sums of those,
    /// then fit `Dec`'s exact range with room to spare.
    public static let largest = Dec(mantissa: 1_000_000_000_000_000, scale: 0)
    private static let huge = Bound.atMost(largest)
    private static let hugeNegative = Bound.atLeast(-largest)
    /// Unbounded percentages stop at 10,000%.
    private static let hugePercent = Bound.atMost(100)

    public static let specs: [SettingSpec] = [
        SettingSpec("venue", .choice(venues), default: .text("sim"),
                    "sim: simulated MEXC market (offline); paper: live data, simulated fills; live: real orders"),
        SettingSpec("account", .name, default: .text("default"), "vault entry whose API keys a live instance uses"),
        SettingSpec("pair", .symbol, default: .text("BTCUSDT"), "MEXC symbol to quote"),
        SettingSpec("strategy", .choice(strategies), default: .text("pmm"),
                    "pmm (pure market making) or avellaneda (Avellaneda–Stoikov: its settings are as.*, with order.amount)"),

        SettingSpec("order.amount", .decimal(unit: "amount", min: positive, max: huge), default: .decimal("0.001"),
                    "level-0 order size, in base"),
        SettingSpec("order.min", .decimal(unit: "amount", min: positive, max: huge), optional: true, default: .off,
                    "orders smaller than this are dropped"),
        SettingSpec("order.max", .decimal(unit: "amount", min: positive, max: huge), optional: true, default: .off,
                    "orders larger than this are capped"),
        SettingSpec("position.max", .decimal(unit: "amount", min: zero, max: huge), optional: true, default: .off,
                    "no buy that would take base holdings (with open buys) above this"),

        SettingSpec("spread.bid", .percent(min: zero, max: .below(1)), default: .percent("0.001"),
                    "level-0 bid distance below the reference price"),
        SettingSpec("spread.ask", .percent(min: zero, max: .below(1)), default: .percent("0.001"),
                    "level-0 ask distance above the reference price"),
        SettingSpec("spread.min", .percent(min: zero, max: .below(1)), optional: true, default: .off,
                    "cancel orders that come closer than this to the price"),

        SettingSpec("levels.count", .integer(1...20), default: .integer(1), "levels per side"),
        SettingSpec("levels.spread", .percent(min: zero, max: .below(1)), default: .percent("0.001"),
                    "extra spread per level"),
        SettingSpec("levels.amount", .decimal(unit: "amount", min: hugeNegative, max: huge), default: .decimal(0),
                    "size added per level (may be negative)"),

        SettingSpec("refresh.time", .duration(min: TimeSpan(milliseconds: 100), max: .days(1)), default: .duration(.seconds(15)),
                    "cancel/replace cycle"),
        SettingSpec("refresh.tolerance", .percent(min: zero, max: hundredPercent), optional: true, default: .percent(0),
                    "at each refresh, keep live orders whose prices moved less than this; off always replaces"),
        SettingSpec("refresh.max_age", .duration(min: .seconds(1), max: .days(30)), default: .duration(.minutes(30)),
                    "replace orders older than this"),
        SettingSpec("refresh.fill_delay", .duration(min: .seconds(0), max: .days(1)), default: .duration(.seconds(10)),
                    "pause before new orders after a fill"),

        SettingSpec("price.source", .choice(priceSources), default: .text("mid"), "reference price"),
        SettingSpec("price.inventory_cost", .decimal(unit: "price", min: positive, max: huge), optional: true, default: .off,
                    "starting cost basis for price.source inventory_cost"),

        SettingSpec("inventory.skew", .toggle, default: .bool(false), "skew order sizes towards the target"),
        SettingSpec("inventory.target", .percent(min: zero, max: hundredPercent), default: .percent("0.5"),
                    "target share of portfolio value held in base"),
        SettingSpec("inventory.range", .decimal(unit: "multiplier", min: positive, max: huge), default: .decimal(1),
                    "skew range, in multiples of total order size"),

        SettingSpec("band.ceiling", .decimal(unit: "price", min: positive, max: huge), optional: true, default: .off,
                    "no buys at or above this price"),
        SettingSpec("band.floor", .decimal(unit: "price", min: positive, max: huge), optional: true, default: .off,
                    "no sells at or below this price"),
        SettingSpec("band.moving", .toggle, default: .bool(false), "band follows the price"),
        SettingSpec("band.moving_ceiling", .percent(min: zero, max: hugePercent), default: .percent("0.01"),
                    "distance of the moving band above the price"),
        SettingSpec("band.moving_floor", .percent(min: zero, max: .below(1)), default: .percent("0.01"),
                    "distance of the moving band below the price"),
        SettingSpec("band.refresh", .duration(min: .seconds(1), max: .days(30)), default: .duration(.days(1)),
                    "how often the moving band resets"),

        SettingSpec("ping_pong", .toggle, default: .bool(false), "alternate sides after fills"),

        SettingSpec("hanging.enabled", .toggle, default: .bool(false), "keep the other side of a one-sided fill"),
        SettingSpec("hanging.cancel", .percent(min: positive, max: hugePercent), default: .percent("0.1"),
                    "cancel a hanging order this far from the price"),
        SettingSpec("hanging.max_count", .integer(1...1000), optional: true, default: .integer(10),
                    "most orders that may hang at once; beyond it the farthest from the price is cancelled, with a warning"),
        SettingSpec("hanging.max_share", .percent(min: positive, max: hundredPercent), optional: true, default: .percent("0.5"),
                    "most of the inventory that hanging orders may hold (sells: of the base, buys: of the quote); beyond it the farthest is cancelled, with a warning"),

        SettingSpec("optimize.enabled", .toggle, default: .bool(false),
                    "a quote inside the book's spread moves to one tick better than the best price (dust ignored)"),
        SettingSpec("optimize.bid_depth", .decimal(unit: "amount", min: zero, max: huge), default: .decimal(0),
                    "bid-side book volume to ignore as dust"),
        SettingSpec("optimize.ask_depth", .decimal(unit: "amount", min: zero, max: huge), default: .decimal(0),
                    "ask-side book volume to ignore as dust"),

        SettingSpec("costs.enabled", .toggle, default: .bool(false), "widen prices by the maker fee"),

        SettingSpec("volatility.enabled", .toggle, default: .bool(false), "widen spreads with measured volatility"),
        SettingSpec("volatility.window", .duration(min: .seconds(10), max: .days(1)), default: .duration(.minutes(5)),
                    "how far back volatility is measured"),
        SettingSpec("volatility.multiplier", .decimal(unit: "decimal", min: zero, max: huge), default: .decimal(1),
                    "spread per unit of volatility"),
        SettingSpec("volatility.max_spread", .percent(min: zero, max: .below(1)), default: .percent("0.02"),
                    "cap on the widened spread"),

        SettingSpec("stop_loss.pct", .percent(min: positive, max: .below(1)), optional: true, default: .off,
                    "stop when portfolio value falls this far below its value at start"),
        SettingSpec("stop_loss.action", .choice(["stop", "liquidate"]), default: .text("stop"),
                    "what the stop loss does besides cancelling"),

        SettingSpec("stop_loss.basis", .choice(["value", "holding"]), default: .text("value"),
                    "value: the portfolio's value against its value at start; holding: against the value of holding the starting balances now (a profitable round trip in a falling market does not fire it)"),

        SettingSpec("risk.daily_loss", .decimal(unit: "quote", min: positive, max: huge), optional: true, default: .off,
                    "halt when today's net P&L (the day in hours.tz) falls this far below zero, in quote"),
        SettingSpec("risk.drawdown", .decimal(unit: "quote", min: positive, max: huge), optional: true, default: .off,
                    "halt when net P&L falls this far below its peak (since the start or the last resume), in quote"),
        SettingSpec("risk.reduce_at", .percent(min: positive, max: hundredPercent), default: .percent("0.75"),
                    "share of a loss limit at which only orders that bring the inventory back to its target are placed"),
        SettingSpec("risk.inventory_deviation", .percent(min: zero, max: hundredPercent), optional: true, default: .off,
                    "beyond this distance of the base share from inventory.target, only orders that bring it back"),
        SettingSpec("risk.open_notional", .decimal(unit: "quote", min: positive, max: huge), optional: true, default: .off,
                    "most value, in quote, of all open orders together (deeper levels are dropped)"),
        SettingSpec("risk.order_rate", .integer(1...100_000), optional: true, default: .off,
                    "halt when more orders than this would be placed in one minute"),
        SettingSpec("risk.resume_after", .duration(min: .seconds(1), max: .days(7)), optional: true, default: .off,
                    "a halted instance resumes by itself after this long, if its limits allow; off waits for 'resume'"),
        SettingSpec("risk.deadman", .duration(min: .seconds(1), max: .hours(24)), optional: true, default: .off,
                    "no fresh market data or no answer from MEXC for this long cancels every order until both are back"),

        SettingSpec("as.risk_factor", .decimal(unit: "decimal", min: positive, max: .atMost(1000)), default: .decimal(1),
                    "avellaneda: risk aversion γ; how far, in volatilities, a full inventory deviation moves the reservation price"),
        SettingSpec("as.amount_shape", .decimal(unit: "decimal", min: zero, max: .atMost(100)), default: .decimal(0),
                    "avellaneda: order-amount shape η; the side that would grow the inventory is sized × e^(−η·|q|)"),
        SettingSpec("as.min_spread", .percent(min: zero, max: .below(1)), default: .percent(0),
                    "avellaneda: the bid and ask are never closer together than this share of the mid"),
        SettingSpec("as.inventory_target", .percent(min: zero, max: hundredPercent), optional: true, default: .off,
                    "avellaneda: the base share q is measured from; off uses inventory.target (the risk supervisor and status follow it too)"),
        SettingSpec("as.levels", .integer(1...20), optional: true, default: .off,
                    "avellaneda: levels a side; off uses levels.count"),
        SettingSpec("as.level_distance", .percent(min: zero, max: hugePercent), default: .percent("0.5"),
                    "avellaneda: levels beyond the first are this share of the half-spread apart"),
        SettingSpec("as.volatility_buffer", .integer(10...86_400), default: .integer(200),
                    "avellaneda: mid samples (one a second) behind the volatility σ"),
        SettingSpec("as.intensity_buffer", .integer(10...100_000), default: .integer(200),
                    "avellaneda: public trades behind the order-arrival fit (α, κ)"),
        SettingSpec("as.horizon", .horizon, default: .horizon(.infinite),
                    "avellaneda: when the inventory is due at its target; outside a window nothing is quoted"),

        SettingSpec("hours.window", .hoursWindows, optional: true, default: .off,
                    "trading hours, HH:MM-HH:MM[,…] (a window may pass midnight)"),
        SettingSpec("hours.days", .weekdays, default: .days(.all), "trading days"),
        SettingSpec("hours.tz", .timeZone, default: .text("UTC"), "time zone of the trading hours"),

        SettingSpec("sim.mid", .decimal(unit: "price", min: positive, max: huge), default: .decimal(60000),
                    "starting mid price of the simulated market"),
        SettingSpec("sim.spread", .percent(min: zero, max: .below(1)), default: .percent("0.0005"),
                    "the simulated market's own spread"),
        SettingSpec("sim.volatility", .percent(min: zero, max: .atMost("0.5")), default: .percent("0.001"),
                    "standard deviation of mid returns per minute; 0 holds the price (and, on sim serve, the participants' book) still"),
        SettingSpec("sim.takers", .decimal(unit: "per minute", min: zero, max: .atMost(6000)), default: .decimal(30),
                    "taker orders arriving per minute; 0 means nobody trades"),
        SettingSpec("sim.seed", .seed, default: .seed(nil), "seed of the simulated market"),
        SettingSpec("sim.base", .decimal(unit: "amount", min: zero, max: huge), default: .decimal("0.1"),
                    "starting base balance of the simulated account"),
        SettingSpec("sim.quote", .decimal(unit: "amount", min: zero, max: huge), default: .decimal(6000),
                    "starting quote balance of the simulated account"),
        SettingSpec("sim.fee", .percent(min: zero, max: .below("0.1")), default: .percent(0),
                    "maker fee of the simulated account"),
        SettingSpec("sim.tick", .decimal(unit: "decimal", min: positive, max: huge), default: .decimal("0.01"),
                    "price tick of the simulated pair"),
        SettingSpec("sim.step", .decimal(unit: "decimal", min: positive, max: huge), default: .decimal("0.000001"),
                    "amount step of the simulated pair"),
        SettingSpec("sim.min_notional", .decimal(unit: "decimal", min: zero, max: huge), default: .decimal(1),
                    "minimum order value, in quote, of the simulated pair"),

        SettingSpec("mexc.rest_url", .url(schemes: ["https", "http"]), default: .text("https://api.mexc.com"),
                    "MEXC REST endpoint"),
        SettingSpec("mexc.ws_url", .url(schemes: ["wss", "ws"]), default: .text("wss://wbs-api.mexc.com/ws"),
                    "MEXC WebSocket endpoint"),

        SettingSpec("mexc.streams", .toggle, default: .bool(true),
                    "live: the book, fills and balances from MEXC's WebSocket streams (REST polling while they are down); off polls REST only"),
        SettingSpec("market.stale_after", .duration(min: .seconds(1), max: .minutes(10)), default: .duration(.seconds(5)),
                    "with no fresh book for this long, cancel the quotes until market data is fresh again"),

        SettingSpec("orphans", .choice(["cancel", "adopt"]), default: .text("cancel"),
                    "orders of an earlier run found open at start: cancel them, or adopt them as this run's"),

        SettingSpec("autostart", .toggle, default: .bool(false),
                    "start again by itself when the engine comes back after a crash (orphaned orders reconciled as at start)"),

        SettingSpec("record", .toggle, default: .bool(false),
                    "record the instance's market (MEXC's streams, as 'record PAIR' does) while it runs, into recordings/ in the data directory (paper and live venues)"),

        SettingSpec("log.keep", .integer(100...1_000_000), default: .integer(10_000), "newest log entries kept"),
    ]

    public static let keys: [String] = specs.map(\.key)

    /// When a change reaches a running instance. The venue's connections, its keys and the
    /// simulated market are made at start, so their settings wait for the next start; what
    /// identifies the market cannot change while the instance runs.
    public static func timing(_ key: String) -> SettingTiming {
        if key == "venue" || key == "pair" { return .whileStopped }
        if key.hasPrefix("sim.") || key.hasPrefix("mexc.") || ["account", "market.stale_after", "orphans", "record"].contains(key) { return .nextStart }
        return .nextDecision
    }
    private static let byKey: [String: SettingSpec] = Dictionary(uniqueKeysWithValues: specs.map { ($0.key, $0) })

    public static func spec(_ key: String) -> SettingSpec? { byKey[key] }

    /// Names a user may reach for, by meaning rather than spelling: Hummingbot's own parameter
    /// names and common paraphrases, each with the setting that does that here.
    public static let meanings: [String: String] = [
        "order.refresh": "refresh.time", "refresh": "refresh.time", "order_refresh_time": "refresh.time",
        "order_refresh_tolerance_pct": "refresh.tolerance", "max_order_age": "refresh.max_age", "filled_order_delay": "refresh.fill_delay",
        "bid_spread": "spread.bid", "ask_spread": "spread.ask", "minimum_spread": "spread.min", "spread": "spread.bid",
        "order_amount": "order.amount", "order.size": "order.amount", "size": "order.amount", "amount": "order.amount",
        "order_levels": "levels.count", "levels": "levels.count", "order_level_spread": "levels.spread", "order_level_amount": "levels.amount",
        "inventory_skew_enabled": "inventory.skew", "inventory_target_base_pct": "inventory.target",
        "inventory_range_multiplier": "inventory.range", "price_ceiling": "band.ceiling", "price_floor": "band.floor",
        "moving_price_band_enabled": "band.moving", "ping_pong_enabled": "ping_pong", "hanging_orders_enabled": "hanging.enabled",
        "hanging_orders_cancel_pct": "hanging.cancel", "order_optimization_enabled": "optimize.enabled",
        "ask_order_optimization_depth": "optimize.ask_depth", "bid_order_optimization_depth": "optimize.bid_depth",
        "add_transaction_costs": "costs.enabled", "price_type": "price.source", "price_source": "price.source",
        "inventory_price": "price.inventory_cost", "stop_loss": "stop_loss.pct", "max_position": "position.max",
        "risk_factor": "as.risk_factor", "gamma": "as.risk_factor", "order_amount_shape_factor": "as.amount_shape", "eta": "as.amount_shape",
        "min_spread": "as.min_spread", "level_distances": "as.level_distance", "volatility_buffer_size": "as.volatility_buffer",
        "trading_intensity_buffer_size": "as.intensity_buffer", "execution_timeframe": "as.horizon", "horizon": "as.horizon",
        "market": "pair", "symbol": "pair", "trading_pair": "pair", "exchange": "venue", "max_loss": "risk.daily_loss",
    ]

    /// The spec for `key`, or an error naming the closest key, by meaning or by spelling.
    public static func lookup(_ key: String) throws(SettingError) -> SettingSpec {
        if let s = byKey[key.lowercased()] { return s }
        let hint = (meanings[key.lowercased()] ?? Suggest.closest(to: key.lowercased(), in: keys)).map { " (did you mean '\($0)'?)" } ?? ""
        throw SettingError("unknown setting '\(key)'\(hint); 'settings' lists them all")
    }
}

/// The settings of one instance: the values that differ from the defaults.
public struct Settings: Sendable, Hashable {
    public private(set) var overrides: [String: SettingValue]

    public init(overrides: [String: SettingValue] = [:]) { self.overrides = overrides }

    public subscript(key: String) -> SettingValue {
        overrides[key] ?? Catalog.spec(key)!.defaultValue
    }

    public func isChanged(_ key: String) -> Bool { overrides[key] != nil }

    /// Sets a value; a value equal to the default is stored as no override.
    public mutating func set(_ key: String, _ value: SettingValue) {
        if Catalog.spec(key)?.defaultValue == value { overrides[key] = nil } else { overrides[key] = value }
    }

    public mutating func reset(_ key: String) { overrides[key] = nil }

    /// Settings from their stored text. A key this version does not know, or a value it cannot
    /// read, keeps its default here (the stored text is left as it is) and is named in `problems`.
    public static func stored(_ raw: [String: String], instance id: Int) -> (settings: Settings, problems: [String]) {
        var settings = Settings()
        var problems: [String] = []
        for (key, text) in raw.sorted(by: { $0.key < $1.key }) {
            guard let spec = Catalog.spec(key) else {
                problems.append("instance \(id): stored setting '\(key)' is unknown to this mmsh; ignored")
                continue
            }
            do { settings.set(key, try spec.parse(text)) } catch {
                problems.append("instance \(id): stored \(key) '\(text)' is not valid (\(error.message)); using the default")
            }
        }
        return (settings, problems)
    }

    /// Rules that span keys. Checked after every change, before anything is stored.
    public func validate() throws(SettingError) {
        if let lo = self["order.min"].decimal, let hi = self["order.max"].decimal, lo > hi {
            throw SettingError("order.min (\(lo)) must not exceed order.max (\(hi))")
        }
        if let floor = self["band.floor"].decimal, let ceiling = self["band.ceiling"].decimal, floor >= ceiling {
            throw SettingError("band.floor (\(floor)) must be below band.ceiling (\(ceiling))")
        }
    }

    /// The value of `key` as text, normalized.
    public func text(_ key: String) -> String { Catalog.spec(key)!.render(self[key]) }

    // Typed accessors for the engine and strategy.
    public var venue: String { self["venue"].text! }
    public var pair: String { self["pair"].text! }
}

/// Across the engine's API: the overrides as their stored text, read back exactly
/// (`parse(render(v)) == v`); a key or value that does not parse is an error, not a default.
extension Settings: Codable {
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: String].self)
        var settings = Settings()
        for (key, text) in raw {
            guard let spec = Catalog.spec(key) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown setting '\(key)'"))
            }
            do { settings.set(key, try spec.parse(text)) } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
            }
        }
        self = settings
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Dictionary(uniqueKeysWithValues: overrides.map { ($0.key, Catalog.spec($0.key)!.render($0.value)) }))
    }
}
