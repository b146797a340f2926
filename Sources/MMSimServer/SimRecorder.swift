import Foundation
import MMCore
import MMRecording
import Synchronization

/// `mmsh sim record`: a recording of the simulated market, generated as fast as it computes, of
/// the same shape as recording `mmsh sim serve` over loopback: the exchangeInfo and depth
/// answers as the server gives them, then every 100 ms the frames its `@100ms@` channels would
/// push (aggregated depth, deals, book ticker), each stamped with the simulated time.
public enum SimRecorder {
    /// Writes `duration` ms of the market of `options.pairs[0]` from `start` (ms since the epoch).
    /// `progress` hears the share done now and then. Returns the frames written.
    public static func record(options: SimServerOptions, start: Int64, duration: Int64, to writer: RecordingWriter,
                              progress: (Double) -> Void = { _ in }) async throws -> Int {
        let clock = SimTime(start)
        let sim = try SimulatedMEXC(options: options, now: { clock.now })
        let symbol = options.pairs.first.flatMap(Units.normalizeSymbol) ?? "BTCUSDT"
        func get(_ path: String, _ query: String) async throws -> [UInt8] {
            let r = await sim.handle(SimRequest(method: "GET", path: path, rawQuery: query))
            guard r.status == 200 else { throw RecordingError("the simulator answered \(path) with \(r.status): \(r.body)") }
            return Array(r.body.utf8)
        }
        try writer.append(.rules, time: start * 1000, payload: try await get("/api/v3/exchangeInfo", "symbol=\(symbol)"))
        // As a client does: the streams first, then the snapshot they are applied to.
        _ = await sim.publicFrames(symbol)
        try writer.append(.snapshot, time: start * 1000, payload: try await get("/api/v3/depth", "symbol=\(symbol)&limit=1000"))
        let step = SimulatedMEXC.recordedCadence
        var t = start
        var lastProgress = start
        while t < start + duration {
            t += step
            clock.now = t
            for frame in await sim.publicFrames(symbol) { try writer.append(.stream, time: t * 1000, payload: frame) }
            if t - lastProgress >= 600_000 {
                lastProgress = t
                progress(Double(t - start) / Double(duration))
            }
        }
        try writer.close()
        return writer.frames
    }
}

/// The simulated time of a recording being made, shared with the simulator's clock. A class:
/// the escaping clock closure must hold the lock by reference, not capture a local `Mutex`.
final class SimTime: Sendable {
    private let t: Mutex<Int64>
    init(_ start: Int64) { t = Mutex(start) }
    var now: Int64 {
        get { t.withLock { $0 } }
        set { t.withLock { $0 = newValue } }
    }
}

extension SimulatedMEXC {
    /// The cadence of the channels a generated recording holds, in ms (the `@100ms@` ones, as
    /// `record PAIR` subscribes by default).
    public static let recordedCadence: Int64 = 100

    /// The frames the public `@100ms@` channels of `symbol` would push now, serialized (for
    /// recordings; nobody needs to be connected). Shares `publish()`'s memory of what was last shown.
    public func publicFrames(_ symbol: String) -> [[UInt8]] {
        catchUp(symbol)
        guard let pair = pairs[symbol] else { return [] }
        let t = now()
        let cadence = Self.recordedCadence, key = Self.publishedKey(symbol, cadence)
        var published = self.published[key] ?? Published()
        var frames: [[UInt8]] = []
        let depth = depthDiff(pair, &published, at: t, cadence: cadence)
        let deals = newDeals(pair, &published, at: t, cadence: cadence)
        let ticker = bookTicker(pair, &published, at: t)
        let made = [("public.aggre.depth.v3.api.pb", depth), ("public.aggre.deals.v3.api.pb", deals),
                    ("public.aggre.bookTicker.v3.api.pb", ticker)]
        for (kind, wrapper) in made {
            guard var w = wrapper else { continue }
            w.channel = "spot@\(kind)@\(cadence)ms@\(symbol)"
            if let bytes: [UInt8] = try? w.serializedBytes() { frames.append(bytes) }
        }
        published.at = t
        self.published[key] = published
        return frames
    }
}
