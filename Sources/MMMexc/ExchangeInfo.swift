import Foundation
import MMCore
import MMStrategy

/// A value MEXC sends sometimes as a string and sometimes as a number, kept as its text.
public struct FlexibleText: Decodable, Sendable, Equatable {
    public var text: String
    init(text: String) { self.text = text }
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { text = s; return }
        if let i = try? c.decode(Int64.self) { text = String(i); return }
        if let b = try? c.decode(Bool.self) { text = b ? "true" : "false"; return }
        // A JSON number with a fraction: Foundation's Decimal keeps its digits exactly (never a Double).
        text = try c.decode(Decimal.self).description
    }

    /// The value as an exact decimal.
    public func decimal() throws(MEXCFailure) -> Dec {
        guard let d = Dec(exchange: text) else { throw .malformed("'\(text)' is not a decimal") }
        return d
    }
}

/// One symbol of `GET /api/v3/exchangeInfo`, as MEXC sends it.
public struct SymbolInfo: Decodable, Sendable {
    public var symbol: String
    public var status: FlexibleText
    public var baseAsset: String
    public var quoteAsset: String
    public var baseAssetPrecision: FlexibleText
    public var quotePrecision: FlexibleText
    public var baseSizePrecision: FlexibleText?
    public var quoteAmountPrecision: FlexibleText?
    public var makerCommission: FlexibleText?
    public var isSpotTradingAllowed: Bool?
    public var tradeSideType: FlexibleText?
    public var permissions: [String]?
}

public struct ExchangeInfo: Decodable, Sendable {
    public var serverTime: Int64?
    public var symbols: [SymbolInfo]
}

/// Why a symbol cannot be traded by mmsh through the API.
public struct UntradableSymbol: Error, Equatable, Sendable {
    public var reason: String
}

extension SymbolInfo {
    /// The market rules: tick 10^-quotePrecision, step 10^-baseAssetPrecision, minimum quantity
    /// baseSizePrecision, minimum notional quoteAmountPrecision, maker fee makerCommission.
    public func rules() throws(UntradableSymbol) -> MarketRules {
        guard let pricePlaces = Int(quotePrecision.text), let amountPlaces = Int(baseAssetPrecision.text),
              (0...18).contains(pricePlaces), (0...18).contains(amountPlaces) else {
            throw UntradableSymbol(reason: "\(symbol): unreadable precisions")
        }
        func dec(_ t: FlexibleText?) -> Dec { t.flatMap { Dec($0.text) } ?? 0 }
        return MarketRules(tick: Dec(mantissa: 1, scale: pricePlaces), step: Dec(mantissa: 1, scale: amountPlaces),
                           minQuantity: dec(baseSizePrecision), minNotional: dec(quoteAmountPrecision),
                           makerFee: dec(makerCommission))
    }

    /// Refuses a symbol that is not open, not spot-tradable or limited to one side.
    public func checkTradable() throws(UntradableSymbol) {
        guard status.text == "1" || status.text.uppercased() == "ENABLED" else {
            throw UntradableSymbol(reason: "\(symbol) is not open for trading (status \(status.text))")
        }
        guard isSpotTradingAllowed ?? true else { throw UntradableSymbol(reason: "\(symbol): spot trading is not allowed") }
        if let side = tradeSideType?.text, side != "1" {
            throw UntradableSymbol(reason: "\(symbol) accepts orders on one side only (tradeSideType \(side)); market making needs both")
        }
    }
}
