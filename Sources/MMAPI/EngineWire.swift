import Foundation
import MMCore
import MMEngine
import MMStrategy

/// How `EngineAPI` crosses the engine's socket: `POST /v1/engine/CALL` with the call's
/// arguments as a JSON array, in the protocol's order (`[1, {"spread.bid": "0.2%"}, null]`);
/// the answer `{"result": …}`, or a 4xx/5xx with `{"error": {"code", "kind", "message"}}`.
/// Calls that report as they go (backtests, sweeps, following the log, notifications) answer
/// NDJSON: a line per report, then the `result` or `error` line. Decimals are strings.
public enum EngineWire {
    public static let pathPrefix = "/v1/engine/"

    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// The error body: the kind rebuilds the same `APIError` on the client's side.
    struct ErrorBody: Codable {
        struct Detail: Codable { var code: String; var kind: String; var message: String }
        var error: Detail
        init(_ e: APIError) { error = Detail(code: e.code, kind: e.kind.rawValue, message: e.message) }
        var apiError: APIError { APIError(APIError.Kind(rawValue: error.kind) ?? .failure, error.message) }
    }

    struct ResultBody<T: Codable>: Codable { var result: T }

    static func status(_ kind: APIError.Kind) -> Int {
        switch kind {
        case .usage: 400
        case .notFound: 404
        case .conflict: 409
        case .locked: 423
        case .interrupted: 408
        case .failure, .reported: 422
        }
    }

    /// Every call by name; the OpenAPI document lists them, and a test holds the two together.
    public static let calls: [String] = [
        "instances", "overview", "instance", "createInstance", "renameInstance", "deleteInstance",
        "storedSettings", "updateSettings", "options", "setOption",
        "runningIds", "isRunning", "runState", "report", "riskModes", "rules", "start", "stop", "stopAll",
        "pause", "resume", "confirmNoOrders", "venueMarket",
        "runs", "lastRun", "fills", "ledgerFills", "ledgerTally", "samples", "pnlRows", "pnlSnapshots", "lastMid",
        "events", "clearEvents", "logEvent", "followEvents", "notifications", "closeInterruptedRuns",
        "vaultStatus", "unlockVault", "lockVault", "keyAccounts", "hasKeys", "storeKeys", "deleteKeys", "changePassphrase", "testKeys",
        "sweep", "startRecording", "recordings", "stopRecording", "backtest", "cancel",
    ]
    /// The calls answered as NDJSON streams.
    public static let streamed: Set<String> = ["followEvents", "notifications", "sweep", "backtest"]
}

/// The arguments of a call, positionally.
struct ArgumentList<each A: Encodable>: Encodable {
    let values: (repeat each A)
    func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        for v in repeat each values { try c.encode(v) }
    }
}

struct Arguments<each A: Decodable>: Decodable {
    let values: (repeat each A)
    init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        // Counted before anything is decoded: throwing once the pack is built crashes the
        // compiler (Swift 6.3.1, IRGen of the partly initialised tuple).
        var expected = 0
        for _ in repeat (each A).self { expected += 1 }
        if let count = c.count, count != expected {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(count) argument\(count == 1 ? "" : "s") where it takes \(expected)"))
        }
        func next<T: Decodable>(_: T.Type) throws -> T { try c.decode(T.self) }
        values = (repeat try next((each A).self))
    }
}

/// The tuples of the API, as objects on the wire.
struct PnLRow: Codable { var time: Int64; var mid, base, quote, value, hold, fees: String }
struct PnLSnapshot: Codable { var time: Int64; var value, hold: String }
struct TimedMid: Codable { var time: Int64; var mid: String }
struct Stopped: Codable { var id: Int; var cancelled: Int }
struct VenueMarket: Codable { var snapshot: MarketSnapshot; var rules: MarketRules }
