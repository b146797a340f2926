import Foundation
import MMCore
import Testing
@testable import MMMexc

func fixture(_ name: String) throws -> Data {
    try Data(contentsOf: Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/mexc-net")!)
}

/// The exact decimal of a field, for comparisons inside expectations.
func d(_ t: FlexibleText?) -> Dec? { t.flatMap { try? $0.decimal() } }

/// Every captured response parsed into our types, with the right values.
@Suite struct ResponseTests {
    @Test func account() throws {
        let a = try decodeMEXC(AccountInfo.self, from: fixture("Account_GetAccountInfo"))
        #expect(a.canTrade == true && a.balances.count == 2)
        let nbn = try a.balance("NBNTEST")
        #expect(nbn.free == 1_111_078 && nbn.locked == 33)
        #expect(try a.balance("USDT") == (0, 0))
    }

    @Test func orders() throws {
        let placed = try decodeMEXC(OrderResponse.self, from: fixture("Trading_PlaceOrder"))
        #expect(placed.orderId.text == "06a480e69e604477bfb48dddd5f0b750" && placed.transactTime?.text == "1666676533741")
        #expect(d(placed.price) == Dec("0.1") && d(placed.origQty) == 50 && placed.side == "BUY")
        let queried = try decodeMEXC(OrderResponse.self, from: fixture("Trading_GetOrder"))
        #expect(queried.orderId.text == "1" && queried.clientOrderId == "myOrder1" && queried.status == "NEW")
        #expect(d(queried.executedQty) == 0 && queried.time?.text == "1499827319559")
        let open = try decodeMEXC([OrderResponse].self, from: fixture("Trading_GetOpenOrders"))
        #expect(open.count == 1 && open[0].symbol == "LTCBTC")
        let cancelled = try decodeMEXC(OrderResponse.self, from: fixture("Trading_CancelOrder"))
        #expect(cancelled.status == "CANCELED" && cancelled.origClientOrderId == "myOrder1" && d(cancelled.price) == 2)
    }

    @Test func myTrades() throws {
        let t = try decodeMEXC([AccountTrade].self, from: fixture("Trading_GetUserTrades"))
        #expect(t.count == 1 && t[0].id.text == "fad2af9e942049b6adbda1a271f990c6" && t[0].isBuyer && !t[0].isMaker)
        #expect(d(t[0].price) == Dec("4.000001") && d(t[0].commission) == Dec("10.1") && t[0].commissionAsset == "BNB")
        #expect(t[0].clientOrderId == nil)
    }

    @Test func marketData() throws {
        let depth = try decodeMEXC(Depth.self, from: fixture("ExchangeData_GetOrderBook"))
        let levels = try depth.levels()
        #expect(depth.lastUpdateId == 1_112_416 && levels.bids.first! == (15, 49999) && levels.asks.first! == (14, 1))
        let trades = try decodeMEXC([PublicTrade].self, from: fixture("ExchangeData_GetRecentTrades"))
        #expect(trades.count == 2 && trades[0].id == nil && d(trades[0].price) == Dec("3219.58") && trades[1].isBuyerMaker)
        #expect(try decodeMEXC(ServerTime.self, from: fixture("ExchangeData_GetServerTime")).serverTime == 1_645_539_742_000)
        let tickers = try decodeMEXC([BookTicker].self, from: fixture("ExchangeData_GetBookPrices"))
        #expect(d(tickers[0].askPrice) == Dec("0.11127") && d(tickers[0].bidQty) == Dec("115.59"))
        let symbols = try decodeMEXC(Wrapped<[String]>.self, from: fixture("ExchangeData_GetApiSymbols"))
        #expect(symbols.data == ["SNTUSDT", "CGPTUSDT", "HEGICUSDT"])
    }

    /// The depth answer is read straight from its bytes: it reads what the decoder reads, and
    /// refuses what the decoder refuses.
    @Test func depthIsReadStraightFromItsBytesAsTheDecoderReadsIt() throws {
        let good = [
            String(decoding: try fixture("ExchangeData_GetOrderBook"), as: UTF8.self),
            #"{"lastUpdateId":5,"bids":[[60000.5,0.1],["59999","2"]],"asks":[],"timestamp":1795770000000}"#,
            " {\n \"asks\" : [ [ \"1.10\" , \"3\" ] ] ,\"extra\":{\"a\":[1,{\"b\":null}],\"t\":true},\"lastUpdateId\":\"77\", \"bids\":[]}\n",
            #"{"lastUpdateId":1,"bids":[[1E-8,2.5e2]],"asks":[["0.0003998377369698171","1","ignored"]]}"#,
        ]
        for text in good {
            let direct = try decodeMEXC(Depth.self, from: Data(text.utf8))
            let decoded = try JSONDecoder().decode(Depth.self, from: Data(text.utf8))
            #expect(direct.lastUpdateId == decoded.lastUpdateId, "\(text)")
            #expect(direct.bidLevels.map { [$0.0, $0.1] } == decoded.bidLevels.map { [$0.0, $0.1] }, "\(text)")
            #expect(direct.askLevels.map { [$0.0, $0.1] } == decoded.askLevels.map { [$0.0, $0.1] }, "\(text)")
        }
        #expect(try decodeMEXC(Depth.self, from: Data(good[3].utf8)).bidLevels[0] == (Dec("0.00000001"), Dec(250)))
        let bad = [
            "", "{", "{}", "[]", "null",
            #"{"lastUpdateId":"x","bids":[],"asks":[]}"#, #"{"lastUpdateId":1,"bids":[["1"]],"asks":[]}"#,
            #"{"lastUpdateId":1,"bids":[["a","1"]],"asks":[]}"#, #"{"lastUpdateId":1,"bids":[],"asks":[]} x"#,
            #"{"lastUpdateId":1,"bids":[],"asks":[]"#, #"{"lastUpdateId":1,"bids":[],"asks":[],}"#,
            #"{"lastUpdateId":1,"bids":[["1","2"],],"asks":[]}"#, 
            #"{"lastUpdateId":1,"bids":[[01,2]],"asks":[]}"#, #"{"lastUpdateId":1,"bids":[[1e,2]],"asks":[]}"#, #"{"lastUpdateId":1,"bids":[["1E-8","2"]],"asks":[]}"#,
            #"{"lastUpdateId":1,"bids":[],"asks":[],"x":"unterminated}"#, "{\"lastUpdateId\":1,\"bids\":[],\"asks\":[],\"x\":\"a\u{01}b\"}",
            #"{"lastUpdateId":1,"bids":[],"asks":[],"x":"#, #"{"lastUpdateId":99999999999999999999,"bids":[],"asks":[]}"#,
            #"{"lastUpdateId":1,"bids":[],"asks":[],"x":"# + String(repeating: "[", count: 100_000),
            #"{"lastUpdateId":1,"bids":[],"asks":[],"x":tru}"#, #"{"lastUpdateId":1,"asks":[]}"#,
        ]
        for text in bad {
            #expect(throws: MEXCFailure.self, "\(text.prefix(60))") { try decodeMEXC(Depth.self, from: Data(text.utf8)) }
        }
    }

    @Test func feesSentAsNumbersStayExact() throws {
        let fee = try decodeMEXC(Wrapped<TradeFee>.self, from: fixture("Account_GetTradeFeeAsync"))
        #expect(d(fee.data.makerCommission) == Dec("0.003") && fee.code?.text == "0")
    }

    @Test func failuresKeepWhatMEXCSaid() throws {
        let body = Data(#"{"code":30002,"msg":"The minimum transaction volume cannot be less than:0.5USDT"}"#.utf8)
        let f = MEXCFailure.from(httpStatus: 400, body: body)
        #expect(f == .exchange(code: 30002, message: "The minimum transaction volume cannot be less than:0.5USDT", httpStatus: 400))
        #expect(!f.outcomeUnknown)
        #expect(MEXCFailure.from(httpStatus: 503, body: Data("<html>".utf8)) == .server(httpStatus: 503))
        #expect(MEXCFailure.from(httpStatus: 503, body: Data()).outcomeUnknown)
        #expect(MEXCFailure.from(httpStatus: 429, body: Data(), retryAfter: 2) == .client(httpStatus: 429, retryAfter: 2))
        #expect(MEXCFailure.from(httpStatus: 400, body: Data(#"{"code":"-2011","msg":"Unknown order sent."}"#.utf8))
                == .exchange(code: -2011, message: "Unknown order sent.", httpStatus: 400))
        #expect(throws: MEXCFailure.self) { try decodeMEXC(Depth.self, from: Data("{\"bids\":1}".utf8)) }
        #expect(throws: MEXCFailure.malformed("'abc' is not a decimal")) {
            try decodeMEXC(Depth.self, from: Data(#"{"lastUpdateId":1,"bids":[["abc","1"]],"asks":[]}"#.utf8)).levels()
        }
    }
}

/// The direct readers of order, account and myTrades answers (`DirectAnswers`) against
/// JSONDecoder: each captured answer is read directly and reads the same both ways; answers
/// out of the ordinary are left to JSONDecoder, and the result is the same either way.
@Suite struct DirectAnswerTests {
    func same<T: Decodable & Equatable>(_ type: T.Type, _ body: String, direct: Bool? = nil,
                                        sourceLocation: SourceLocation = #_sourceLocation) {
        let data = Data(body.utf8)
        let read = decodeMEXCDirectly(T.self, from: data)
        if let direct { #expect((read != nil) == direct, "direct: \(body)", sourceLocation: sourceLocation) }
        let decoded = try? decodeMEXCWithJSONDecoder(T.self, from: data)
        if let read { #expect(read == decoded, "\(body)", sourceLocation: sourceLocation) }
        #expect((try? decodeMEXC(T.self, from: data)) == decoded, "\(body)", sourceLocation: sourceLocation)
    }

    @Test func capturedAnswersAreReadDirectly() throws {
        for name in ["Trading_PlaceOrder", "Trading_GetOrder", "Trading_CancelOrder"] {
            same(OrderResponse.self, String(decoding: try fixture(name), as: UTF8.self), direct: true)
        }
        same([OrderResponse].self, String(decoding: try fixture("Trading_GetOpenOrders"), as: UTF8.self), direct: true)
        same(AccountInfo.self, String(decoding: try fixture("Account_GetAccountInfo"), as: UTF8.self), direct: true)
        same([AccountTrade].self, String(decoding: try fixture("Trading_GetUserTrades"), as: UTF8.self), direct: true)
    }

    @Test func oddAnswersReadAsJSONDecoderReadsThem() {
        let order = #"{"symbol":"BTCUSDT","orderId":"C02__1","price":"60000.1","origQty":"0.002","type":"LIMIT_MAKER","side":"BUY"}"#
        same(OrderResponse.self, order, direct: true)
        // Numbers kept as text, booleans, nulls, and keys in any order or unknown.
        same(OrderResponse.self, #"{"side":"SELL","type":"LIMIT","origQty":5,"price":-0,"orderId":12345678901,"symbol":"X","time":null,"extra":[1,{"a":null}]}"#, direct: true)
        same(OrderResponse.self, #"{"symbol":"X","orderId":true,"price":"1","origQty":"1","type":"LIMIT","side":"BUY"}"#, direct: true)
        // Left to JSONDecoder: fractions and exponents, numbers beyond 64 bits, escapes, a key twice, wrong types.
        for odd in [
            #"{"symbol":"X","orderId":"1","price":1.50,"origQty":"1","type":"LIMIT","side":"BUY"}"#,
            #"{"symbol":"X","orderId":"1","price":1e-8,"origQty":"1","type":"LIMIT","side":"BUY"}"#,
            #"{"symbol":"X","orderId":123456789012345678901234,"price":"1","origQty":"1","type":"LIMIT","side":"BUY"}"#,
            #"{"symbol":"X\u0041","orderId":"1","price":"1","origQty":"1","type":"LIMIT","side":"BUY"}"#,
            #"{"sym\u0062ol":"X","orderId":"1","price":"1","origQty":"1","type":"LIMIT","side":"BUY"}"#,
            #"{"symbol":"X","symbol":"Y","orderId":"1","price":"1","origQty":"1","type":"LIMIT","side":"BUY"}"#,
            #"{"symbol":7,"orderId":"1","price":"1","origQty":"1","type":"LIMIT","side":"BUY"}"#,
            #"{"symbol":"X","orderId":"1","price":null,"origQty":"1","type":"LIMIT","side":"BUY"}"#,
            #"{"symbol":"X","orderId":"1","price":"1","origQty":"1","type":"LIMIT"}"#,
            #"{"symbol":"X","orderId":"1","price":"1","origQty":"1","type":"LIMIT","side":"BUY"} x"#,
        ] {
            same(OrderResponse.self, odd, direct: false)
        }
        // What JSON refuses is refused also inside values the direct reader skips: a bad escape,
        // a lone surrogate, bytes that are not UTF-8 (found by the RESTAnswer fuzz target).
        let skipped = #"{"symbol":"X","orderId":"1","price":"1","origQty":"1","type":"LIMIT","side":"BUY","note":"#
        for bad in [#""a\q""#, #""\u12G4""#, #""\uD800""#, #""\uDC00\uD800""#] {
            same(OrderResponse.self, skipped + bad + "}", direct: false)
        }
        for fine in [#""\n\u00e9\uD83D\uDE00\/""#, "\"é\""] {
            same(OrderResponse.self, skipped + fine + "}", direct: true)
        }
        var invalid = Data((skipped + "\"").utf8)
        invalid += [0xC3, 0x28, 0x22, 0x7D]
        #expect(decodeMEXCDirectly(OrderResponse.self, from: invalid) == nil)
        #expect((try? decodeMEXC(OrderResponse.self, from: invalid)) == (try? decodeMEXCWithJSONDecoder(OrderResponse.self, from: invalid)))
        same(AccountInfo.self, #"{"canTrade":null,"balances":[{"asset":"BTC","free":"1.5","locked":0,"x":1}],"permissions":["SPOT"]}"#, direct: true)
        same(AccountInfo.self, #"{"canTrade":"yes","balances":[]}"#, direct: false)
        same(AccountInfo.self, #"{"balances":[{"asset":"BTC","free":"1.5"}]}"#, direct: false)
        let trade = #"{"symbol":"BTCUSDT","id":"1","orderId":"2","price":"1","qty":"2","commission":"0.0003998377369698171","commissionAsset":"MX","time":1,"isBuyer":false,"isMaker":true"#
        same([AccountTrade].self, "[\(trade)}]", direct: true)
        same([AccountTrade].self, "[\(trade),\"clientOrderId\":\"mm1-b-0\"},\(trade)}]", direct: true)
        same([AccountTrade].self, "[\(trade),\"isMaker\":false}]", direct: false)
        same([AccountTrade].self, "[]", direct: true)
        same([AccountTrade].self, "[", direct: false)
    }
}
