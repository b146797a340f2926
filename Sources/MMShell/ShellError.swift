import MMStorage

/// Why a command failed. `usage` errors are about how the command was written (exit 64 from
/// `mmsh -c`); `failure` is a command that could not do what it was asked (exit 1).
public struct ShellError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case usage
        case failure
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

    public static func usage(_ message: String) -> ShellError { ShellError(.usage, message) }
    public static func failure(_ message: String) -> ShellError { ShellError(.failure, message) }
    public static let interrupted = ShellError(.interrupted, "interrupted")

    public var description: String { message }

    /// Any error as a shell error: store errors keep their wording.
    public static func from(_ error: any Error) -> ShellError {
        switch error {
        case let e as ShellError: e
        case let e as StoreError: .failure(e.message)
        default: .failure("\(error)")
        }
    }

    /// The process exit code this error maps to.
    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .failure, .reported: 1
        case .interrupted: 130
        }
    }
}
