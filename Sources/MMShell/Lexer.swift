/// A word of a command line, with the 1-based column where it starts (for error carets).
public struct Word: Equatable, Sendable {
    public var text: String
    public var column: Int
    /// Some of it was quoted or escaped: `'>'` is a word, `>` a redirection.
    public var quoted: Bool
    public init(_ text: String, column: Int, quoted: Bool = false) {
        self.text = text
        self.column = column
        self.quoted = quoted
    }

    public static func == (a: Word, b: Word) -> Bool { a.text == b.text && a.column == b.column }
}

/// Splits a line into statements (`;`) of words.
///
/// Quoting follows the shell: `'literal'`, `"with \" \\ \n \t escapes"`, and `\` before a space,
/// quote, `;`, `#` or `\` outside quotes. `#` at the start of a word begins a comment.
public enum Lexer {
    public static let maxLineLength = 4096

    public static func statements(_ line: String) throws(ShellError) -> [[Word]] {
        let result = scan(line, partial: false)
        if let error = result.error { throw error }
        return result.statements.filter { !$0.isEmpty }
    }

    /// The words of the statement being typed at the end of `line`, tolerant of an unterminated
    /// quote; `open` is the text of the word under the cursor ("" after a space).
    public static func partial(_ line: String) -> (words: [String], open: String, openColumn: Int) {
        let result = scan(line, partial: true)
        var words = (result.statements.last ?? []).map(\.text)
        if result.endsInWord, let last = words.popLast() {
            let column = result.statements.last?.last?.column ?? 1
            return (words, last, column)
        }
        return (words, "", line.count + 1)
    }

    private struct Scan {
        var statements: [[Word]] = [[]]
        var error: ShellError?
        var endsInWord = false
    }

    private static func scan(_ line: String, partial: Bool) -> Scan {
        var out = Scan()
        let chars = Array(line)
        if chars.count > maxLineLength && !partial {
            out.error = ShellError.usage("line too long (\(chars.count) characters; at most \(maxLineLength))")
            return out
        }
        var current: String?
        var quoted = false
        var start = 0
        var i = 0
        func finish() {
            if let w = current { out.statements[out.statements.count - 1].append(Word(w, column: start + 1, quoted: quoted)) }
            current = nil
            quoted = false
        }
        func fail(_ message: String) -> Scan {
            var s = out
            s.error = .usage(message)
            return s
        }
        while i < chars.count {
            let c = chars[i]
            if let bad = controlCharacter(c) {
                if partial { i += 1; continue }
                return fail("control character \(bad) at column \(i + 1) is not allowed")
            }
            switch c {
            case " ", "\t":
                finish()
            case ";":
                finish()
                out.statements.append([])
            case "#" where current == nil:
                i = chars.count
                continue
            case "'":
                if current == nil { current = ""; start = i }
                quoted = true
                guard let end = chars[(i + 1)...].firstIndex(of: "'") else {
                    if partial { current! += String(chars[(i + 1)...]); i = chars.count; continue }
                    return fail("unterminated ' quote starting at column \(i + 1); close it with '")
                }
                current! += String(chars[(i + 1)..<end])
                i = end
            case "\"":
                if current == nil { current = ""; start = i }
                quoted = true
                var j = i + 1
                var closed = false
                while j < chars.count {
                    let d = chars[j]
                    if d == "\"" { closed = true; break }
                    if d == "\\" {
                        guard j + 1 < chars.count else { break }
                        switch chars[j + 1] {
                        case "\"": current! += "\""
                        case "\\": current! += "\\"
                        case "n": current! += "\n"
                        case "t": current! += "\t"
                        default:
                            if partial { current! += String(chars[j + 1]); j += 2; continue }
                            return fail("unknown escape '\\\(chars[j + 1])' at column \(j + 1); inside \"…\" use \\\", \\\\, \\n or \\t")
                        }
                        j += 2
                        continue
                    }
                    current! += String(d)
                    j += 1
                }
                if !closed {
                    if partial { i = chars.count; continue }
                    return fail("unterminated \" quote starting at column \(i + 1); close it with \"")
                }
                i = j
            case "\\":
                if current == nil { current = ""; start = i }
                quoted = true
                guard i + 1 < chars.count else {
                    if partial { i += 1; continue }
                    return fail("a line cannot end with \\")
                }
                let n = chars[i + 1]
                guard [" ", "\t", "\\", "'", "\"", ";", "#"].contains(n) else {
                    if partial { current! += String(n); i += 2; continue }
                    return fail("unknown escape '\\\(n)' at column \(i + 1); outside quotes \\ only escapes a space, a quote, ;, # or \\")
                }
                current! += String(n)
                i += 1
            default:
                if current == nil { current = ""; start = i }
                current! += String(c)
            }
            i += 1
        }
        out.endsInWord = current != nil
        finish()
        return out
    }

    /// `U+0007`-style name of a character that may not appear on a line, or nil.
    static func controlCharacter(_ c: Character) -> String? {
        for scalar in c.unicodeScalars where (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F
            || (0x80...0x9F).contains(scalar.value) {
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        return nil
    }

    /// Quotes a word so that the lexer reads it back unchanged (used by `save` and completion).
    public static func quote(_ word: String) -> String {
        if word.isEmpty { return "''" }
        let special: Set<Character> = [" ", "\t", "\n", "'", "\"", ";", "#", "\\"]
        guard word.contains(where: { special.contains($0) }) else { return word }
        if !word.contains(where: { $0 == "'" || $0 == "\n" || $0 == "\t" }) { return "'" + word + "'" }
        var out = "\""
        for c in word {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(c)
            }
        }
        return out + "\""
    }
}
