import MMShell

/// libFuzzer target: any line typed at the prompt or found in a script goes through the lexer,
/// the parser, completion and `?` help without crashing; errors are fine.
func fuzzShellLine(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = input else { return 0 }
    let line = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let parser = Parser(registry: Shell.registry)
    if let statements = try? Lexer.statements(line) {
        for words in statements { _ = try? parser.parse(words) }
    }
    _ = Lexer.partial(line)
    _ = Shell.shouldRecord(line)
    _ = Completer(data: CompletionData()).complete(line)
    _ = Help.context(line: line, data: CompletionData())
    return 0
}
