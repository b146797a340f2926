import Foundation
import MMCore

/// The settings the strategy uses, typed. Built once per settings change, never per decision.
public struct StrategyConfig: Sendable {
    public enum PriceSource: String, Sendable { case mid, last, best_bid, best_ask, last_own_trade, inventory_cost }
    public enum StopLossAction: String, Sendable { case stop, liquidate }

    public var orderAmount: Dec
    public var orderMin: Dec?
    public var orderMax: Dec?
    public var positionMax: Dec?
    public var bidSpread: Dec
    public var askSpread: Dec
    public var minSpread: Dec?
    public var levels: Int
    public var levelSpread: Dec
    public var levelAmount: Dec
    /// Milliseconds.
    public var refreshTime: Int64
    /// nil: always replace.
    public var refreshTolerance: Dec?
    public var maxAge: Int64
    public var fillDelay: Int64
    public var priceSource: PriceSource
    public var inventoryCost: Dec?
    public var skew: Bool
    public var inventoryTarget: Dec
    public var inventoryRange: Dec
    public var bandCeiling: Dec?
    public var bandFloor: Dec?
    public var movingBand: Bool
    public var movingCeiling: Dec
    public var movingFloor: Dec
    public var bandRefresh: Int64
    public var pingPong: Bool
    public var hanging: Bool
    public var hangingCancel: Dec
    public var hangingMaxCount: Int?
    public var hangingMaxShare: Dec?
    public var optimize: Bool
    public var bidDepth: Dec
    public var askDepth: Dec
    public var costs: Bool
    public var volatility: Bool
    public var volatilityWindow: Int64
    public var volatilityMultiplier: Dec
    public var volatilityMaxSpread: Dec
    public var stopLoss: Dec?
    public var stopLossAction: StopLossAction
    /// Against holding the starting balances (true), or the value at start.
    public var stopLossAgainstHolding: Bool
    public var hours: [HoursWindow]?
    public var days: WeekdaySet
    public var timeZone: TimeZone
    /// The strategy's own part of the decision, with its configuration.
    public var model: any QuoteModel

    /// How many levels a side of the book a decision reads: the touch alone, or with order
    /// optimization as deep as a venue's snapshot goes (it walks the levels to `bidDepth` and
    /// `askDepth`). A backtest's venue builds its book this deep at every decision, where a
    /// copy of 100 levels a side took a seventh of the run.
    public var bookDepth: Int { optimize ? Self.snapshotDepth : 1 }
    /// The levels a side of a live or paper snapshot (the simulated venue shows its whole book).
    public static let snapshotDepth = 100

    public init(_ s: Settings) {
        func dec(_ k: String) -> Dec { s[k].decimal! }
        func optDec(_ k: String) -> Dec? { s[k].decimal }
        func pct(_ k: String) -> Dec { s[k].fraction! }
        func ms(_ k: String) -> Int64 { s[k].duration!.milliseconds }
        func on(_ k: String) -> Bool { s[k].bool! }
        orderAmount = dec("order.amount")
        orderMin = optDec("order.min")
        orderMax = optDec("order.max")
        positionMax = optDec("position.max")
        bidSpread = pct("spread.bid")
        askSpread = pct("spread.ask")
        minSpread = s["spread.min"].fraction
        levels = s["levels.count"].integer!
        levelSpread = pct("levels.spread")
        levelAmount = dec("levels.amount")
        refreshTime = ms("refresh.time")
        refreshTolerance = s["refresh.tolerance"].fraction
        maxAge = ms("refresh.max_age")
        fillDelay = ms("refresh.fill_delay")
        priceSource = PriceSource(rawValue: s["price.source"].text!)!
        inventoryCost = optDec("price.inventory_cost")
        skew = on("inventory.skew")
        // Avellaneda–Stoikov may have a target of its own; the risk supervisor and status follow it.
        inventoryTarget = (s["strategy"].text == "avellaneda" ? s["as.inventory_target"].fraction : nil) ?? pct("inventory.target")
        inventoryRange = dec("inventory.range")
        bandCeiling = optDec("band.ceiling")
        bandFloor = optDec("band.floor")
        movingBand = on("band.moving")
        movingCeiling = pct("band.moving_ceiling")
        movingFloor = pct("band.moving_floor")
        bandRefresh = ms("band.refresh")
        pingPong = on("ping_pong")
        hanging = on("hanging.enabled")
        hangingCancel = pct("hanging.cancel")
        hangingMaxCount = s["hanging.max_count"].integer
        hangingMaxShare = s["hanging.max_share"].fraction
        optimize = on("optimize.enabled")
        bidDepth = dec("optimize.bid_depth")
        askDepth = dec("optimize.ask_depth")
        costs = on("costs.enabled")
        volatility = on("volatility.enabled")
        volatilityWindow = ms("volatility.window")
        volatilityMultiplier = dec("volatility.multiplier")
        volatilityMaxSpread = pct("volatility.max_spread")
        stopLoss = s["stop_loss.pct"].fraction
        stopLossAction = StopLossAction(rawValue: s["stop_loss.action"].text!)!
        stopLossAgainstHolding = s["stop_loss.basis"].text == "holding"
        if case .hours(let w) = s["hours.window"] { hours = w } else { hours = nil }
        if case .days(let d) = s["hours.days"] { days = d } else { days = .all }
        timeZone = TimeZone(identifier: s["hours.tz"].text!) ?? TimeZone(identifier: "UTC")!
        model = QuoteModels.make(s)
    }
}
