import Foundation
import MMCore
import MMMexc

/// libFuzzer target: MEXC's REST answers (depth, orders, account, myTrades, exchangeInfo,
/// errors) are read into exact decimals or refused as malformed, never a crash; where a direct
/// reader takes an answer, it reads what JSONDecoder reads. The first byte chooses the answer's
/// kind; the rest is the body.
func fuzzRESTAnswer(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = input else { return 0 }
    guard size > 0 else { return 0 }
    let body = Data(bytes: data + 1, count: size - 1)
    func agree<T: Decodable & Equatable>(_ type: T.Type) {
        guard let direct = decodeMEXCDirectly(T.self, from: body) else { return }
        guard let decoded = try? decodeMEXCWithJSONDecoder(T.self, from: body), decoded == direct else {
            fatalError("the direct reader took a \(T.self) that JSONDecoder reads otherwise: \(direct)")
        }
    }
    switch data[0] % 8 {
    case 1: agree(OrderResponse.self)
    case 2: agree([OrderResponse].self)
    case 3: agree(AccountInfo.self)
    case 4: agree([AccountTrade].self)
    default: break
    }
    _ = try? Dec.checked {
        switch data[0] % 8 {
        case 0: _ = try? decodeMEXC(Depth.self, from: body).levels()
        case 1:
            if let o = try? decodeMEXC(OrderResponse.self, from: body) { _ = try? (o.price.decimal(), o.origQty.decimal(), o.executedQty?.decimal()) }
        case 2:
            for o in (try? decodeMEXC([OrderResponse].self, from: body)) ?? [] { _ = try? (o.price.decimal(), o.origQty.decimal()) }
        case 3: _ = try? decodeMEXC(AccountInfo.self, from: body).balance("USDT")
        case 4:
            for t in (try? decodeMEXC([AccountTrade].self, from: body)) ?? [] { _ = try? (t.price.decimal(), t.qty.decimal(), t.commission.decimal()) }
        case 5:
            for s in (try? decodeMEXC(ExchangeInfo.self, from: body))?.symbols ?? [] { _ = try? s.rules() }
        case 6:
            for t in (try? decodeMEXC([PublicTrade].self, from: body)) ?? [] { _ = try? (t.price.decimal(), t.qty.decimal()) }
        default: _ = MEXCFailure.from(httpStatus: 400 + Int(data[0] % 100), body: body)
        }
    }
    return 0
}
