import ArgumentParser
import Dispatch
import Foundation
import MMCore
import MMMexc
import MMSimServer

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The simulated MEXC.",
        subcommands: [Serve.self, Record.self]
    )

    /// `--set sim.KEY=VALUE` items as settings for the simulated markets.
    static func simSettings(_ items: [String]) throws(SettingError) -> Settings {
        var settings = Settings()
        for item in items {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, kv[0].hasPrefix("sim.") else {
                throw SettingError("--set takes sim.KEY=VALUE, not '\(item)'")
            }
            let spec = try Catalog.lookup(kv[0])
            settings.set(kv[0], try spec.parse(kv[1]))
        }
        return settings
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve MEXC's spot REST and WebSocket APIs on 127.0.0.1 over simulated markets.",
            discussion: """
                A local MEXC for the live venue, for tests and for any MEXC client: the same paths, \
                parameters, JSON, HTTP statuses and error codes, signed requests checked with the key \
                and secret printed at start, recvWindow and rate-limit weights enforced. Point an \
                instance at it with 'set mexc.rest_url http://127.0.0.1:PORT', 'set mexc.ws_url \
                ws://127.0.0.1:PORT/ws' and 'set venue live'. The WebSocket API at /ws streams \
                aggregated depth, deals and book tickers, and (with ?listenKey= from \
                /api/v3/userDataStream) the account's orders, fills and balances. \
                Each pair has its own market and its own account pocket, from the sim.* settings \
                given with --set. Ctrl-C stops it.
                --faults injects trouble at given rates: latency=RATE@DURATION (a delay), 5xx (a 503, \
                not processed), 429 (refused with Retry-After), drop (the connection closes before \
                processing), lost (processed, but the reply never arrives); on streams, per frame: \
                wsdrop (the connection is dropped), gap (a depth frame is skipped), dup (sent twice), \
                reorder (sent after the next); seed=N repeats a run. \
                Example: --faults latency=0.2@150ms,5xx=0.05,lost=0.02
                """
        )

        @Option(help: "The port on 127.0.0.1; 0 picks a free one.")
        var port = 18181

        @Option(name: .customLong("pair"), help: ArgumentHelp("A symbol to trade (repeatable).", valueName: "symbol"))
        var pairs: [String] = []

        @Option(help: "The API key to accept (default: a random one, printed).")
        var key: String?

        @Option(help: "The API secret to accept (default: a random one, printed).")
        var secret: String?

        @Option(help: ArgumentHelp("Faults to inject, e.g. latency=0.2@150ms,5xx=0.05,429=0.02,drop=0.02,lost=0.05,seed=7.", valueName: "spec"))
        var faults: String?

        @Option(name: .customLong("set"), help: ArgumentHelp("A sim.* setting for every market, e.g. --set sim.takers=120 (repeatable).", valueName: "key=value"))
        var settings: [String] = []

        @Option(help: "Weight allowed per 10 s in each of the IP and UID pools.")
        var limit = 500

        func options() throws(ValidationError) -> SimServerOptions {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
            guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be 1–1000000") }
            guard (key == nil) == (secret == nil) else { throw ValidationError("give --key and --secret together, or neither") }
            var options = SimServerOptions(credentials: key.map { APICredentials(key: $0, secret: secret!) } ?? SimServerOptions.randomCredentials())
            options.port = port
            options.pairs = pairs.isEmpty ? ["BTCUSDT"] : pairs
            options.ipLimit = limit
            options.uidLimit = limit
            do throws(SettingError) {
                if let faults { options.faults = try FaultPlan(spec: faults) }
                options.settings = try Sim.simSettings(settings)
            } catch {
                throw ValidationError(error.message)
            }
            return options
        }

        func run() throws {
            let options = try options()
            let server: SimServer
            do { server = try SimServer(options: options) } catch { throw ValidationError(error.message) }
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            // A parent may have started us with these signals blocked (masks are inherited):
            // Ctrl-C and a request to terminate must stop the server all the same.
            var unblock = sigset_t()
            sigemptyset(&unblock)
            for s in [SIGINT, SIGTERM] { sigaddset(&unblock, s) }
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            let done = DispatchSemaphore(value: 0)
            let failure = FailureBox()
            let task = Task {
                do {
                    try await server.run { port in
                        Self.announce(options, port: port)
                    }
                } catch is CancellationError {
                } catch {
                    failure.message = "\(error)"
                }
                done.signal()
            }
            var sources: [DispatchSourceSignal] = []
            for s in [SIGINT, SIGTERM] {
                let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
                source.setEventHandler { task.cancel() }
                source.resume()
                sources.append(source)
            }
            done.wait()
            if let message = failure.message {
                FileHandle.standardError.write(Data("mmsh sim serve: \(message)\n".utf8))
                throw ExitCode(1)
            }
            let counts = Self.blockingCounts(server)
            print("stopped; requests: " + (counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        }

        static func announce(_ o: SimServerOptions, port: Int) {
            let url = "http://127.0.0.1:\(port)"
            print("""
                mmsh sim serve: MEXC spot REST on \(url), WebSocket on ws://127.0.0.1:\(port)/ws (\(o.pairs.joined(separator: ", ")))
                key:    \(o.credentials.key)
                secret: \(o.credentials.secret)
                faults: \(o.faults)
                In mmsh: set mexc.rest_url \(url); set mexc.ws_url ws://127.0.0.1:\(port)/ws; set venue live; keys set (this key and secret)
                """)
            fflush(nil)
        }

        static func blockingCounts(_ server: SimServer) -> [String: Int] {
            let box = CountsBox()
            let done = DispatchSemaphore(value: 0)
            Task {
                box.counts = await server.simulator.counts
                done.signal()
            }
            done.wait()
            return box.counts
        }
    }
}

private final class FailureBox: @unchecked Sendable { var message: String? }
private final class CountsBox: @unchecked Sendable { var counts: [String: Int] = [:] }
