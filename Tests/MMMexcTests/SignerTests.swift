import Foundation
import MMCore
import MMStrategy
import Testing
@testable import MMMexc

struct SigningVectors: Decodable {
    struct Vector: Decodable {
        var description: String
        var totalParams: String
        var signature: String
    }
    var apiKey: String
    var secretKey: String
    var vectors: [Vector]

    static func load() throws -> SigningVectors {
        let url = Bundle.module.url(forResource: "mexc-signing-test-vectors", withExtension: "json", subdirectory: "Fixtures")!
        return try JSONDecoder().decode(SigningVectors.self, from: Data(contentsOf: url))
    }
}

@Suite struct SignerTests {
    @Test func everySigningVector() throws {
        let v = try SigningVectors.load()
        #expect(v.vectors.count == 9)
        for vector in v.vectors {
            #expect(MEXCSigner.signature(vector.totalParams, secret: v.secretKey) == vector.signature, "\(vector.description)")
        }
    }

    @Test func signedQueryPutsRecvWindowAndTimestampLast() throws {
        let v = try SigningVectors.load()
        let q = MEXCSigner.signedQuery([("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "1"), ("price", "11")],
                                       timestamp: 1_644_489_390_087, secret: v.secretKey)
        #expect(q == "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
                + "&signature=fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a")
        let cancel = MEXCSigner.signedQuery([("symbol", "MXUSDT"), ("origClientOrderId", "mm-bid-0001")], timestamp: 1_644_489_390_087,
                                            secret: v.secretKey)
        #expect(cancel.hasSuffix("&signature=1056a7578ae04f2c1cac84f2e52a068d452a8533df201fe6686a5a228e407cd3"))
    }

    /// The batch vector: a compact JSON array, percent-encoded with uppercase hex.
    @Test func batchOrdersEncodeExactly() throws {
        let v = try SigningVectors.load()
        let json = #"[{"symbol":"MXUSDT","side":"BUY","type":"LIMIT","quantity":"50","price":"0.1","newClientOrderId":"mm-1"},{"symbol":"MXUSDT","side":"SELL","type":"LIMIT_MAKER","quantity":"50","price":"0.2"}]"#
        let total = MEXCSigner.query([("batchOrders", json), ("recvWindow", "5000"), ("timestamp", "1644489390087")])
        let vector = v.vectors.first { $0.description.hasPrefix("POST /api/v3/batchOrders") }!
        #expect(total == vector.totalParams)
        #expect(MEXCSigner.signature(total, secret: v.secretKey) == vector.signature)
    }

    @Test func encodingKeepsOnlyUnreserved() {
        #expect(MEXCSigner.encode("a-Z_0.9~") == "a-Z_0.9~")
        #expect(MEXCSigner.encode("[{\",}] /+é") == "%5B%7B%22%2C%7D%5D%20%2F%2B%C3%A9")
    }
}

@Suite struct ExchangeInfoTests {
    @Test func capturedExchangeInfoGivesTheMarketRules() throws {
        let url = Bundle.module.url(forResource: "exchangeInfo-BROCKUSDT", withExtension: "json", subdirectory: "Fixtures")!
        let info = try JSONDecoder().decode(ExchangeInfo.self, from: Data(contentsOf: url))
        #expect(info.serverTime == 1_737_623_435_453)
        let s = try #require(info.symbols.first)
        #expect(s.symbol == "BROCKUSDT" && s.baseAsset == "BROCK" && s.quoteAsset == "USDT")
        let rules = try s.rules()
        #expect(rules.tick == Dec("0.00001") && rules.step == Dec("0.01"))
        #expect(rules.minQuantity == 0 && rules.minNotional == 1 && rules.makerFee == Dec("0.0005"))
        try s.checkTradable()
    }

    @Test func numbersAsStringsOrNumbersAndUntradableSymbols() throws {
        let json = #"{"symbols":[{"symbol":"XUSDT","status":"2","baseAsset":"X","quoteAsset":"USDT","baseAssetPrecision":"4","quotePrecision":6,"quoteAmountPrecision":5,"makerCommission":0.001,"isSpotTradingAllowed":true,"tradeSideType":"1"},{"symbol":"YUSDT","status":1,"baseAsset":"Y","quoteAsset":"USDT","baseAssetPrecision":2,"quotePrecision":2,"tradeSideType":2}]}"#
        let info = try JSONDecoder().decode(ExchangeInfo.self, from: Data(json.utf8))
        let x = try info.symbols[0].rules()
        #expect(x.tick == Dec("0.000001") && x.step == Dec("0.0001") && x.minNotional == 5 && x.makerFee == Dec("0.001"))
        #expect(throws: UntradableSymbol(reason: "XUSDT is not open for trading (status 2)")) { try info.symbols[0].checkTradable() }
        #expect(throws: UntradableSymbol(reason: "YUSDT accepts orders on one side only (tradeSideType 2); market making needs both")) {
            try info.symbols[1].checkTradable()
        }
    }
}
