import Foundation
import MMCore

/// Tab completion as a pure function of the line typed so far; the line editor only draws.
public struct Completer: Sendable {
    public var data: CompletionData
    /// Folder that relative file names are completed in.
    public var directory: String

    public init(data: CompletionData, directory: String = FileManager.default.currentDirectoryPath) {
        self.data = data
        self.directory = directory
    }

    /// Candidates for the word under the cursor at the end of `line`, sorted, each a whole word.
    public func complete(_ line: String) -> [String] {
        let (words, open, _) = Lexer.partial(line)
        guard let first = words.first else { return filter(Shell.registry.names, open) }
        guard let spec = Shell.registry.lookup(first) else { return [] }

        if open.hasPrefix("-") {
            return filter(spec.flags.map(\.name), open)
        }
        // The value of a flag that takes one.
        if let last = words.last, let flag = spec.flag(named: last), let value = flag.value {
            return candidates(for: value.kind, open: open, words: words, spec: spec)
        }
        let positional = positionalWords(Array(words.dropFirst()), spec: spec)
        let kinds = nextKinds(spec: spec, given: positional, open: open)
        var out: [String] = []
        for kind in kinds { out += candidates(for: kind, open: open, words: positional, spec: spec) }
        // Without repeats, in the candidates' own order (ids numerically, then names), else sorted.
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// Words that are positional arguments (flags and their values removed).
    private func positionalWords(_ words: [String], spec: CommandSpec) -> [String] {
        var out: [String] = []
        var i = 0
        while i < words.count {
            if Parser.looksLikeFlag(words[i]) {
                if spec.flag(named: words[i])?.value != nil { i += 1 }
            } else {
                out.append(words[i])
            }
            i += 1
        }
        return out
    }

    /// Which kinds the next positional may be, following the parser's rule for optional ids.
    private func nextKinds(spec: CommandSpec, given: [String], open: String) -> [ArgKind] {
        var rest = given[...]
        for arg in spec.args {
            if arg.optional, case .instance = arg.kind {
                if let w = rest.first {
                    if Int(w) != nil { rest = rest.dropFirst() }
                    continue
                }
                // Nothing typed yet: an id when a digit is being typed, else what follows.
                if !open.isEmpty && open.allSatisfy(\.isNumber) { return [.instance] }
                continue
            }
            if rest.isEmpty { return [arg.kind] }
            rest = rest.dropFirst()
        }
        return []
    }

    private func candidates(for kind: ArgKind, open: String, words: [String], spec: CommandSpec) -> [String] {
        switch kind {
        // Ids in numeric order, then names: `1 2 10 btc eth`.
        case .instance: return instances(open)
        case .instanceOrAll: return instances(open) + ["all"].filter { $0.hasPrefix(open) }
        case .settingKey: return filter(Catalog.keys, open)
        case .settingValue:
            guard let key = words.last(where: { Catalog.spec($0.lowercased()) != nil }),
                  let s = Catalog.spec(key.lowercased()) else { return [] }
            return filter(s.completionValues, open)
        case .optionKey: return filter(OptionCatalog.keys, open)
        case .optionValue:
            guard let key = words.last, let s = try? OptionCatalog.lookup(key) else { return [] }
            return filter(s.completionValues, open)
        case .command: return filter(Shell.registry.names, open)
        case .choice(let c): return filter(c, open)
        case .file(let extensions): return files(open, extensions: extensions)
        case .name, .integer, .text: return []
        }
    }

    private func instances(_ open: String) -> [String] {
        let sorted = data.instances.sorted { $0.id < $1.id }
        return sorted.map { "\($0.id)" }.filter { $0.hasPrefix(open) } + sorted.map(\.name).filter { $0.hasPrefix(open) }.sorted()
    }

    private func filter(_ items: [String], _ prefix: String) -> [String] {
        items.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Entries of the folder named by `open` whose names start with its last component:
    /// folders (with a trailing /) and files with one of `extensions`.
    private func files(_ open: String, extensions: [String]) -> [String] {
        let expanded = (open as NSString).expandingTildeInPath
        let slash = expanded.lastIndex(of: "/")
        let dirPart = slash.map { String(expanded[...$0]) } ?? ""
        let prefix = slash.map { String(expanded[expanded.index(after: $0)...]) } ?? expanded
        let shownDir = open.lastIndex(of: "/").map { String(open[...$0]) } ?? ""
        let folder = dirPart.hasPrefix("/") ? dirPart : (directory as NSString).appendingPathComponent(dirPart)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var out: [String] = []
        for name in entries where name.hasPrefix(prefix) && (!name.hasPrefix(".") || prefix.hasPrefix(".")) {
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(name), isDirectory: &isDir)
            if isDir.boolValue {
                out.append(shownDir + name + "/")
            } else if extensions.isEmpty || extensions.contains((name as NSString).pathExtension) {
                out.append(shownDir + name)
            }
        }
        return out.sorted()
    }
}
