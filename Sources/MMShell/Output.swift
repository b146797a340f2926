import Foundation

/// A JSON document with a stable field order.
public indirect enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool { a.serialized() == b.serialized() }

    /// Compact when `pretty` is false; otherwise two-space indentation.
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(into: &out, indent: pretty ? 0 : nil)
        return out
    }

    private func write(into out: inout String, indent: Int?) {
        let nl = indent.map { "\n" + String(repeating: "  ", count: $0 + 1) } ?? ""
        let close = indent.map { "\n" + String(repeating: "  ", count: $0) } ?? ""
        let inner = indent.map { $0 + 1 }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .string(let s): JSON.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                out += (i > 0 ? "," : "") + nl
                item.write(into: &out, indent: inner)
            }
            out += close + "]"
        case .object(let fields):
            if fields.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                out += (i > 0 ? "," : "") + nl
                JSON.quote(key, into: &out)
                out += indent == nil ? ":" : ": "
                value.write(into: &out, indent: inner)
            }
            out += close + "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// How a span of text is shown on a colour terminal.
public enum Style: Sendable {
    case plain, bold, dim, red, green, yellow, blue, cyan

    var ansi: String {
        switch self {
        case .plain: ""
        case .bold: "\u{1B}[1m"
        case .dim: "\u{1B}[2m"
        case .red: "\u{1B}[31m"
        case .green: "\u{1B}[32m"
        case .yellow: "\u{1B}[33m"
        case .blue: "\u{1B}[34m"
        case .cyan: "\u{1B}[36m"
        }
    }
}

/// A line of text made of styled spans.
public struct Line: Sendable, ExpressibleByStringLiteral {
    public var spans: [(String, Style)]
    public init(_ spans: [(String, Style)]) { self.spans = spans }
    public init(_ text: String, _ style: Style = .plain) { self.spans = [(text, style)] }
    public init(stringLiteral value: String) { self.init(value) }

    public var plain: String { spans.map(\.0).joined() }
}

/// A table with a header row; columns are aligned on output.
public struct Table: Sendable {
    public enum Align: Sendable { case left, right }
    public var header: [String]
    public var align: [Align]
    public var rows: [[(String, Style)]]

    public init(_ header: [String], align: [Align]? = nil, rows: [[(String, Style)]] = []) {
        self.header = header
        self.align = align ?? header.map { _ in .left }
        self.rows = rows
    }

    public mutating func add(_ cells: [String]) { rows.append(cells.map { ($0, .plain) }) }
    public mutating func add(styled cells: [(String, Style)]) { rows.append(cells) }
}

/// What a command shows: text blocks for people and, for commands that show data, a JSON document.
public struct Output: Sendable {
    public enum Block: Sendable {
        case line(Line)
        case table(Table)
        /// Text shown exactly as it is (CSV): never wrapped or coloured.
        case raw(String)
    }

    public var blocks: [Block] = []
    public var json: JSON?

    public init(blocks: [Block] = [], json: JSON? = nil) {
        self.blocks = blocks
        self.json = json
    }

    public static let empty = Output()

    public static func message(_ text: String, _ style: Style = .plain, json: JSON? = nil) -> Output {
        Output(blocks: [.line(Line(text, style))], json: json)
    }

    public mutating func line(_ l: Line) { blocks.append(.line(l)) }
    public mutating func line(_ text: String, _ style: Style = .plain) { blocks.append(.line(Line(text, style))) }
    public mutating func table(_ t: Table) { blocks.append(.table(t)) }
}

/// Turns output into text: plain, coloured, or JSON.
public struct Renderer: Sendable {
    public var color: Bool
    /// Lines longer than this wrap at spaces (never inside a word), continuing at the line's
    /// own indentation; nil leaves them whole (pipes, files, JSON).
    public var width: Int?
    public init(color: Bool, width: Int? = nil) {
        self.color = color
        self.width = width
    }

    public func render(_ output: Output, json: Bool) -> String {
        if json, let document = output.json { return document.serialized() + "\n" }
        var out = ""
        for block in output.blocks {
            switch block {
            case .line(let l): out += render(l) + "\n"
            case .table(let t): out += render(t)
            case .raw(let text): out += text
            }
        }
        return out
    }

    public func render(_ line: Line) -> String {
        guard let width, width >= 20, line.spans.reduce(0, { $0 + $1.0.count }) > width else {
            return line.spans.map { paint($0.0, $0.1) }.joined()
        }
        return wrap(line, width: width)
    }

    /// Word wrapping that keeps each word's style.
    func wrap(_ line: Line, width: Int) -> String {
        let indent = String(line.spans.map(\.0).joined().prefix { $0 == Character(" ") })
        var words: [(text: String, style: Style, space: Bool)] = []
        for (text, style) in line.spans {
            var current = ""
            for c in text {
                if c == " " {
                    if !current.isEmpty { words.append((current, style, false)); current = "" }
                    words.append((" ", style, true))
                } else {
                    current.append(c)
                }
            }
            if !current.isEmpty { words.append((current, style, false)) }
        }
        var out = "", column = 0, pendingSpaces: [(String, Style)] = []
        for w in words {
            if w.space { pendingSpaces.append((w.text, w.style)); continue }
            let spaces = pendingSpaces.count
            if column > indent.count && column + spaces + w.text.count > width {
                out += "\n" + indent
                column = indent.count
            } else {
                for (s, style) in pendingSpaces { out += paint(s, style) }
                column += spaces
            }
            pendingSpaces = []
            out += paint(w.text, w.style)
            column += w.text.count
        }
        return out
    }

    public func paint(_ text: String, _ style: Style) -> String {
        guard color, style != .plain, !text.isEmpty else { return text }
        return style.ansi + text + "\u{1B}[0m"
    }

    public func render(_ table: Table) -> String {
        let columns = table.header.count
        var widths = table.header.map(\.count)
        for row in table.rows {
            for (i, cell) in row.enumerated() where i < columns { widths[i] = max(widths[i], cell.0.count) }
        }
        func format(_ cells: [(String, Style)]) -> String {
            var parts: [String] = []
            for i in 0..<columns {
                let (text, style) = i < cells.count ? cells[i] : ("", .plain)
                let pad = String(repeating: " ", count: widths[i] - text.count)
                let last = i == columns - 1
                switch table.align[i] {
                case .left: parts.append(paint(text, style) + (last ? "" : pad))
                case .right: parts.append(pad + paint(text, style))
                }
            }
            return parts.joined(separator: "  ")
        }
        var out = format(table.header.map { ($0, .bold) }) + "\n"
        for row in table.rows { out += format(row) + "\n" }
        return out
    }
}

/// RFC 4180: fields with a comma, a quote or a line break are quoted, quotes doubled; CRLF ends each row.
public enum CSV {
    public static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func text(_ rows: [[String]]) -> String {
        rows.map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }
}
