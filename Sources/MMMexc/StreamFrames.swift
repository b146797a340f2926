import Foundation
import MMCore
import MMProto
import MMStrategy
import SwiftProtobuf

/// A change of the book from `spot@public.aggre.depth…`: levels with their new, absolute
/// quantities (0 removes the level), covering versions `fromVersion…toVersion`.
public struct DepthDiff: Sendable, Equatable {
    public var fromVersion: Int64
    public var toVersion: Int64
    public var bids: [BookLevel]
    public var asks: [BookLevel]
    public init(fromVersion: Int64, toVersion: Int64, bids: [BookLevel], asks: [BookLevel]) {
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.bids = bids
        self.asks = asks
    }
}

/// A public trade from `spot@public.aggre.deals…`.
public struct PublicDeal: Sendable, Equatable {
    public var price: Dec
    public var quantity: Dec
    /// The side of the taker.
    public var takerSide: Side
    public var time: Int64
    public var tradeId: String
}

/// One of the account's orders as `spot@private.orders…` reports it.
public struct OrderUpdate: Sendable, Equatable {
    public var orderId: String
    public var clientId: String
    public var side: Side
    public var price: Dec
    public var quantity: Dec
    public var executed: Dec
    /// As REST names it: NEW, FILLED, PARTIALLY_FILLED, CANCELED, PARTIALLY_CANCELED (the
    /// stream's 1 to 5; 5 is terminal).
    public var status: String
    public var time: Int64
}

/// One of the account's fills from `spot@private.deals…`.
public struct PrivateDeal: Sendable, Equatable {
    public var tradeId: String
    public var orderId: String
    public var clientId: String
    public var side: Side
    public var price: Dec
    public var quantity: Dec
    public var fee: Dec
    public var feeAsset: String
    public var isMaker: Bool
    public var time: Int64
}

/// A balance from `spot@private.account…`: free and frozen (locked).
public struct BalanceUpdate: Sendable, Equatable {
    public var asset: String
    public var free: Dec
    public var locked: Dec
    public var time: Int64
}

/// What one data frame carries.
public enum StreamEvent: Sendable, Equatable {
    case depth(symbol: String, DepthDiff)
    /// A whole top of the book (limit depth), with its version.
    case topOfBook(symbol: String, version: Int64, bids: [BookLevel], asks: [BookLevel])
    case bookTicker(symbol: String, bid: BookLevel, ask: BookLevel)
    case deals(symbol: String, [PublicDeal])
    case order(symbol: String, OrderUpdate)
    case fill(symbol: String, PrivateDeal)
    case balance(BalanceUpdate)
    /// A channel mmsh does not read.
    case ignored(channel: String)
}

/// Turns MEXC's binary frames into `StreamEvent`s. A frame that is not a wrapper, or whose
/// numbers do not read, is `malformed`: never a crash, never a half-read event.
public enum StreamFrames {
    public static func decode(_ bytes: Data) throws(MEXCFailure) -> StreamEvent {
        // Depth diffs, nearly every frame, are read directly; the rest (and any depth frame the
        // direct reader does not take whole) through SwiftProtobuf.
        if let event = DirectProto.depthFrame(bytes) { return event }
        return try decodeWithSwiftProtobuf(bytes)
    }

    /// Every frame through SwiftProtobuf's messages: what `decode` falls back to, and what the
    /// `StreamFrame` fuzz target checks the direct reader against.
    public static func decodeWithSwiftProtobuf(_ bytes: Data) throws(MEXCFailure) -> StreamEvent {
        let w: PushDataV3ApiWrapper
        do { w = try PushDataV3ApiWrapper(serializedBytes: bytes) } catch {
            throw .malformed("frame: \(error)")
        }
        return try event(w)
    }

    static func dec(_ text: String, _ what: String) throws(MEXCFailure) -> Dec {
        guard let d = Dec(exchange: text) else { throw .malformed("\(what): '\(text)' is not a decimal") }
        return d
    }

    static func version(_ text: String, _ what: String) throws(MEXCFailure) -> Int64 {
        guard let v = Int64(text), v >= 0 else { throw .malformed("\(what): '\(text)' is not a version") }
        return v
    }

    static func side(_ tradeType: Int32) throws(MEXCFailure) -> Side {
        switch tradeType {
        case 1: .buy
        case 2: .sell
        default: throw .malformed("tradeType \(tradeType)")
        }
    }

    static func levels(_ items: [PublicAggreDepthV3ApiItem]) throws(MEXCFailure) -> [BookLevel] {
        var out: [BookLevel] = []
        out.reserveCapacity(items.count)
        for item in items { out.append(BookLevel(try dec(item.price, "price"), try dec(item.quantity, "quantity"))) }
        return out
    }

    static func levels(_ items: [PublicLimitDepthV3ApiItem]) throws(MEXCFailure) -> [BookLevel] {
        var out: [BookLevel] = []
        out.reserveCapacity(items.count)
        for item in items { out.append(BookLevel(try dec(item.price, "price"), try dec(item.quantity, "quantity"))) }
        return out
    }

    static func event(_ w: PushDataV3ApiWrapper) throws(MEXCFailure) -> StreamEvent {
        let symbol = w.hasSymbol ? w.symbol : String(w.channel.split(separator: "@").last ?? "")
        switch w.body {
        case .publicAggreDepths(let d)?:
            return .depth(symbol: symbol, DepthDiff(fromVersion: try version(d.fromVersion, "fromVersion"), toVersion: try version(d.toVersion, "toVersion"),
                                                    bids: try levels(d.bids), asks: try levels(d.asks)))
        case .publicLimitDepths(let d)?:
            return .topOfBook(symbol: symbol, version: try version(d.version, "version"),
                              bids: try levels(d.bids), asks: try levels(d.asks))
        case .publicAggreBookTicker(let t)?:
            return .bookTicker(symbol: symbol, bid: BookLevel(try dec(t.bidPrice, "bidPrice"), try dec(t.bidQuantity, "bidQuantity")),
                               ask: BookLevel(try dec(t.askPrice, "askPrice"), try dec(t.askQuantity, "askQuantity")))
        case .publicAggreDeals(let d)?:
            var deals: [PublicDeal] = []
            for item in d.deals {
                deals.append(PublicDeal(price: try dec(item.price, "price"), quantity: try dec(item.quantity, "quantity"),
                                        takerSide: try side(item.tradeType), time: item.time, tradeId: item.tradeID))
            }
            return .deals(symbol: symbol, deals)
        case .privateOrders(let o)?:
            let names = ["NEW", "FILLED", "PARTIALLY_FILLED", "CANCELED", "PARTIALLY_CANCELED"]
            guard (1...5).contains(o.status) else { throw .malformed("order status \(o.status)") }
            let status = names[Int(o.status) - 1]
            return .order(symbol: symbol, OrderUpdate(orderId: o.id, clientId: o.clientID, side: try side(o.tradeType), price: try dec(o.price, "price"),
                                                      quantity: try dec(o.quantity, "quantity"),
                                                      executed: try dec(o.cumulativeQuantity.isEmpty ? "0" : o.cumulativeQuantity, "cumulativeQuantity"),
                                                      status: status, time: o.createTime))
        case .privateDeals(let d)?:
            return .fill(symbol: symbol, PrivateDeal(tradeId: d.tradeID, orderId: d.orderID, clientId: d.clientOrderID, side: try side(d.tradeType),
                                                     price: try dec(d.price, "price"), quantity: try dec(d.quantity, "quantity"),
                                                     fee: try dec(d.feeAmount.isEmpty ? "0" : d.feeAmount, "feeAmount"), feeAsset: d.feeCurrency,
                                                     isMaker: d.isMaker, time: d.time))
        case .privateAccount(let a)?:
            return .balance(BalanceUpdate(asset: a.vcoinName, free: try dec(a.balanceAmount, "balanceAmount"),
                                          locked: try dec(a.frozenAmount.isEmpty ? "0" : a.frozenAmount, "frozenAmount"), time: a.time))
        case nil:
            return .ignored(channel: w.channel)
        }
    }
}
