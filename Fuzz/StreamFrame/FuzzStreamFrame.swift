import Foundation
import MMCore
import MMMexc
import MMStrategy

/// libFuzzer target: a WebSocket frame as MEXC sends it (protobuf) becomes an event or a
/// refusal, never a crash; a depth diff is applied to a local book as the venues apply it.
func fuzzStreamFrame(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = input else { return 0 }
    let bytes = Data(bytes: data, count: size)
    guard let event = try? StreamFrames.decode(bytes) else { return 0 }
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
