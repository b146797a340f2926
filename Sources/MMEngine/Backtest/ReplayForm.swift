import Foundation
import MMCore
import MMMexc
import MMRecording
import MMStrategy

/// One event of a recording's replay form: what a frame did to the book or the tape, decoded
/// once so that a replay only reads and applies. 32 bytes, little-endian, as stored.
struct ReplayEvent: Sendable, Equatable {
    enum Kind: UInt8, Sendable {
        /// A bid or ask level's absolute amount (zero removes it).
        case bid = 1, ask = 2
        /// The levels since the last marker were one change of the book (a depth frame, a snapshot).
        case moved = 3
        /// A snapshot replaces the book: it is empty, and not whole until `synced`.
        case clear = 4
        /// The book after a snapshot is whole again.
        case synced = 5
        /// A public trade, by a buying or a selling taker; `aux` is the trade's own time (ms).
        case buyTrade = 6, sellTrade = 7
        /// A blob: exchangeInfo as received.
        case rules = 8
        /// A blob: the book is lost (a gap in the recording, or the depth stream skipped versions), and why.
        case lost = 9
        /// A blob: a warning for the instance's log.
        case note = 10
        /// A blob: the recording is damaged here; nothing after it can be read.
        case damage = 11
    }

    /// Microseconds since the epoch, when the frame was received.
    var time: Int64
    /// The kind in the low byte, `aux` above it.
    var tag: Int64
    /// Prices and amounts as `packed` decimals; a blob's offset and length.
    var a: Int64
    var b: Int64

    static let size = 32

    init(_ kind: Kind, time: Int64, a: Int64 = 0, b: Int64 = 0, aux: Int64 = 0) {
        self.time = time
        tag = aux << 8 | Int64(kind.rawValue)
        self.a = a
        self.b = b
    }

    @inline(__always) var kindByte: UInt8 { UInt8(truncatingIfNeeded: tag) }
    @inline(__always) var aux: Int64 { tag >> 8 }

    /// A decimal in 64 bits: its scale in the top byte, its mantissa (below 2^56) under it.
    static func pack(_ d: Dec) -> Int64? {
        guard d.mantissa >= 0, d.mantissa < 1 << 56, d.scale <= Dec.maxScale else { return nil }
        return Int64(d.scale) << 56 | Int64(d.mantissa)
    }

    @inline(__always) static func unpack(_ v: Int64) -> Dec {
        Dec(mantissa: Int128(v & (1 << 56 - 1)), scale: Int(v >> 56))
    }
}

/// A recording's replay form: every frame decoded once into `ReplayEvent`s (the book's level
/// changes as the live client's `LocalBook` applies them, snapshots, trades, gaps), so that
/// backtests read fixed-size events rather than decompress and decode MEXC's frames again. The
/// first backtest of a file builds it and keeps it beside the file (`FILE.replay`, or in the
/// temporary directory when the file's folder is not writable); it is rebuilt when the
/// recording's size or modification time is not the one it was built from.
///
///     file   = header(64 bytes) event* blob*
///     header = "MMREPLAY" version(u32) 0(u32) source-size(i64) source-mtime-ns(i64)
///              event-count(i64) blob-bytes(i64) level-and-trade-count(i64) 0(i64)
///     event  = time-µs(i64) kind+aux<<8(i64) a(i64) b(i64)
///
/// All little-endian (the events are written as they lie in memory: every platform mmsh builds
/// for is little-endian). Prices and amounts are `ReplayEvent.pack`ed; a blob event's `a` and `b`
/// are its offset from the first blob byte and its length.
enum ReplayForm {
    static let version: UInt32 = 1
    static let magic = Array("MMREPLAY".utf8)
    static let headerSize = 64

    /// What a replay form was built from: a recording's size and modification time.
    struct Source: Equatable {
        var size: Int64
        var modified: Int64

        init(size: Int64, modified: Int64) {
            self.size = size
            self.modified = modified
        }

        init(path: String) throws(RecordingError) {
            var st = stat()
            guard stat(path, &st) == 0 else { throw RecordingError("cannot read \(path): \(String(cString: strerror(errno)))") }
            size = Int64(st.st_size)
            modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        }
    }

    /// What building a replay form went through.
    struct Built: Sendable {
        var events: Int
        var seconds: Double
    }

    /// Where the replay form of `recording` is kept: beside it, or (its folder not writable) in
    /// the temporary directory under a name made from its absolute path.
    static func cachePath(for recording: String) -> String {
        let url = URL(fileURLWithPath: recording).standardizedFileURL
        let folder = url.deletingLastPathComponent().path
        return access(folder, W_OK) == 0 ? url.path + ".replay" : temporaryPath(for: recording)
    }

    /// The replay form's place in the temporary directory, named from the recording's absolute path.
    static func temporaryPath(for recording: String) -> String {
        let url = URL(fileURLWithPath: recording).standardizedFileURL
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in url.path.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-\(String(h, radix: 16))-\(url.lastPathComponent).replay").path
    }

    /// The replay form of `recording`, built first when it is missing or stale (in the temporary
    /// directory when it cannot be written beside the recording).
    static func open(_ recording: String) throws(RecordingError) -> (reader: ReplayFormReader, built: Built?) {
        let source = try Source(path: recording)
        var path = cachePath(for: recording)
        // Beside the recording first, then where it goes when it cannot be kept there.
        for place in [path, temporaryPath(for: recording)] {
            if let reader = try? ReplayFormReader.open(place, source: source) { return (reader, nil) }
        }
        let built: Built
        do { built = try build(recording, into: path, source: source) } catch {
            guard case .unwritable(let why) = error else {
                if case .recording(let e) = error { throw e }
                throw RecordingError("\(error)")
            }
            let elsewhere = temporaryPath(for: recording)
            guard elsewhere != path else { throw why }
            path = elsewhere
            do { built = try build(recording, into: path, source: source) } catch {
                switch error {
                case .recording(let e), .unwritable(let e): throw e
                }
            }
        }
        guard let reader = try? ReplayFormReader.open(path, source: source) else {
            throw RecordingError("cannot read the replay form just built at \(path)")
        }
        return (reader, built)
    }

    /// Why a replay form could not be built: the recording cannot be read (the same wherever the
    /// form would go), or the form cannot be written where it was to go.
    enum BuildFailure: Error {
        case recording(RecordingError)
        case unwritable(RecordingError)
    }

    /// Decodes every frame of `recording` into its replay form at `path` (written beside, then
    /// renamed into place, so that a reader never sees half a file).
    @discardableResult
    static func build(_ recording: String, into path: String, source: Source) throws(BuildFailure) -> Built {
        let began = ContinuousClock.now
        let reader: RecordingReader
        do { reader = try RecordingReader.open(recording) } catch { throw .recording(error) }
        let temporary = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let out = FileHandle(forWritingAtPath: temporary) else {
            throw .unwritable(RecordingError("cannot write the replay form of \(recording) at \(temporary)"))
        }
        var writer = Writer(handle: out)
        var failed: BuildFailure?
        do { try decode(reader, into: &writer) } catch { failed = .recording(error) }
        if failed == nil, let why = writer.finish(source: source) {
            failed = .unwritable(RecordingError("cannot write the replay form of \(recording) at \(temporary): \(why)"))
        }
        try? out.close()
        if let failed {
            try? FileManager.default.removeItem(atPath: temporary)
            throw failed
        }
        guard rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw .unwritable(RecordingError("cannot keep the replay form of \(recording) at \(path): \(why)"))
        }
        let took = ContinuousClock.now - began
        return Built(events: writer.counted, seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
    }

    /// The frames' effects, as `ReplayExchange` applied them frame by frame: the book rebuilt by
    /// `LocalBook` (diffs buffered until a snapshot, versions checked), each applied diff's
    /// levels, each snapshot's resulting book, each public trade in time order, each loss of the book.
    static func decode(_ reader: RecordingReader, into w: inout Writer) throws(RecordingError) {
        var book = LocalBook()
        func level(_ kind: ReplayEvent.Kind, _ l: BookLevel, _ time: Int64) throws(RecordingError) {
            guard let p = ReplayEvent.pack(l.price), let a = ReplayEvent.pack(max(l.amount, 0)) else {
                throw RecordingError("\(reader.path): a level \(l.price) × \(l.amount) at \(TimeText.iso(time / 1000)) is beyond what a replay holds")
            }
            w.add(ReplayEvent(kind, time: time, a: p, b: a))
        }
        while true {
            let frame: RecordFrame?
            do { frame = try reader.next() } catch {
                // What could be read stands; the replay stops here with the reason.
                w.blob(.damage, time: w.lastTime, Array(error.message.utf8))
                return
            }
            guard let f = frame else { return }
            let t = f.time
            switch f.kind {
            case .meta:
                break
            case .rules:
                w.blob(.rules, time: t, f.payload)
            case .snapshot:
                guard let depth = try? decodeMEXC(Depth.self, from: Data(f.payload)), let levels = try? depth.levels() else {
                    w.blob(.note, time: t, Array("an unreadable depth snapshot at \(TimeText.iso(t / 1000)) was skipped".utf8))
                    continue
                }
                let outcome = book.snapshot(lastUpdateId: depth.lastUpdateId, bids: levels.bids.map { BookLevel($0.0, $0.1) },
                                            asks: levels.asks.map { BookLevel($0.0, $0.1) })
                w.add(ReplayEvent(.clear, time: t))
                if case .needsSnapshot(let reason) = outcome {
                    book.reset()
                    w.blob(.lost, time: t, Array("the depth stream skipped versions (\(reason))".utf8))
                    continue
                }
                for l in book.levels.bidLevels.reversed() { try level(.bid, l, t) }
                for l in book.levels.askLevels.reversed() { try level(.ask, l, t) }
                w.add(ReplayEvent(.synced, time: t))
                w.add(ReplayEvent(.moved, time: t))
            case .stream:
                guard let event = try? StreamFrames.decode(Data(f.payload)) else { continue }
                switch event {
                case .depth(_, let diff):
                    switch book.apply(diff) {
                    case .applied:
                        for l in diff.bids { try level(.bid, l, t) }
                        for l in diff.asks { try level(.ask, l, t) }
                        w.add(ReplayEvent(.moved, time: t))
                    case .needsSnapshot(let reason):
                        book.reset()
                        w.blob(.lost, time: t, Array("the depth stream skipped versions (\(reason))".utf8))
                    default:
                        break
                    }
                case .deals(_, let deals):
                    for d in deals.sorted(by: { $0.time < $1.time }) {
                        guard let p = ReplayEvent.pack(d.price), let q = ReplayEvent.pack(d.quantity) else {
                            throw RecordingError("\(reader.path): a trade \(d.price) × \(d.quantity) at \(TimeText.iso(t / 1000)) is beyond what a replay holds")
                        }
                        w.add(ReplayEvent(d.takerSide == .buy ? .buyTrade : .sellTrade, time: t, a: p, b: q, aux: d.time))
                    }
                default:
                    break
                }
            case .gap:
                let reason = (try? JSONSerialization.jsonObject(with: Data(f.payload)) as? [String: Any])?["reason"] as? String ?? "the streams were lost"
                book.reset()
                w.blob(.lost, time: t, Array(reason.utf8))
            }
        }
    }

    /// Writes events a buffer at a time, blobs kept until the end (they are few: exchangeInfo
    /// after each reconnect, the reasons of gaps). A write that fails is kept in `failure` and
    /// nothing more is written: the decoding goes on, and `finish` says it failed.
    struct Writer {
        let handle: FileHandle
        var buffer: [ReplayEvent] = []
        var blobs: [UInt8] = []
        var count = 0
        var counted = 0
        var lastTime: Int64 = 0
        var failure: String?

        init(handle: FileHandle) {
            self.handle = handle
            buffer.reserveCapacity(1 << 15)
            write(Data(count: ReplayForm.headerSize))
        }

        mutating func add(_ e: ReplayEvent) {
            buffer.append(e)
            count += 1
            lastTime = e.time
            switch ReplayEvent.Kind(rawValue: e.kindByte) {
            case .bid, .ask, .buyTrade, .sellTrade: counted += 1
            default: break
            }
            if buffer.count == 1 << 15 { flush() }
        }

        mutating func blob(_ kind: ReplayEvent.Kind, time: Int64, _ bytes: [UInt8]) {
            add(ReplayEvent(kind, time: time, a: Int64(blobs.count), b: Int64(bytes.count)))
            blobs += bytes
        }

        mutating func flush() {
            guard !buffer.isEmpty else { return }
            let data = buffer.withUnsafeBytes { Data($0) }
            buffer.removeAll(keepingCapacity: true)
            write(data)
        }

        /// Writes the blobs and the header; the failure of any write so far, if one failed.
        mutating func finish(source: Source) -> String? {
            flush()
            write(Data(blobs))
            var header = ReplayForm.magic
            func put(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
            withUnsafeBytes(of: ReplayForm.version.littleEndian) { header += $0 }
            header += [0, 0, 0, 0]
            for v in [source.size, source.modified, Int64(count), Int64(blobs.count), Int64(counted), 0] { put(v) }
            guard failure == nil else { return failure }
            do {
                try handle.seek(toOffset: 0)
                try handle.write(contentsOf: header)
                try handle.synchronize()
            } catch {
                failure = error.localizedDescription
            }
            return failure
        }

        mutating func write(_ data: Data) {
            guard failure == nil else { return }
            do { try handle.write(contentsOf: data) } catch { failure = error.localizedDescription }
        }
    }
}

/// Reads a replay form a buffer of events at a time (memory stays at one buffer, whatever the
/// recording's length). A value type, so that a replay's loop reads it without the exclusivity
/// checks a class's stored properties cost.
struct ReplayFormReader {
    let path: String
    let handle: FileHandle
    /// Events in the file.
    let count: Int
    let blobs: [UInt8]
    private(set) var buffer: [ReplayEvent] = []
    private(set) var index = 0
    /// Events read into buffers before this one.
    private(set) var consumed = 0

    static let bufferEvents = 1 << 15

    static func open(_ path: String, source: ReplayForm.Source) throws(RecordingError) -> ReplayFormReader {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RecordingError("no replay form at \(path)") }
        func fail(_ why: String) -> RecordingError {
            try? handle.close()
            return RecordingError("\(path): \(why)")
        }
        let header = [UInt8]((try? handle.read(upToCount: ReplayForm.headerSize)) ?? Data())
        guard header.count == ReplayForm.headerSize, Array(header.prefix(8)) == ReplayForm.magic else { throw fail("not a replay form") }
        func int(_ at: Int) -> Int64 {
            var v: Int64 = 0
            for i in 0..<8 { v |= Int64(header[at + i]) << (8 * i) }
            return v
        }
        guard Int64(header[8]) | Int64(header[9]) << 8 == Int64(ReplayForm.version) else { throw fail("a replay form of another version") }
        guard ReplayForm.Source(size: int(16), modified: int(24)) == source else { throw fail("built from another state of its recording") }
        let count = int(32), blobBytes = int(40)
        let size = Int64((try? handle.seekToEnd()) ?? 0)
        guard count >= 0, blobBytes >= 0, size == Int64(ReplayForm.headerSize) + count * Int64(ReplayEvent.size) + blobBytes else {
            throw fail("a replay form of the wrong length")
        }
        let blobs: [UInt8]
        do {
            try handle.seek(toOffset: UInt64(ReplayForm.headerSize) + UInt64(count) * UInt64(ReplayEvent.size))
            blobs = [UInt8](try handle.read(upToCount: Int(blobBytes)) ?? Data())
            try handle.seek(toOffset: UInt64(ReplayForm.headerSize))
        } catch {
            throw fail("cannot be read: \(error.localizedDescription)")
        }
        guard blobs.count == Int(blobBytes) else { throw fail("a replay form cut short") }
        return ReplayFormReader(path: path, handle: handle, count: Int(count), blobs: blobs)
    }

    private init(path: String, handle: FileHandle, count: Int, blobs: [UInt8]) {
        self.path = path
        self.handle = handle
        self.count = count
        self.blobs = blobs
    }

    /// How far through the events reading is, 0 to 1.
    var progress: Double { count > 0 ? Double(consumed + index) / Double(count) : 1 }

    /// The next event, without taking it; nil at the end.
    @inline(__always) mutating func peek() throws(RecordingError) -> ReplayEvent? {
        if index == buffer.count {
            guard try refill() else { return nil }
        }
        return buffer[index]
    }

    @inline(__always) mutating func take() { index += 1 }

    mutating func refill() throws(RecordingError) -> Bool {
        consumed += buffer.count
        let left = count - consumed
        guard left > 0 else {
            buffer = []
            index = 0
            return false
        }
        let n = min(left, Self.bufferEvents)
        let data: Data
        do { data = try handle.read(upToCount: n * ReplayEvent.size) ?? Data() } catch {
            throw RecordingError("\(path) cannot be read: \(error.localizedDescription)")
        }
        guard data.count == n * ReplayEvent.size else { throw RecordingError("\(path) was cut short while it was read") }
        if buffer.count != n { buffer = [ReplayEvent](repeating: ReplayEvent(.moved, time: 0), count: n) }
        buffer.withUnsafeMutableBytes { out in _ = data.copyBytes(to: out) }
        index = 0
        return true
    }

    func blob(_ e: ReplayEvent) -> [UInt8] {
        let from = Int(e.a), length = Int(e.b)
        guard from >= 0, length >= 0, from + length <= blobs.count else { return [] }
        return Array(blobs[from..<(from + length)])
    }

    func close() { try? handle.close() }
}
