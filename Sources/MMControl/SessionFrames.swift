import Foundation

/// The engine's socket and its files in a data directory.
public enum EngineFiles {
    public static let socket = "mmsh.sock"
    public static let log = "daemon.log"
    /// The API's version: every path starts with it.
    public static let apiVersion = "v1"
}

/// A frame of an attached shell's session (`GET /v1/session`, upgraded to a WebSocket): JSON
/// text, one object a frame, told apart by `type`.
///
/// Client → engine: `hello` (once, first), `run`, `script`, `answer`, `secret`, `interrupt`.
/// Engine → client: `welcome`, `out`, `err`, `ask`, `ask_secret`, `done`, `notify`.
public struct SessionFrame: Codable, Sendable, Equatable {
    public var type: Kind
    /// `out`, `err`: text to print; `ask`, `ask_secret`: the question.
    public var text: String?
    /// `run`: the line; `script`: the file (absolute).
    public var line: String?
    /// `ask`, `ask_secret`, `answer`, `secret`: which question.
    public var id: Int?
    /// `answer`: yes or no.
    public var yes: Bool?
    /// `run`: how errors are reported (`interactive`, `argument`, `script`); `script`: keep going.
    public var origin: String?
    public var keepGoing: Bool?
    public var echo: Bool?
    /// `hello`: what the client is.
    public var hello: Hello?
    /// `welcome`, `done`: the state the client shows.
    public var state: ClientState?
    /// `done`: the command's result.
    public var exitCode: Int32?
    /// `notify`: lines to show above the next prompt.
    public var lines: [String]?
    /// `run`, `script`: the client terminal's width, when its stdout is one (help wraps at it).
    public var columns: Int?

    public enum Kind: String, Codable, Sendable {
        case hello, run, script, answer, secret, interrupt
        case welcome, out, err, ask, askSecret = "ask_secret", done, notify
    }

    public init(_ type: Kind) { self.type = type }

    public static func out(_ text: String) -> SessionFrame { var f = SessionFrame(.out); f.text = text; return f }
    public static func err(_ text: String) -> SessionFrame { var f = SessionFrame(.err); f.text = text; return f }
    public static func run(_ line: String, origin: String) -> SessionFrame {
        var f = SessionFrame(.run); f.line = line; f.origin = origin; return f
    }

    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func decode(_ text: String) -> SessionFrame? { try? JSONDecoder().decode(SessionFrame.self, from: Data(text.utf8)) }
}

/// What a client says of itself when it attaches.
public struct Hello: Codable, Sendable, Equatable {
    public var version: Int
    /// A person answers questions at this client (stdin is a terminal).
    public var interactive: Bool
    /// Its stdout is a terminal (colour, tables, redrawing).
    public var terminal: Bool
    /// Its working directory: relative paths start there.
    public var directory: String
    /// The variables of its environment that commands read (MMSH_PASSPHRASE, MMSH_API_KEY, NO_COLOR, …).
    public var environment: [String: String]
    public init(version: Int = 1, interactive: Bool, terminal: Bool, directory: String, environment: [String: String]) {
        self.version = version
        self.interactive = interactive
        self.terminal = terminal
        self.directory = directory
        self.environment = environment
    }

    /// The variables a client passes on to the engine.
    public static let forwarded = ["MMSH_PASSPHRASE", "MMSH_NEW_PASSPHRASE", "MMSH_API_KEY", "MMSH_API_SECRET", "NO_COLOR"]
}

/// The prompt and what completion offers, sent after every command.
public struct ClientState: Codable, Sendable, Equatable {
    public var prompt: String
    public var instances: [InstanceName]
    public var quit: Bool
    public var historySize: Int
    /// The current instance, for '?' on a line that names none.
    public var current: Int?
    public init(prompt: String, instances: [InstanceName], quit: Bool, historySize: Int, current: Int? = nil) {
        self.prompt = prompt
        self.instances = instances
        self.quit = quit
        self.historySize = historySize
        self.current = current
    }
}

public struct InstanceName: Codable, Sendable, Equatable {
    public var id: Int
    public var name: String
    /// Its stored (non-default) settings as text, for '?' to show a setting's current value.
    public var settings: [String: String]?
    public init(id: Int, name: String, settings: [String: String]? = nil) { self.id = id; self.name = name; self.settings = settings }
}
