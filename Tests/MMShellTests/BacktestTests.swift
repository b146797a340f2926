import Foundation
import MMCore
import MMRecording
import MMSimServer
import Testing
@testable import MMShell

/// A recording of the simulated market made once for these tests: 10 minutes, seed 7.
let recordingStart: Int64 = 1_795_910_400_000   // 2026-11-29T00:00:00Z
func simRecording(minutes: Int64 = 10, seed: UInt64 = 7, pair: String = "BTCUSDT", in dir: URL) async throws -> String {
    let path = dir.appendingPathComponent("\(pair.lowercased())-\(seed).mmrec").path
    var options = SimServerOptions(credentials: SimServerOptions.randomCredentials())
    options.pairs = [pair]
    options.settings.set("sim.seed", try Catalog.lookup("sim.seed").parse(String(seed)))
    options.settings.set("sim.takers", try Catalog.lookup("sim.takers").parse("300"))
    // The recording's exchangeInfo carries this maker fee; a backtest charges it.
    options.settings.set("sim.fee", try Catalog.lookup("sim.fee").parse("0.1%"))
    let writer = try RecordingWriter(path: path, meta: RecordingMeta(pair: pair, source: "sim", depth: "100ms", started: recordingStart, seed: seed),
                                     replace: true, generated: true)
    _ = try await SimRecorder.record(options: options, start: recordingStart, duration: minutes * 60_000, to: writer)
    return path
}

@Suite struct RecordingFileTests {
    func temp() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-rec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Frames come back as written, kinds, times (µs, also going backwards) and bytes.
    @Test func framesRoundTrip() throws {
        let path = try temp().appendingPathComponent("a.mmrec").path
        let meta = RecordingMeta(pair: "BTCUSDT", source: "mexc", url: "wss://example", depth: "10ms", started: 1_000)
        let w = try RecordingWriter(path: path, meta: meta)
        var written: [RecordFrame] = []
        var generator = SeededGenerator(seed: 5)
        for i in 0..<5000 {
            let kind: RecordKind = [.rules, .snapshot, .stream, .gap][i % 4]
            let bytes = (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let f = RecordFrame(kind: kind, time: 1_000_000 + Int64(i) * 997 - (i % 7 == 0 ? 50 : 0), payload: bytes)
            try w.append(f.kind, time: f.time, payload: f.payload)
            written.append(f)
            if i == 2500 { try w.flush() }
        }
        try w.close()
        #expect(w.frames == 5000)
        let r = try RecordingReader.open(path)
        #expect(r.meta == meta)
        var read: [RecordFrame] = []
        while let f = try r.next() { read.append(f) }
        #expect(read == written)
        #expect(r.truncated == nil && r.blocks >= 2)
        // Writing over an existing file is refused unless asked.
        #expect(throws: RecordingError.self) { try RecordingWriter(path: path, meta: meta) }
    }

    /// A file cut inside a block reads up to its last whole block and says where it ends;
    /// damage, a foreign file and a newer format are refused with the reason.
    @Test func truncatedDamagedForeignAndNewerFiles() throws {
        let dir = try temp()
        let path = dir.appendingPathComponent("a.mmrec").path
        let w = try RecordingWriter(path: path, meta: RecordingMeta(pair: "BTCUSDT", source: "sim", depth: "100ms", started: 0))
        for i in 0..<100 { try w.append(.stream, time: Int64(i), payload: Array("frame \(i)".utf8)) }
        try w.flush()
        for i in 100..<200 { try w.append(.stream, time: Int64(i), payload: Array("frame \(i)".utf8)) }
        try w.close()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = dir.appendingPathComponent("cut.mmrec").path
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: cut))
        let info = try RecordingInfo.scan(cut)
        #expect(info.counts[.stream] == 100 && info.truncated != nil)

        bytes[bytes.count - 20] ^= 0xFF
        let damaged = dir.appendingPathComponent("bad.mmrec").path
        try bytes.write(to: URL(fileURLWithPath: damaged))
        #expect(throws: RecordingError.self) { _ = try RecordingInfo.scan(damaged) }
        do { _ = try RecordingInfo.scan(damaged) } catch { #expect(error.message.contains("is damaged")) }

        let foreign = dir.appendingPathComponent("x.mmrec").path
        try Data("hello, this is a text file".utf8).write(to: URL(fileURLWithPath: foreign))
        do { _ = try RecordingReader.open(foreign); Issue.record("read a foreign file") } catch {
            #expect(error.message.contains("is not an mmsh recording"))
        }
        var newer = try Data(contentsOf: URL(fileURLWithPath: path))
        newer[7] = 9
        let future = dir.appendingPathComponent("f.mmrec").path
        try newer.write(to: URL(fileURLWithPath: future))
        do { _ = try RecordingReader.open(future); Issue.record("read a newer format") } catch {
            #expect(error.message.contains("newer mmsh"))
        }
    }

    /// `mmsh sim record`'s generator: the same seed gives the same file; the frames are
    /// MEXC's (exchangeInfo, a depth snapshot, stream frames every 100 ms at most).
    @Test func theSimulatorsRecordingIsRepeatable() async throws {
        let a = try temp(), b = try temp()
        let one = try await simRecording(minutes: 2, in: a), two = try await simRecording(minutes: 2, in: b)
        #expect(try Data(contentsOf: URL(fileURLWithPath: one)) == Data(contentsOf: URL(fileURLWithPath: two)))
        let info = try RecordingInfo.scan(one)
        #expect(info.counts[.rules] == 1 && info.counts[.snapshot] == 1 && (info.counts[.stream] ?? 0) > 100)
        #expect(info.first == recordingStart * 1000 && info.last == (recordingStart + 120_000) * 1000)
        #expect(info.meta.seed == 7 && info.meta.pair == "BTCUSDT" && info.gaps.isEmpty)
    }
}

@Suite struct BacktestTests {
    func dec(_ v: Any?) -> Dec { Dec(v as! String)! }

    func json(_ h: Harness, _ line: String) async throws -> [String: Any] {
        let r = await h.run(line)
        #expect(r.error == nil, "\(line): \(r.err)")
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
    }

    /// A backtest stores a run of the instance marked as a backtest; the ledger of that run
    /// reconciles exactly; windows without --run leave it out; the same data, settings and
    /// latency give the same fills to the last unit.
    @Test func aBacktestIsARunThatReconcilesAndRepeats() async throws {
        let h = try await Harness()
        let data = try await simRecording(in: h.url)
        await h.run("new btc; set spread.bid 0.05%; set spread.ask 0.05%; set refresh.fill_delay 0")
        let first = try await json(h, "backtest 1 --data \(data) --json")
        #expect(first["run"] as? Int == 1 && first["partial"] as? Bool == false)
        let fills = try h.store.fills(instance: 1, run: Int64(first["run_id"] as! Int))
        #expect(fills.count == first["fills"] as? Int && fills.count > 10, "\(fills.count) fills")
        #expect(fills.allSatisfy { $0.tradeId.hasPrefix("bt") && $0.time >= recordingStart && $0.time <= recordingStart + 600_000 })
        // Net = realized + unrealized − fees = capture + inventory − fees = what the fills moved, at the mark.
        let net = dec(first["net"])
        #expect(dec(first["realized"]) + dec(first["unrealized"]) - dec(first["fees"]) == net)
        #expect(dec(first["spread_capture"]) + dec(first["inventory"]) - dec(first["fees"]) == net)
        var base: Dec = 0, quote: Dec = 0
        for f in fills {
            let q = Dec(f.quantity)!, p = Dec(f.price)!, fee = Dec(f.fee)!
            if f.side == "buy" { base += q; quote -= q * p + fee } else { base -= q; quote += q * p - fee }
        }
        #expect(base * dec(first["mark"]) + quote == net)
        #expect(dec(first["fees"]).isPositive, "the recording's maker fee applies")
        // Shown with --run, left out of windows.
        let pnl = try await json(h, "pnl 1 --run 1 --json")
        #expect(dec(pnl["net"]) == net && pnl["fills"] as? Int == fills.count)
        let lifetime = await h.run("pnl 1")
        #expect(lifetime.out.contains("no fills"), "\(lifetime.out)")
        #expect(await h.run("status 1").out.contains("backtest") == false)
        // Deterministic.
        let second = try await json(h, "backtest 1 --data \(data) --json")
        #expect(second["run"] as? Int == 2)
        let again = try h.store.fills(instance: 1, run: Int64(second["run_id"] as! Int))
        #expect(again.map { [$0.side, $0.price, $0.quantity, $0.fee, String($0.time)] } == fills.map { [$0.side, $0.price, $0.quantity, $0.fee, String($0.time)] })
        // Latency and overrides change the run, and are recorded with it.
        let slow = try await json(h, "backtest 1 --data \(data) --latency 200ms --set spread.bid=0.2% --set levels.count=2 --json")
        #expect(slow["latency_ms"] as? Int == 200 && (slow["overrides"] as? [String]) == ["spread.bid=0.2%", "levels.count=2"])
        let runs = try h.store.runs(instance: 1)
        #expect(runs.count == 3 && runs.allSatisfy { $0.backtest != nil && $0.endState == "backtest" })
        #expect(runs[2].backtest!.contains("\"latency_ms\":200"))
        // A window of the recording.
        let window = try await json(h, "backtest 1 --data \(data) --from 2026-11-29T00:02Z --to 2026-11-29T00:05Z --json")
        #expect(window["from"] as? String == "2026-11-29T00:02:00.000Z" || (window["from"] as! String) > "2026-11-29T00:02")
        #expect((window["to"] as! String) <= "2026-11-29T00:05:01")
        let text = await h.run("backtest 1 --data \(data)")
        #expect(text.out.contains("net P&L") && text.out.contains("→ run 5") && text.out.contains("decisions"), "\(text.out)")
    }

    /// `record`'s words: a pair or list, stop, info; what is wrong is said in one line and
    /// nothing starts.
    @Test func recordRefusesWhatItCannotRecord() async throws {
        let h = try await Harness()
        await h.expectRefused("record", "WHAT")
        await h.expectRefused("record 12", "neither a pair")
        await h.expectRefused("record BTCUSDT --duration soon", "--duration takes a duration from 1s to 366d")
        await h.expectRefused("record BTCUSDT --duration 0s", "--duration takes a duration from 1s to 366d")
        await h.expectRefused("record BTCUSDT --depth 5ms", "5ms")
        await h.expectRefused("record BTCUSDT --rest ftp://x", "--rest")
        await h.expectRefused("record BTCUSDT extra", "takes nothing after the pair")
        await h.expectRefused("record info", "name the FILE")
        await h.expectRefused("record stop", "name the recording")
        await h.expectRefused("record stop 4", "there is no recording 4")
        await h.expectRefused("record BTCUSDT --rest http://127.0.0.1:1 --out \(h.url.path)/x.mmrec", "did not give the rules of BTCUSDT")
        #expect(!FileManager.default.fileExists(atPath: h.url.path + "/x.mmrec"))
        let list = await h.run("record list")
        #expect(list.out.contains("nothing is recording"), "\(list.out)")
        #expect(try await json(h, "record list --json")["recordings"] as? [Any] != nil)
    }

    /// A sweep runs every combination, stores none, and ranks them; each combination makes what
    /// a backtest with the same settings makes, to the last unit.
    @Test func aSweepRanksEveryCombinationAsItsBacktestWould() async throws {
        let h = try await Harness()
        let data = try await simRecording(minutes: 2, in: h.url)
        await h.run("new btc; set refresh.fill_delay 0")
        let r = try await json(h, "sweep 1 --data \(data) spread.bid=0.05%..0.1%/0.05% levels.count=1,2 --jobs 2 --json")
        let results = try #require(r["results"] as? [[String: Any]])
        #expect(results.count == 4 && r["skipped"] as? Int == 0 && (r["failed"] as? [Any])?.isEmpty == true, "\(r)")
        let nets = results.compactMap { ($0["net"] as? String).flatMap { Dec($0) } }
        #expect(nets == nets.sorted(by: >), "ranked by net P&L")
        #expect(try h.store.runs(instance: 1).isEmpty, "a sweep stores no run")
        let best = try #require(results.first?["settings"] as? [String: String])
        let one = try await json(h, "backtest 1 --data \(data) --set spread.bid=\(best["spread.bid"]!) --set levels.count=\(best["levels.count"]!) --json")
        #expect(one["net"] as? String == results.first?["net"] as? String, "\(one)")
        let text = await h.run("sweep 1 --data \(data) levels.count=1,2 --by drawdown")
        #expect(text.out.contains("ranked by drawdown") && text.out.contains("best: set 1 levels.count"), "\(text.out)")
    }

    @Test func badSweepsAreRefusedBeforeAnythingRuns() async throws {
        let h = try await Harness()
        let data = try await simRecording(minutes: 2, in: h.url)
        await h.run("new btc")
        await h.expectRefused("sweep 1 spread.bid=0.1%,0.2%", "--data FILE is required")
        await h.expectRefused("sweep 1 --data \(data)", "missing KEY=VALUES")
        await h.expectRefused("sweep 1 --data \(data) sprad.bid=0.1%", "unknown setting")
        await h.expectRefused("sweep 1 --data \(data) spread.bid", "is not KEY=VALUES")
        await h.expectRefused("sweep 1 --data \(data) pair=ETHUSDT,BTCUSDT", "comes from the recording")
        await h.expectRefused("sweep 1 --data \(data) spread.bid=0.1%..0.5%", "LOW..HIGH/STEP")
        await h.expectRefused("sweep 1 --data \(data) spread.bid=0.5%..0.1%/0.1%", "below its start")
        await h.expectRefused("sweep 1 --data \(data) spread.bid=0.1%..0.5%/0%", "step must be above zero")
        await h.expectRefused("sweep 1 --data \(data) spread.bid=0.1%,,0.2%", "an empty value")
        await h.expectRefused("sweep 1 --data \(data) strategy=pmm..avellaneda/1", "takes no range")
        await h.expectRefused("sweep 1 --data \(data) spread.bid=0.1% spread.bid=0.2%", "given twice")
        await h.expectRefused("sweep 1 --data \(data) spread.bid=0.01%..1%/0.01% levels.count=1,2,3", "300 combinations; more than 200 take --yes")
        await h.expectRefused("sweep 1 --data \(data) spread.bid=0.001%..0.999%/0.001% spread.ask=0.001%..0.999%/0.001% order.amount=0.001..0.999/0.001 --yes",
                              "at most 100,000 run")
        await h.expectRefused("sweep 1 --data \(h.url.path)/missing.mmrec levels.count=1,2", "no such file")
        await h.run("set pair ETHUSDT")
        await h.expectRefused("sweep 1 --data \(data) levels.count=1,2", "records BTCUSDT, not ETHUSDT")
        #expect(try h.store.runs(instance: 1).isEmpty)
    }

    /// Bad input: one clear line, nothing stored.
    @Test func badBacktestsAreRefusedAndStoreNothing() async throws {
        let h = try await Harness()
        let data = try await simRecording(minutes: 2, in: h.url)
        await h.run("new btc")
        await h.expectRefused("backtest 1", "--data FILE is required")
        await h.expectRefused("backtest 1 --data \(h.url.path)/missing.mmrec", "no such file")
        let foreign = h.url.appendingPathComponent("x.mmrec").path
        try Data("not a recording".utf8).write(to: URL(fileURLWithPath: foreign))
        await h.expectRefused("backtest 1 --data \(foreign)", "is not an mmsh recording")
        await h.expectRefused("backtest 1 --data \(data) --set sprad.bid=1%", "unknown setting")
        await h.expectRefused("backtest 1 --data \(data) --set spread.bid", "KEY=VALUE")
        await h.expectRefused("backtest 1 --data \(data) --set pair=ETHUSDT", "comes from the recording")
        await h.expectRefused("backtest 1 --data \(data) --latency fast", "--latency takes a duration")
        await h.expectRefused("backtest 1 --data \(data) --from 2027-01-01", "the window holds none of")
        await h.expectRefused("backtest 1 --data \(data) --from 2026-11-29T00:01Z --to 2026-11-29T00:00Z", "--to is not after --from")
        await h.run("set pair ETHUSDT")
        await h.expectRefused("backtest 1 --data \(data)", "records BTCUSDT, not ETHUSDT")
        #expect(try h.store.runs(instance: 1).isEmpty)
        #expect(try h.store.fills(instance: 1).isEmpty)
    }

    /// A recording damaged after its start fails the backtest with the reader's reason, once
    /// the replay reaches the damage, and stores nothing: a part is not passed off as the whole.
    @Test func aRecordingDamagedMidwayFailsAndStoresNothing() async throws {
        let h = try await Harness()
        let source = try await simRecording(minutes: 4, in: h.url)
        // The same frames in blocks of 100, then one byte of the last block's data flipped.
        let blocks = h.url.appendingPathComponent("blocks.mmrec").path
        let reader = try RecordingReader.open(source)
        let writer = try RecordingWriter(path: blocks, meta: reader.meta, generated: true)
        var n = 0
        while let f = try reader.next() {
            try writer.append(f.kind, time: f.time, payload: f.payload)
            n += 1
            if n % 100 == 0 { try writer.flush() }
        }
        try writer.close()
        #expect(try RecordingInfo.scan(blocks).blocks > 4)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: blocks))
        bytes[bytes.count - 40] ^= 0xFF
        let damaged = h.url.appendingPathComponent("damaged.mmrec").path
        try bytes.write(to: URL(fileURLWithPath: damaged))
        await h.run("new btc")
        let r = await h.run("backtest 1 --data \(damaged)")
        #expect(r.error != nil && r.err.contains("is damaged") && r.err.contains("stored nothing"), "\(r.err)")
        #expect(try h.store.runs(instance: 1).isEmpty)
        #expect(try h.store.fills(instance: 1).isEmpty)
    }

    /// Across a gap in the recording no order rests: a gap frame cancels them, and with no
    /// snapshot after it the book stays unknown and nothing is placed; the summary counts it.
    @Test func noOrderRestsAcrossAGap() async throws {
        let h = try await Harness()
        let source = try await simRecording(minutes: 4, in: h.url)
        // The same frames with a gap from minute 1 to minute 2: the streams lost, then a new snapshot.
        let gapped = h.url.appendingPathComponent("gapped.mmrec").path
        let reader = try RecordingReader.open(source)
        let writer = try RecordingWriter(path: gapped, meta: reader.meta, generated: true)
        var inGap = false
        let gapFrom = (recordingStart + 60_000) * 1000, gapTo = (recordingStart + 120_000) * 1000
        while let f = try reader.next() {
            if f.time >= gapFrom && f.time < gapTo {
                if !inGap { try writer.append(.gap, time: f.time, payload: Array(#"{"reason":"the connection dropped"}"#.utf8)); inGap = true }
                continue
            }
            // No new snapshot follows here: the book stays unknown to the end, and nothing is placed.
            try writer.append(f.kind, time: f.time, payload: f.payload)
        }
        try writer.close()
        await h.run("new btc; set refresh.fill_delay 0")
        let r = try await json(h, "backtest 1 --data \(gapped) --json")
        #expect(r["gaps"] as? Int == 1)
        let fills = try h.store.fills(instance: 1, run: Int64(r["run_id"] as! Int))
        #expect(fills.allSatisfy { $0.time < gapFrom / 1000 || $0.time >= gapTo / 1000 }, "nothing fills inside the gap")
        let info = await h.run("record info \(gapped)").out
        #expect(info.contains("gap      at 2026-11-29T00:01:0") && info.contains("the connection dropped"), "\(info)")
    }
}
