import ArgumentParser
import Dispatch
import Foundation
import MMCore
import MMMexc
import MMRecording
import MMSimServer

extension Sim {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a recording of the simulated market, as fast as it computes.",
            discussion: """
                The same shape as recording 'mmsh sim serve' over loopback: the pair's exchangeInfo \
                and a 1,000-level depth snapshot as the server answers them, then every 100 ms the \
                frames its public channels push (aggregated depth diffs, deals, book ticker), stamped \
                with the simulated time. The same --seed and --set give the same file. For tests, \
                demos and 'backtest'. Example: mmsh sim record --pair BTCUSDT --seed 7 --duration 1h --out btc.mmrec
                """
        )

        @Option(help: "The symbol.")
        var pair = "BTCUSDT"

        @Option(help: "The market's random seed (the same seed, the same recording).")
        var seed: UInt64 = 1

        @Option(help: "How much market to write: 30m, 6h, 1d.")
        var duration = "1h"

        @Option(help: "The recording's start, 2026-12-01T00:00Z or local time (default: now, to the second).")
        var start: String?

        @Option(help: "The file to write (.mmrec).")
        var out: String

        @Flag(help: "Replace --out if it exists.")
        var force = false

        @Option(name: .customLong("set"), help: ArgumentHelp("A sim.* setting of the market, e.g. --set sim.takers=120 (repeatable).", valueName: "key=value"))
        var settings: [String] = []

        func run() throws {
            guard let span = Units.parseDuration(duration), span.milliseconds > 0, span.milliseconds <= 31 * 86_400_000 else {
                throw ValidationError("--duration takes a duration up to 31d, such as 30m, 6h or 1d, not '\(duration)'")
            }
            let begin: Int64
            if let start {
                guard let t = TimeText.parse(start) else { throw ValidationError("--start takes a time such as 2026-12-01T00:00Z, not '\(start)'") }
                begin = t
            } else {
                begin = Int64(Date().timeIntervalSince1970) * 1000
            }
            var options = SimServerOptions(credentials: SimServerOptions.randomCredentials())
            guard let symbol = Units.normalizeSymbol(pair) else { throw ValidationError("--pair: '\(pair)' is not a symbol such as BTCUSDT") }
            options.pairs = [symbol]
            do throws(SettingError) {
                options.settings = try Sim.simSettings(settings)
                options.settings.set("sim.seed", try Catalog.lookup("sim.seed").parse(String(seed)))
            } catch {
                throw ValidationError(error.message)
            }
            let meta = RecordingMeta(pair: symbol, source: "sim", depth: "100ms", started: begin, seed: seed)
            let writer: RecordingWriter
            do { writer = try RecordingWriter(path: out, meta: meta, replace: force, generated: true) } catch { throw ValidationError(RecordingError.from(error).message) }
            let terminal = isatty(STDERR_FILENO) != 0
            let done = DispatchSemaphore(value: 0)
            let result = ResultBox()
            let options_ = options
            let ms = span.milliseconds
            let began = Date()
            Task {
                do {
                    result.frames = try await SimRecorder.record(options: options_, start: begin, duration: ms, to: writer) { share in
                        if terminal { FileHandle.standardError.write(Data("\r\(Int(share * 100))% ".utf8)) }
                    }
                } catch {
                    result.failure = "\(error)"
                }
                done.signal()
            }
            done.wait()
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if let failure = result.failure {
                try? FileManager.default.removeItem(atPath: out)
                FileHandle.standardError.write(Data("mmsh sim record: \(failure)\n".utf8))
                throw ExitCode(1)
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print("wrote \(out): \(symbol), \(span) from \(TimeText.iso(begin)), \(result.frames) frames, \(size) bytes in \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
        }
    }
}

private final class ResultBox: @unchecked Sendable {
    var frames = 0
    var failure: String?
}
