import Foundation
import MMCore
import MMMexc
import MMStrategy

/// libFuzzer target: a WebSocket frame as MEXC sends it (protobuf) becomes an event or a
/// refusal, never a crash, and the same one by the direct depth reader and by SwiftProtobuf; a
/// depth diff is applied to a local book as the venues apply it.
func fuzzStreamFrame(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = input else { return 0 }
    let bytes = Data(bytes: data, count: size)
    // The direct depth reader and SwiftProtobuf agree on every frame: the same event, or both refuse.
    let direct = Result { () throws(MEXCFailure) in try StreamFrames.decode(bytes) }
    let generic = Result { () throws(MEXCFailure) in try StreamFrames.decodeWithSwiftProtobuf(bytes) }
    switch (direct, generic) {
    case (.success(let a), .success(let b)) where a == b: break
    case (.failure(let a), .failure(let b)) where a == b: break
    default: fatalError("the direct and generic stream decoders disagree: \(direct) vs \(generic)")
    }
    guard case .success(let event) = direct else { return 0 }
    _ = try? Dec.checked {
        var book = LocalBook()
        _ = book.snapshot(lastUpdateId: 1, bids: [BookLevel(Dec(100), Dec(1))], asks: [BookLevel(Dec(101), Dec(1))])
        switch event {
        case .depth(_, let diff):
            _ = book.apply(diff)
            _ = book.apply(diff)
        case .topOfBook(_, let version, let bids, let asks):
            _ = book.snapshot(lastUpdateId: version, bids: bids, asks: asks)
        default:
            break
        }
    }
    return 0
}
