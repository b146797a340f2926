import MMCore

/// What goes wrong with one request to the simulator server.
public enum Fault: String, Sendable, CaseIterable {
    /// Answered with a 503 without being processed.
    case serverError = "5xx"
    /// Answered with a 429 and Retry-After without being processed.
    case rateLimited = "429"
    /// The connection is closed before the request is processed.
    case drop
    /// The request is processed (an order is placed) but the connection closes before the reply.
    case lost
}

/// What goes wrong with one frame sent on a WebSocket connection.
public enum StreamFault: String, Sendable, CaseIterable {
    /// The server closes the connection.
    case drop = "wsdrop"
    /// A depth frame is never sent: the versions have a gap.
    case gap
    /// The frame is sent twice.
    case duplicate = "dup"
    /// The frame is sent after the next one.
    case reorder
}

/// `--faults`: how often each fault happens, e.g. `latency=0.2@150ms,5xx=0.05,429=2%,drop=0.02,lost=0.05,seed=7`.
public struct FaultPlan: Sendable, Equatable, CustomStringConvertible {
    public var latencyRate: Double = 0
    public var latency: TimeSpan = TimeSpan(milliseconds: 0)
    public var rates: [Fault: Double] = [:]
    /// Per frame sent on a WebSocket connection.
    public var streamRates: [StreamFault: Double] = [:]
    public var seed: UInt64?
    /// Only requests of these HTTP methods meet faults (all when nil): for tests that break,
    /// say, cancels (DELETE) alone.
    public var methods: Set<String>?

    public static let none = FaultPlan()
    public init() {}

    public var isNone: Bool { latencyRate == 0 && rates.values.allSatisfy { $0 == 0 } && streamRates.values.allSatisfy { $0 == 0 } }

    public static let syntax = "KIND=RATE[,…] with KIND latency (RATE@DURATION), 5xx, 429, drop or lost (requests), wsdrop, gap, dup or reorder (stream frames), RATE 0–1 or a percentage, and seed=N"

    public init(spec: String, methods: Set<String>) throws(SettingError) {
        try self.init(spec: spec)
        self.methods = methods
    }

    public init(spec: String) throws(SettingError) {
        for item in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SettingError("--faults: '\(item)' is not KIND=RATE; expected \(Self.syntax)") }
            let (kind, value) = (parts[0].lowercased(), parts[1])
            if kind == "seed" {
                guard let s = UInt64(value) else { throw SettingError("--faults: seed must be a whole number, not '\(value)'") }
                seed = s
                continue
            }
            var rateText = value
            if kind == "latency" {
                let pieces = value.split(separator: "@", maxSplits: 1).map(String.init)
                guard pieces.count == 2, let d = Units.parseDuration(pieces[1]), d.milliseconds > 0, d.milliseconds <= 60_000 else {
                    throw SettingError("--faults: latency takes RATE@DURATION, e.g. latency=0.2@150ms (at most 60s)")
                }
                latency = d
                rateText = pieces[0]
            }
            let rate: Double
            if rateText.hasSuffix("%"), let p = Double(rateText.dropLast()) { rate = p / 100 } else if let r = Double(rateText) { rate = r } else {
                throw SettingError("--faults: '\(rateText)' is not a rate; use 0–1 or a percentage such as 5%")
            }
            guard (0...1).contains(rate) else { throw SettingError("--faults: the rate of \(kind) must be between 0 and 1") }
            if kind == "latency" {
                latencyRate = rate
            } else if let fault = Fault(rawValue: kind) {
                rates[fault] = rate
            } else if let fault = StreamFault(rawValue: kind) {
                streamRates[fault] = rate
            } else {
                throw SettingError("--faults: unknown fault '\(kind)'; expected \(Self.syntax)")
            }
        }
        guard rates.values.reduce(0, +) <= 1 else { throw SettingError("--faults: the rates of 5xx, 429, drop and lost add up to more than 1") }
        guard streamRates.values.reduce(0, +) <= 1 else { throw SettingError("--faults: the rates of wsdrop, gap, dup and reorder add up to more than 1") }
    }

    /// The fault for a roll `u` in [0, 1): each fault takes its share of the interval, in a fixed order.
    func fault(for u: Double) -> Fault? { Self.pick(u, rates) }

    /// The fault for one stream frame, from a roll `u` in [0, 1).
    func streamFault(for u: Double) -> StreamFault? { Self.pick(u, streamRates) }

    static func pick<Kind: CaseIterable & Hashable>(_ u: Double, _ rates: [Kind: Double]) -> Kind? {
        var edge = 0.0
        for f in Kind.allCases {
            edge += rates[f] ?? 0
            if u < edge { return f }
        }
        return nil
    }

    public var description: String {
        var items: [String] = []
        if latencyRate > 0 { items.append("latency=\(latencyRate)@\(latency)") }
        for f in Fault.allCases { if let r = rates[f], r > 0 { items.append("\(f.rawValue)=\(r)") } }
        for f in StreamFault.allCases { if let r = streamRates[f], r > 0 { items.append("\(f.rawValue)=\(r)") } }
        if let seed { items.append("seed=\(seed)") }
        return items.isEmpty ? "none" : items.joined(separator: ",")
    }
}
