import Logging
import ServiceLifecycle

/// A server that stops gracefully: it stops accepting, lets the connections it has finish, then
/// returns. Cancelling Hummingbird's `run()` instead drops connections that were accepted but
/// not yet handled, which NIO takes for a programming error that stops the process: an engine
/// stopping while a client connects (`daemon stop` watches the socket as it goes) would crash.
final class GracefulServer: Sendable {
    private let group: ServiceGroup

    init(_ server: some Service, logger: Logger) {
        group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger))
    }

    func run() async throws { try await group.run() }

    /// Asks for the graceful stop; `run` returns once the open connections have finished.
    func stop() async { await group.triggerGracefulShutdown() }
}
