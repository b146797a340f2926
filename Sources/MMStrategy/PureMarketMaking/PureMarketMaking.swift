import Foundation
import MMCore

/// Hummingbot's pure market making: a ladder at configured spreads around a reference price,
/// with its price bands, ping-pong, volatility spreads and inventory skew. Its memory (the
/// bands, the ping-pong counters, the sampled mids, the cost basis) is in `StrategyState`, where
/// the fills that change it are applied.
public struct PureMarketMaking: QuoteModel {
    public struct State: Sendable, Equatable, Codable {}
    public static let name = "pmm"

    public init(_ settings: Settings) {}
    public func makeState() -> State { State() }

    public func quote(_ input: QuoteInput, state _: inout State, shared state: inout StrategyState, config c: StrategyConfig,
                      dropped: inout [DroppedOrder], trace: inout Trace) -> ModelQuote {
        let view = input.view, now = view.now
        if state.costBase == nil, let cost = c.inventoryCost {
            state.costBase = view.balances.base.total
            state.costQuote = view.balances.base.total * cost
        }
        let ref = Self.reference(view, state: state, source: c.priceSource, mid: input.mid, trace: &trace)
        Volatility.sample(&state, now: now, mid: input.mid, window: c.volatilityWindow)
        guard input.wantsLadder else { return ModelQuote(reference: ref, levelSpacing: c.levelSpread) }

        var bidSpread = c.bidSpread, askSpread = c.askSpread
        if c.volatility {
            (bidSpread, askSpread) = Volatility.spreads(state, config: c, now: now, trace: &trace)
        }
        var p = Steps.baseLadder(ref, bidSpread: bidSpread, askSpread: askSpread, config: c, rules: view.rules, dropped: &dropped, trace: &trace)
        // The bands are evaluated at the price source (the mid for inventory cost): the static
        // band first, then the moving one; either can empty a side.
        let price = ref.buy
        p = Steps.priceBand(consume p, price: price, ceiling: c.bandCeiling, floor: c.bandFloor, dropped: &dropped, trace: &trace)
        if c.movingBand {
            let (ceiling, floor) = Self.movingBand(&state, price: price, now: now, config: c, trace: &trace)
            p = Steps.priceBand(consume p, price: price, ceiling: ceiling, floor: floor, name: "moving band", dropped: &dropped, trace: &trace)
        }
        if c.pingPong { p = Steps.pingPong(consume p, filledBuys: state.filledBuys, filledSells: state.filledSells, dropped: &dropped, trace: &trace) }
        // The skew changes sizes only, so it may come before the steps that move prices.
        if c.skew {
            let f = input.funds
            p = Steps.inventorySkew(consume p, base: f.base + f.hangingSells, quote: f.quote + f.hangingQuote, price: price,
                                    config: c, rules: view.rules, dropped: &dropped, trace: &trace)
        }
        return ModelQuote(reference: ref, ladder: p, levelSpacing: c.levelSpread)
    }

    static func reference(_ view: MarketView, state: StrategyState, source: StrategyConfig.PriceSource, mid: Dec,
                          trace: inout Trace) -> Reference {
        let price: Dec
        switch source {
        case .mid: price = mid
        case .best_bid: price = view.book.bestBid!
        case .best_ask: price = view.book.bestAsk!
        case .last:
            price = view.lastTrade ?? mid
            if view.lastTrade == nil { trace.add("price: no trade yet, using the mid \(mid)") }
        case .last_own_trade:
            price = state.lastOwnTrade ?? mid
            if state.lastOwnTrade == nil { trace.add("price: no own trade yet, using the mid \(mid)") }
        case .inventory_cost:
            // As the reference: buys from the market price (the mid), sells from the higher of the
            // cost basis and the mid, so that nothing is sold below what it cost.
            if let base = state.costBase, base.isPositive {
                let cost = state.costQuote.divided(by: base, scale: 18)
                let sell = Swift.max(cost, mid)
                trace.add("price: mid \(mid) for buys; inventory cost \(cost.rounded(places: 8)), so \(sell.rounded(places: 8)) for sells")
                return Reference(buy: mid, sell: sell)
            }
            price = mid
            trace.add("price: no inventory cost yet, using the mid \(mid)")
        }
        trace.add("price: \(source.rawValue) \(price)")
        return Reference(buy: price, sell: price)
    }

    /// The moving band (reset every `band.refresh`).
    static func movingBand(_ state: inout StrategyState, price: Dec, now: Int64, config c: StrategyConfig,
                           trace: inout Trace) -> (Dec?, Dec?) {
        if state.band == nil || state.band!.resetAt <= now {
            state.band = (price * (1 + c.movingCeiling), price * (1 - c.movingFloor), now + c.bandRefresh)
            trace.add("band: moving band reset to \(state.band!.floor.rounded(places: 8))–\(state.band!.ceiling.rounded(places: 8))")
        }
        return (state.band!.ceiling, state.band!.floor)
    }
}

/// Volatility-adjusted spreads from the mid sampled once a second.
public enum Volatility {
    static func sample(_ state: inout StrategyState, now: Int64, mid: Dec, window: Int64) {
        let second = now / 1000
        guard state.mids.last.map({ $0.second < second }) ?? true else { return }
        let value = mid.doubleValue
        if let last = state.mids.last, last.mid > 0, value > 0 {
            let r = log(value / last.mid)
            state.returnSum += r
            state.returnSquares += r * r
        }
        state.mids.append((second, value))
        // Keep one sample at or before the window's start so that a full window can be told.
        let start = (now - window) / 1000
        var drop = 0
        while state.mids.count - drop > 2 && state.mids[drop + 1].second <= start {
            let (a, b) = (state.mids[drop].mid, state.mids[drop + 1].mid)
            if a > 0, b > 0 {
                let r = log(b / a)
                state.returnSum -= r
                state.returnSquares -= r * r
            }
            drop += 1
        }
        if drop > 0 { state.mids.removeFirst(drop) }
    }

    /// Sample standard deviation of the log returns between consecutive samples (per second).
    public static func sigma(_ mids: [(second: Int64, mid: Double)]) -> Double? {
        var state = StrategyState()
        for m in mids { sample(&state, now: m.second * 1000, mid: Dec(fraction: m.mid), window: Int64.max / 2) }
        return sigma(state)
    }

    static func sigma(_ state: StrategyState) -> Double? {
        let n = Double(state.mids.count - 1)
        guard n >= 2 else { return nil }
        let variance = (state.returnSquares - state.returnSum * state.returnSum / n) / (n - 1)
        return max(variance, 0).squareRoot()
    }

    static func spreads(_ state: StrategyState, config c: StrategyConfig, now: Int64, trace: inout Trace) -> (Dec, Dec) {
        guard let first = state.mids.first, first.second * 1000 <= now - c.volatilityWindow, let sigma = sigma(state) else {
            trace.add("volatility: window of \(TimeSpan(milliseconds: c.volatilityWindow)) not filled yet; configured spreads apply")
            return (c.bidSpread, c.askSpread)
        }
        let measured = Dec(fraction: c.volatilityMultiplier.doubleValue * sigma * (Double(c.refreshTime) / 1000).squareRoot())
        func adjust(_ s: Dec) -> Dec { Swift.min(Swift.max(s, measured), c.volatilityMaxSpread) }
        let (bid, ask) = (adjust(c.bidSpread), adjust(c.askSpread))
        trace.add("volatility: σ \(String(format: "%.6f", sigma))/s → spreads bid \(Steps.pct(bid)), ask \(Steps.pct(ask)) (cap \(Steps.pct(c.volatilityMaxSpread)))")
        return (bid, ask)
    }
}
