import Testing
@testable import MMShell

@Suite struct LexerTests {
    func words(_ line: String) throws -> [[String]] {
        try Lexer.statements(line).map { $0.map(\.text) }
    }

    @Test func splitsWordsAndStatements() throws {
        #expect(try words("set spread.bid 0.2%") == [["set", "spread.bid", "0.2%"]])
        #expect(try words("  new  a ;list;; show --json ") == [["new", "a"], ["list"], ["show", "--json"]])
        #expect(try words("") == [])
        #expect(try words("   \t ") == [])
    }

    @Test func quotesAndEscapes() throws {
        #expect(try words("rename 1 'a b'") == [["rename", "1", "a b"]])
        #expect(try words(#"x "say \"hi\" \\ \n""#) == [["x", "say \"hi\" \\ \n"]])
        #expect(try words(#"x a\ b c\;d"#) == [["x", "a b", "c;d"]])
        #expect(try words("x 'semi;colon' \"#not comment\"") == [["x", "semi;colon", "#not comment"]])
        #expect(try words("x ''") == [["x", ""]])
        #expect(try words("x pre'mid'post") == [["x", "premidpost"]])
    }

    @Test func comments() throws {
        #expect(try words("# a comment") == [])
        #expect(try words("#!/usr/bin/env -S mmsh run") == [])
        #expect(try words("set a b # trailing") == [["set", "a", "b"]])
        #expect(try words("set a#b") == [["set", "a#b"]])
    }

    @Test func columnsForCarets() throws {
        let s = try Lexer.statements("set  spread.bid 1")
        #expect(s[0].map(\.column) == [1, 6, 17])
    }

    @Test(arguments: [
        ("set 'open", "unterminated ' quote starting at column 5; close it with '"),
        ("set \"open", "unterminated \" quote starting at column 5; close it with \""),
        (#"set "\q""#, #"unknown escape '\q' at column 6; inside "…" use \", \\, \n or \t"#),
        (#"set a\q"#, #"unknown escape '\q' at column 6; outside quotes \ only escapes a space, a quote, ;, # or \"#),
        ("set a\\", "a line cannot end with \\"),
        ("set \u{07}bell", "control character U+0007 at column 5 is not allowed"),
        ("set a\u{1B}[31m", "control character U+001B at column 6 is not allowed"),
    ])
    func errors(line: String, message: String) {
        #expect(throws: ShellError.usage(message)) { try Lexer.statements(line) }
    }

    @Test func overLongLine() {
        let line = "set " + String(repeating: "x", count: 5000)
        #expect(throws: ShellError.usage("line too long (5004 characters; at most 4096)")) { try Lexer.statements(line) }
    }

    @Test func unicodeIsFine() throws {
        #expect(try words("rename 1 'héllo wörld'") == [["rename", "1", "héllo wörld"]])
    }

    @Test func partialLines() {
        #expect(Lexer.partial("set spr").words == ["set"])
        #expect(Lexer.partial("set spr").open == "spr")
        #expect(Lexer.partial("set ").open == "")
        #expect(Lexer.partial("set ").words == ["set"])
        #expect(Lexer.partial("new; set 'a b").words == ["set"])
        #expect(Lexer.partial("new; set 'a b").open == "a b")
    }

    @Test(arguments: ["plain", "a b", "it's", "semi;colon", "#hash", "back\\slash", "quote\"d", "", "new\nline", "tab\tbed", "é ü"])
    func quoteRoundTrips(word: String) throws {
        let line = "x " + Lexer.quote(word)
        #expect(try Lexer.statements(line)[0].map(\.text) == ["x", word])
    }
}
