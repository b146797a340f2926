/// Why a request to the engine (or a command of the shell) failed: a kind that says what went
/// wrong in a way a program can act on, and the one line a person reads. The shell prints the
/// message as it is; the HTTP API answers the kind's status and code with the same message.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// How a command or request was written (exit 64 from `mmsh -c`, HTTP 400).
        case usage
        /// What was named does not exist (HTTP 404).
        case notFound
        /// It cannot be done in the present state: running already, not running (HTTP 409).
        case conflict
        /// It was tried and could not be done (exit 1, HTTP 422).
        case failure
        /// The vault is locked and the request needs a key from it (HTTP 423).
        case locked
        case interrupted
        /// Already reported where it happened (a failing line of a sourced script).
        case reported
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func usage(_ message: String) -> APIError { APIError(.usage, message) }
    public static func failure(_ message: String) -> APIError { APIError(.failure, message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }
    public static let interrupted = APIError(.interrupted, "interrupted")

    public var description: String { message }

    /// The process exit code this error maps to.
    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .failure, .reported, .notFound, .conflict, .locked: 1
        case .interrupted: 130
        }
    }

    /// The stable code of the HTTP API's error body.
    public var code: String {
        switch kind {
        case .usage: "bad_request"
        case .notFound: "not_found"
        case .conflict: "conflict"
        case .failure, .reported: "failed"
        case .locked: "locked"
        case .interrupted: "interrupted"
        }
    }
}
