import Foundation
import MMCore
import MMMexc
import MMRecording
import MMStrategy
import Testing
@testable import MMEngine

/// A recording's replay form: decoded once, kept beside the file, rebuilt when the file changed
/// or the form is damaged, and replaying exactly the book the live client builds from the frames.
@Suite struct ReplayFormTests {
    func temp() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// At every frame's time the replay's book is the one `LocalBook` builds from the raw frames,
    /// and the replay's trades are the recording's deals.
    @Test func theReplayFormReplaysTheBookTheFramesBuild() async throws {
        let dir = try temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try await simRecording(minutes: 3, in: dir)
        let exchange = try ReplayExchange.open(path, to: nil, latency: 0, base: 1, quote: 60_000)
        try await exchange.prepare(from: nil)
        let reader = try RecordingReader.open(path)
        var book = LocalBook()
        var deals = 0, compared = 0
        var frames: [RecordFrame] = []
        while let f = try reader.next() { frames.append(f) }
        for (i, f) in frames.enumerated() {
            switch f.kind {
            case .snapshot:
                let depth = try decodeMEXC(Depth.self, from: Data(f.payload))
                let levels = try depth.levels()
                _ = book.snapshot(lastUpdateId: depth.lastUpdateId, bids: levels.bids.map { BookLevel($0.0, $0.1) }, asks: levels.asks.map { BookLevel($0.0, $0.1) })
            case .stream:
                switch try StreamFrames.decode(Data(f.payload)) {
                case .depth(_, let diff): _ = book.apply(diff)
                case .deals(_, let d): deals += d.count
                default: break
                }
            default: break
            }
            let ms = f.time / 1000
            // Compare once the replay has applied every frame of this millisecond.
            guard i + 1 == frames.count || frames[i + 1].time / 1000 > ms, ms > reader.meta.started else { continue }
            try await exchange.advance(to: ms)
            let replayed = await exchange.state.matcher.market
            #expect(replayed == book.levels, "at \(ms)")
            compared += 1
        }
        #expect(compared > 100 && deals > 10, "\(compared) moments, \(deals) deals")
        let events = await exchange.events
        #expect(events > deals)
    }

    /// The form is built by the first backtest and reused; one that does not match its
    /// recording (another state of it, a damaged or foreign file) is rebuilt, with the same result.
    @Test func theFormIsKeptAndRebuiltWhenItDoesNotMatch() async throws {
        let dir = try temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try await simRecording(minutes: 2, in: dir)
        let form = path + ".replay"
        #expect(ReplayForm.cachePath(for: path) == URL(fileURLWithPath: path).standardizedFileURL.path + ".replay")
        var settings = Settings()
        for (k, v) in ["spread.bid": "0.05%", "spread.ask": "0.05%", "refresh.fill_delay": "0"] { settings.set(k, try Catalog.lookup(k).parse(v)) }
        let plan = BacktestPlan(instance: 1, name: "btc", settings: settings, data: path, from: nil, to: nil, latency: 0, overrides: [])
        func run() async throws -> BacktestResult { try await Backtest.run(plan, into: nil) }
        func identity() throws -> [FileAttributeKey: Any] { try FileManager.default.attributesOfItem(atPath: form) }
        let first = try await run()
        #expect(first.fills > 5 && FileManager.default.fileExists(atPath: form))
        let built = try identity()[.systemFileNumber] as? Int
        #expect(try Backtest.prepareData(path) == nil, "an up-to-date form is not built again")
        let second = try await run()
        #expect(try identity()[.systemFileNumber] as? Int == built && second.figures == first.figures)
        // Damaged forms: cut short, overwritten, of another version.
        for damage in [{ (d: inout Data) in d = d.prefix(d.count / 2) }, { d in d.replaceSubrange(0..<8, with: Array("NOTAFORM".utf8)) },
                       { d in d[8] = 99 }] {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: form))
            damage(&bytes)
            try bytes.write(to: URL(fileURLWithPath: form))
            let again = try await run()
            #expect(again.figures == first.figures && again.fills == first.fills)
        }
        // The recording changed (its time): the form is rebuilt.
        let before = try identity()[.systemFileNumber] as? Int
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: path)
        #expect(try Backtest.prepareData(path) != nil)
        #expect(try identity()[.systemFileNumber] as? Int != before)
        let rebuilt = try await run()
        #expect(rebuilt.figures == first.figures)
    }

    /// Where the form cannot be kept beside its recording (here a folder stands in its place,
    /// which even root cannot rename a file over), it goes to the temporary directory, and the
    /// backtest runs as it would.
    @Test func aFormThatCannotBeKeptBesideGoesToTheTemporaryDirectory() async throws {
        let dir = try temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try await simRecording(minutes: 1, in: dir)
        try FileManager.default.createDirectory(atPath: path + ".replay/in-the-way", withIntermediateDirectories: true)
        let elsewhere = ReplayForm.temporaryPath(for: path)
        try? FileManager.default.removeItem(atPath: elsewhere)
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        #expect(try Backtest.prepareData(path) != nil)
        #expect(FileManager.default.fileExists(atPath: elsewhere) && elsewhere.hasPrefix(FileManager.default.temporaryDirectory.path))
        #expect(try Backtest.prepareData(path) == nil, "found there next time, not built again")
        let exchange = try ReplayExchange.open(path, to: nil, latency: 0, base: 1, quote: 60_000)
        try await exchange.prepare(from: nil)
        try await exchange.advance(to: Int64.max - 1)
        #expect(await exchange.events > 100)
    }
}
