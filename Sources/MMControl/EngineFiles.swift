import Foundation

/// The engine's socket and its files in a data directory.
public enum EngineFiles {
    public static let socket = "mmsh.sock"
    public static let log = "daemon.log"
    /// The API's version: every path starts with it.
    public static let apiVersion = "v1"
}
