@_exported import MMAPI
import MMStorage

/// Why a command failed: the engine API's error, so that what the engine refuses reaches the
/// user in its own words. `usage` errors are about how the command was written (exit 64 from
/// `mmsh -c`); the others are a command that could not do what it was asked (exit 1).
public typealias ShellError = APIError

extension APIError {
    /// Any error as a shell error: store errors keep their wording.
    public static func from(_ error: any Error) -> ShellError {
        switch error {
        case let e as ShellError: e
        case let e as StoreError: .failure(e.message)
        default: .failure("\(error)")
        }
    }
}
