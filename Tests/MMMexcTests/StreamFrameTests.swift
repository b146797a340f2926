import Foundation
import MMCore
import MMProto
import MMStrategy
import SwiftProtobuf
import Testing
@testable import MMMexc

struct ProtobufVectors: Decodable {
    struct Vector: Decodable {
        var description: String
        var hex: String
    }
    var vectors: [Vector]

    static let url = Bundle.module.url(forResource: "mexc-pb-test-vectors", withExtension: "json", subdirectory: "Fixtures")!
    static func load() throws -> ProtobufVectors { try JSONDecoder().decode(ProtobufVectors.self, from: Data(contentsOf: url)) }
    /// Each vector's expected decoding, as JSON with proto field names.
    static func decoded() throws -> [[String: Any]] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (root["vectors"] as! [[String: Any]]).map { $0["decoded"] as! [String: Any] }
    }
}

extension Data {
    init(hex: String) {
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            bytes.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        self.init(bytes)
    }
}

@Suite struct StreamFrameTests {
    @Test func everyVectorDecodesToItsExpectedFields() throws {
        let vectors = try ProtobufVectors.load().vectors
        let expected = try ProtobufVectors.decoded()
        #expect(vectors.count == 7)
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        for (v, want) in zip(vectors, expected) {
            let wrapper = try PushDataV3ApiWrapper(serializedBytes: Data(hex: v.hex))
            let got = try JSONSerialization.jsonObject(with: Data(wrapper.jsonString(options: options).utf8)) as! [String: Any]
            #expect(NSDictionary(dictionary: got).isEqual(to: want), "\(v.description): \(got)")
            // Encoding again gives the same bytes.
            #expect(try Data(wrapper.serializedBytes() as [UInt8]) == Data(hex: v.hex), "\(v.description)")
        }
    }

    @Test func framesBecomeEventsWithExactValues() throws {
        let v = try ProtobufVectors.load().vectors.map { Data(hex: $0.hex) }
        #expect(try StreamFrames.decode(v[0]) == .depth(symbol: "BTCUSDT", DepthDiff(
            fromVersion: 10_589_632_359, toVersion: 10_589_632_360,
            bids: [BookLevel(Dec("92877.58"), 0)], asks: [BookLevel(Dec("92877.60"), Dec("0.5"))])))
        #expect(try StreamFrames.decode(v[1]) == .deals(symbol: "BTCUSDT", [PublicDeal(
            price: Dec("93220"), quantity: Dec("0.04438243"), takerSide: .sell, time: 1_736_409_765_051, tradeId: "505979017439002624X1")]))
        #expect(try StreamFrames.decode(v[2]) == .bookTicker(symbol: "BTCUSDT", bid: BookLevel(Dec("93387.28"), Dec("3.73485")),
                                                              ask: BookLevel(Dec("93387.29"), Dec("7.669875"))))
        #expect(try StreamFrames.decode(v[3]) == .topOfBook(symbol: "BTCUSDT", version: 36_913_565_463, bids: [BookLevel(Dec("93179.98"), Dec("2.82651"))],
                                                             asks: [BookLevel(Dec("93180.18"), Dec("0.21976424"))]))
        #expect(try StreamFrames.decode(v[4]) == .order(symbol: "MXUSDT", OrderUpdate(
            orderId: "C02__505979017439002624115", clientId: "mm-bid-0001", side: .sell, price: Dec("3.5121"), quantity: 1, executed: 1,
            status: "FILLED", time: 1_736_417_034_259)))
        #expect(try StreamFrames.decode(v[5]) == .fill(symbol: "MXUSDT", PrivateDeal(
            tradeId: "505979017439002624X1", orderId: "C02__505979017439002624115", clientId: "mm-bid-0001", side: .sell,
            price: Dec("3.6962"), quantity: 1, fee: Dec("0.0003998377369698171"), feeAsset: "MX", isMaker: false, time: 1_736_417_034_280)))
        #expect(try StreamFrames.decode(v[6]) == .balance(BalanceUpdate(asset: "USDT", free: Dec("21.94210356004384"), locked: 0, time: 1_736_416_910_000)))
    }

    @Test func truncatedAndMalformedFramesAreRejectedWithoutCrashing() throws {
        for vector in try ProtobufVectors.load().vectors {
            let bytes = Data(hex: vector.hex)
            // Every proper prefix either fails to decode or decodes to something other than the whole frame.
            let whole = try StreamFrames.decode(bytes)
            for cut in stride(from: 1, to: bytes.count, by: 3) {
                if let partial = try? StreamFrames.decode(bytes.prefix(cut)) { #expect(partial != whole) }
            }
        }
        #expect(throws: MEXCFailure.self) { try StreamFrames.decode(Data([0xFF, 0xFF, 0xFF])) }
        #expect(throws: MEXCFailure.self) { try StreamFrames.decode(Data("{\"code\":0}".utf8)) }
        // Numbers that do not read are refused, not guessed.
        var w = PushDataV3ApiWrapper()
        w.channel = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
        var d = PublicAggreDepthsV3Api()
        d.fromVersion = "12"
        d.toVersion = "x"
        w.publicAggreDepths = d
        #expect(throws: MEXCFailure.malformed("toVersion: 'x' is not a version")) { try StreamFrames.decode(Data(try w.serializedBytes() as [UInt8])) }
        var item = PublicAggreDepthV3ApiItem()
        item.price = "1e5"
        item.quantity = "1"
        d.toVersion = "13"
        d.bids = [item]
        w.publicAggreDepths = d
        #expect(throws: MEXCFailure.self) { try StreamFrames.decode(Data(try w.serializedBytes() as [UInt8])) }
        // A channel mmsh does not read is passed over.
        var other = PushDataV3ApiWrapper()
        other.channel = "spot@public.kline.v3.api.pb@BTCUSDT@Min1"
        #expect(try StreamFrames.decode(Data(try other.serializedBytes() as [UInt8])) == .ignored(channel: "spot@public.kline.v3.api.pb@BTCUSDT@Min1"))
        // The largest int64 survives.
        var big = PushDataV3ApiWrapper()
        big.channel = "spot@private.account.v3.api.pb"
        var a = PrivateAccountV3Api()
        a.vcoinName = "BTC"
        a.balanceAmount = "1"
        a.time = Int64.max
        big.privateAccount = a
        #expect(try StreamFrames.decode(Data(try big.serializedBytes() as [UInt8])) == .balance(BalanceUpdate(asset: "BTC", free: 1, locked: 0, time: .max)))
    }
}

/// The direct depth reader (`DirectProto`) against SwiftProtobuf: the same event or the same
/// refusal for depth frames of every shape, and it takes the plain ones itself.
@Suite struct DirectDepthFrameTests {
    func frame(symbol: String? = "BTCUSDT", bids: [(String, String)], asks: [(String, String)], from: String = "7", to: String = "9",
               unknown: Bool = false) throws -> Data {
        var w = PushDataV3ApiWrapper()
        w.channel = "spot@public.aggre.depth.v3.api.pb@100ms@ETHUSDT"
        if let symbol { w.symbol = symbol }
        w.sendTime = 1_795_770_000_000
        var d = PublicAggreDepthsV3Api()
        d.bids = bids.map { var i = PublicAggreDepthV3ApiItem(); i.price = $0.0; i.quantity = $0.1; return i }
        d.asks = asks.map { var i = PublicAggreDepthV3ApiItem(); i.price = $0.0; i.quantity = $0.1; return i }
        d.eventType = "spot@public.aggre.depth.v3.api.pb@100ms"
        d.fromVersion = from
        d.toVersion = to
        w.publicAggreDepths = d
        var bytes = try w.serializedBytes() as [UInt8]
        // Field 99, a varint, that neither message declares: skipped by both.
        if unknown { bytes += [0x98, 0x06, 0x2A] }
        return Data(bytes)
    }

    func agree(_ bytes: Data, sourceLocation: SourceLocation = #_sourceLocation) {
        let direct = Result { () throws(MEXCFailure) in try StreamFrames.decode(bytes) }
        let generic = Result { () throws(MEXCFailure) in try StreamFrames.decodeWithSwiftProtobuf(bytes) }
        switch (direct, generic) {
        case (.success(let a), .success(let b)): #expect(a == b, sourceLocation: sourceLocation)
        case (.failure(let a), .failure(let b)): #expect(a == b, sourceLocation: sourceLocation)
        default: Issue.record("direct \(direct) but generic \(generic)", sourceLocation: sourceLocation)
        }
    }

    @Test func plainFramesAreReadDirectlyWithExactValues() throws {
        let bytes = try frame(bids: [("92877.58", "0"), ("92877.57", "1.25")], asks: [("92877.60", "0.5")])
        #expect(DirectProto.depthFrame(bytes) == .depth(symbol: "BTCUSDT", DepthDiff(
            fromVersion: 7, toVersion: 9, bids: [BookLevel(Dec("92877.58"), 0), BookLevel(Dec("92877.57"), Dec("1.25"))],
            asks: [BookLevel(Dec("92877.60"), Dec("0.5"))])))
        agree(bytes)
        // Without a symbol, the channel's last part names the pair, as the generic path does.
        let unnamed = try frame(symbol: nil, bids: [], asks: [("1", "2")])
        #expect(DirectProto.depthFrame(unnamed) == .depth(symbol: "ETHUSDT", DepthDiff(fromVersion: 7, toVersion: 9, bids: [], asks: [BookLevel(1, 2)])))
        agree(unnamed)
        agree(try frame(bids: [], asks: [], unknown: true))
        #expect(DirectProto.depthFrame(try frame(bids: [], asks: [], unknown: true)) != nil)
    }

    @Test func oddFramesAreLeftToTheGenericDecoderAndAgree() throws {
        for bytes in [
            try frame(bids: [("1e5", "1")], asks: []),
            try frame(bids: [(" 12.5", "1")], asks: []),
            try frame(bids: [("", "1")], asks: []),
            try frame(bids: [("12.5", "-1")], asks: []),
            try frame(bids: [], asks: [], from: "x"),
            try frame(bids: [], asks: [], to: ""),
            try frame(bids: [], asks: [], from: "+5"),
            try frame(bids: [], asks: [], from: "99999999999999999999"),
            try frame(bids: [("1.0000000000000000000000000000000000001", "1")], asks: []),
        ] {
            agree(bytes)
        }
        // Every prefix of a frame, and every frame with one byte changed, decodes alike both ways.
        let base = try frame(bids: [("92877.58", "0"), ("92877.57", "1.25")], asks: [("92877.60", "0.5")])
        for cut in 0..<base.count { agree(base.prefix(cut)) }
        for i in base.indices {
            for value: UInt8 in [0x00, 0x02, 0x08, 0x0A, 0x7F, 0x80, 0xFF] {
                var changed = base
                changed[i] = value
                agree(changed)
            }
        }
    }
}
