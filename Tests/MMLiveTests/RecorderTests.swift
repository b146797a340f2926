import Foundation
import MMAPI
import MMCore
import MMEngine
import MMMexc
import MMRecording
import MMSimServer
import MMStorage
import Testing

/// `record PAIR` against `mmsh sim serve` on loopback: the file a backtest replays.
@Suite(.serialized) struct RecorderTests {
    func temp() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-rec-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The recording holds the rules, a snapshot at each connection, every stream frame and a
    /// gap where the streams dropped, with a new snapshot after it; the same shape as
    /// `mmsh sim record`'s, so that a backtest runs over it.
    @Test func recordingTheSimulatorGivesAFileABacktestReplays() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "3", "sim.takers": "300"])
        defer { Task { await server.stop() } }
        let dir = try temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("btc.mmrec").path
        let recorders = Recorders()
        let plan = RecordingPlan(pair: "BTCUSDT", path: path, duration: nil, depth: "100ms", restURL: server.url, wsURL: server.wsURL, replace: false)
        let started = try await recorders.start(plan)
        #expect(started.id == 1 && started.state == .recording)
        #expect(await recorders.recordingCount == 1)
        try await Task.sleep(for: .seconds(3))
        // The streams drop once: a gap in the file, then a new snapshot when connected again.
        await server.simulator.setFaults(try FaultPlan(spec: "wsdrop=1"))
        try await Task.sleep(for: .milliseconds(1500))
        await server.simulator.setFaults(try FaultPlan(spec: "wsdrop=0"))
        try await Task.sleep(for: .seconds(3))
        let live = await recorders.list()
        #expect(live.first?.frames ?? 0 > 10, "\(live)")
        // Diffs lost on the way: the recorder's book cannot follow, and it takes a fresh snapshot.
        let before = live.first?.snapshots ?? 0
        await server.simulator.setFaults(try FaultPlan(spec: "gap=0.5,seed=4"))
        try await Task.sleep(for: .seconds(4))
        await server.simulator.setFaults(try FaultPlan(spec: "gap=0"))
        try await Task.sleep(for: .seconds(2))
        #expect((await recorders.list().first?.snapshots ?? 0) > before, "a skip takes a snapshot")
        let done = try #require(await recorders.stop(1))
        #expect(done.state == .done && done.gaps >= 1 && done.snapshots >= 2, "\(done)")
        #expect(await recorders.recordingCount == 0)

        let info = try RecordingInfo.scan(path)
        #expect(info.meta.pair == "BTCUSDT" && info.meta.source == "mexc" && info.meta.url == server.wsURL && info.truncated == nil)
        #expect(info.counts[.rules] == 1 && (info.counts[.snapshot] ?? 0) >= 2 && (info.counts[.stream] ?? 0) > 10 && !info.gaps.isEmpty, "\(info.counts)")

        let store = try Store.inMemory()
        _ = try store.createInstance(name: "btc", limit: 10)
        let result = try await Backtest.run(BacktestPlan(instance: 1, name: "btc", settings: Settings(), data: path, from: nil, to: nil,
                                                         latency: 0, overrides: []), into: store)
        #expect(result.decisions > 0 && result.events > 0 && !result.partial, "\(result)")
        // Every loss of the book in the file is followed by a snapshot it syncs from again.
        #expect(!result.gaps.isEmpty && result.gaps.allSatisfy { $0.to != nil }, "\(result.gaps)")
        #expect(try store.runs(instance: 1).count == 1)
    }

    /// What cannot be recorded is said before anything runs, and no file is left behind.
    @Test func badPlansAreRefusedWithTheReason() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let dir = try temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recorders = Recorders()
        func refused(_ plan: RecordingPlan, _ words: String) async {
            do {
                _ = try await recorders.start(plan)
                Issue.record("recorded \(plan.pair) to \(plan.path)")
            } catch {
                #expect(error.message.contains(words), "\(error.message)")
            }
        }
        let path = dir.appendingPathComponent("x.mmrec").path
        await refused(RecordingPlan(pair: "NOPEUSDT", path: path, duration: nil, depth: "100ms", restURL: server.url, wsURL: server.wsURL, replace: false),
                      "lists no pair NOPEUSDT")
        #expect(!FileManager.default.fileExists(atPath: path))
        await refused(RecordingPlan(pair: "BTCUSDT", path: path, duration: nil, depth: "100ms", restURL: "http://127.0.0.1:1", wsURL: server.wsURL, replace: false),
                      "did not give the rules of BTCUSDT")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
        await refused(RecordingPlan(pair: "BTCUSDT", path: path, duration: nil, depth: "100ms", restURL: server.url, wsURL: server.wsURL, replace: false),
                      "it exists")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
        #expect(await recorders.list().isEmpty)
        // A recording with a duration ends by itself, its file complete.
        let short = dir.appendingPathComponent("short.mmrec").path
        _ = try await recorders.start(RecordingPlan(pair: "BTCUSDT", path: short, duration: 2000, depth: "100ms", restURL: server.url,
                                                    wsURL: server.wsURL, replace: false))
        try await Task.sleep(for: .seconds(4))
        #expect(await recorders.list().first?.state == .done)
        #expect(try RecordingInfo.scan(short).truncated == nil)
    }

    /// `set record on`: a paper instance's market is recorded beside it, in the engine's folder,
    /// until it stops; a sim instance says why it records nothing.
    @Test func anInstanceWithRecordOnRecordsItsMarketWhileItRuns() async throws {
        let server = try await LoopbackServer.start(sim: ["sim.seed": "3", "sim.takers": "300"])
        defer { Task { await server.stop() } }
        let dir = try temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store.inMemory()
        let engine = LocalEngine(store: store, recordingsDirectory: dir.appendingPathComponent("recordings"))
        let paper = try await engine.createInstance(name: "paper", limit: 10, settings: [:])
        var changes: [String: String?] = [:]
        for (k, v) in ["venue": "paper", "mexc.rest_url": server.url, "mexc.ws_url": server.wsURL, "record": "on"] { changes[k] = .some(v) }
        try await engine.updateSettings(paper.id, changes, note: nil)
        try await engine.start(paper.id)
        try await Task.sleep(for: .seconds(3))
        let running = await engine.recordings()
        #expect(running.count == 1 && running.first?.instance == paper.id && running.first?.state == .recording, "\(running)")
        _ = await engine.stop(paper.id)
        let done = try #require(await engine.recordings().first)
        #expect(done.state == .done && done.frames > 3 && done.path.hasPrefix(dir.path + "/recordings/btcusdt-1-"), "\(done)")
        #expect(try RecordingInfo.scan(done.path).counts[.snapshot] ?? 0 >= 1)
        let log = try await engine.events(instance: paper.id)
        #expect(log.contains { $0.message.contains("recording its market to \(done.path)") })

        let sim = try await engine.createInstance(name: "sim", limit: 10, settings: ["record": "on"])
        try await engine.start(sim.id)
        _ = await engine.stop(sim.id)
        #expect(try await engine.events(instance: sim.id).contains { $0.message.contains("the sim venue's market is not MEXC's") })
        #expect(await engine.recordings().count == 1)
    }
}
