import Foundation
import MMCore
import MMMexc
import MMSimServer
import Synchronization

/// `mmsh sim serve` in process on a free loopback port, for one test.
final class LoopbackServer: Sendable {
    let server: SimServer
    let url: String
    let credentials: APICredentials
    private let task: Task<Void, any Error>

    var simulator: SimulatedMEXC { server.simulator }
    var wsURL: String { url.replacingOccurrences(of: "http://", with: "ws://") + "/ws" }

    /// `sim`: sim.* settings of every market; `shift`: ms added to the server's clock.
    static func start(pairs: [String] = ["BTCUSDT"], sim: [String: String] = [:], faults: String? = nil, limit: Int = 500,
                      shift: ClockShift? = nil) async throws -> LoopbackServer {
        var options = SimServerOptions(credentials: APICredentials(key: "mx0testkey", secret: "0123456789abcdef0123456789abcdef"))
        options.port = 0
        options.pairs = pairs
        options.ipLimit = limit
        options.uidLimit = limit
        for (k, v) in sim { options.settings.set(k, try Catalog.lookup(k).parse(v)) }
        if let faults { options.faults = try FaultPlan(spec: faults) }
        let clockShift = shift
        let server = try SimServer(options: options, now: {
            Int64(Date().timeIntervalSince1970 * 1000) + (clockShift?.ms ?? 0)
        })
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run { port in continuation.yield(port) } }
        var port = 0
        for await p in ports { port = p; break }
        return LoopbackServer(server: server, url: "http://127.0.0.1:\(port)", credentials: options.credentials, task: task)
    }

    private init(server: SimServer, url: String, credentials: APICredentials, task: Task<Void, any Error>) {
        self.server = server
        self.url = url
        self.credentials = credentials
        self.task = task
    }

    func client(ipPool: WeightPool = WeightPool(), uidPool: WeightPool = WeightPool(), credentials: APICredentials? = nil) -> MEXCClient {
        MEXCClient(baseURL: url, credentials: credentials ?? self.credentials, transport: CurlTransport(totalTimeout: .seconds(3)),
                   ipPool: ipPool, uidPool: uidPool)
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// Milliseconds added to the simulator server's clock, changed while it runs.
final class ClockShift: Sendable {
    private let value = Mutex<Int64>(0)
    var ms: Int64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
