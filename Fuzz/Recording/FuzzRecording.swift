import Foundation
import MMRecording

/// libFuzzer target: any file handed to `record info` or `backtest --data` is read frame by
/// frame or refused with one line (truncated, damaged, foreign), never a crash.
func fuzzRecording(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = input else { return 0 }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-fuzz-\(getpid()).mmrec").path
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    defer { unlink(path) }
    if let reader = try? RecordingReader.open(path) {
        var frames = 0
        while frames < 100_000, let frame = try? reader.next() {
            frames += 1
            _ = frame.payload.count
        }
    }
    _ = try? RecordingInfo.scan(path)
    return 0
}
