import CompressNIO
import Foundation
import NIOCore

/// What one frame of a recording holds. Payloads are kept exactly as MEXC sent them (JSON for
/// REST answers, the protobuf wrapper for stream frames), so the file alone rebuilds the book.
public enum RecordKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// `RecordingMeta` as JSON: the first frame of every file.
    case meta = 1
    /// exchangeInfo for the pair, as received.
    case rules = 2
    /// A REST depth snapshot, as received (at connect and after every resync).
    case snapshot = 3
    /// A WebSocket binary frame (a `PushDataV3ApiWrapper`), as received.
    case stream = 4
    /// The streams were lost (JSON `{"reason": …}`): nothing is known until the next snapshot.
    case gap = 5

    public var description: String {
        switch self {
        case .meta: "meta"
        case .rules: "rules"
        case .snapshot: "snapshot"
        case .stream: "stream"
        case .gap: "gap"
        }
    }
}

/// One frame: its kind, when it was received (microseconds since the epoch, local clock), its bytes.
public struct RecordFrame: Sendable, Equatable {
    public var kind: RecordKind
    public var time: Int64
    public var payload: [UInt8]

    public init(kind: RecordKind, time: Int64, payload: [UInt8]) {
        self.kind = kind
        self.time = time
        self.payload = payload
    }
}

/// What a recording is of.
public struct RecordingMeta: Codable, Sendable, Equatable {
    public var format: Int
    public var pair: String
    /// "mexc" (MEXC's streams, or a server at `url` that speaks them) or "sim" (`mmsh sim record`).
    public var source: String
    public var url: String?
    /// The depth stream's cadence: "100ms" or "10ms".
    public var depth: String
    /// Milliseconds since the epoch when recording began.
    public var started: Int64
    public var seed: UInt64?

    public init(pair: String, source: String, url: String? = nil, depth: String, started: Int64, seed: UInt64? = nil) {
        self.format = Int(RecordingFormat.version)
        self.pair = pair
        self.source = source
        self.url = url
        self.depth = depth
        self.started = started
        self.seed = seed
    }
}

public struct RecordingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// What the untyped initializers threw, as a `RecordingError`.
    public static func from(_ error: any Error) -> RecordingError { error as? RecordingError ?? RecordingError("\(error)") }
}

/// The file format, version 1:
///
///     file   = "MMSHREC" version(1 byte) block*
///     block  = "MMBK" compressed-size(u32 LE) raw-size(u32 LE) zlib-data
///     raw    = frame*
///     frame  = kind(1 byte) time-delta(zigzag varint, µs) length(varint) payload
///
/// Blocks are independent zlib streams (with zlib's Adler-32 over the raw bytes), each written
/// whole with one `write` and synced: a crash loses at most the block being gathered (a second),
/// and the file reads up to the last whole block. A block's first frame carries its time against
/// zero, later ones against the frame before.
public enum RecordingFormat {
    public static let version: UInt8 = 1
    static let magic: [UInt8] = Array("MMSHREC".utf8)
    static let blockMarker: [UInt8] = Array("MMBK".utf8)
    static let headerSize = 8
    static let blockHeaderSize = 12
    /// Raw bytes gathered before a block is written at the latest.
    public static let blockBytes = 1 << 20
    /// A block's largest raw size a reader accepts (anything bigger is damage).
    static let maxBlockBytes = 64 << 20

    static func putVarint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    static func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
    static func readU32(_ bytes: ArraySlice<UInt8>) -> Int {
        var v = 0
        for (i, b) in bytes.prefix(4).enumerated() { v |= Int(b) << (i * 8) }
        return v
    }
}

/// Appends frames to a new recording file. Frames gather in memory and are written as one
/// compressed block when a second has passed since the block's first frame (by the wall clock,
/// so that a crash loses at most a second) or a megabyte has gathered; `flushIfDue()` lets a
/// quiet recorder write on time, and `close()` writes what is left.
public final class RecordingWriter {
    public let path: String
    let fd: Int32
    var raw: [UInt8] = []
    var lastTime: Int64 = 0
    var blockStarted: ContinuousClock.Instant?
    let sync: Bool
    /// Frames appended after the header frame, and bytes written.
    public private(set) var frames = 0
    public private(set) var bytes = 0

    /// Creates `path` (it must not exist unless `replace`) and writes the header and `meta`.
    /// `generated` (a recording computed, not received: `mmsh sim record`, copies) skips the
    /// fsync after each block, which a crash would have to make again anyway, and cuts blocks by
    /// size alone, never by the wall clock, so that the same frames make the same file.
    /// Throws only `RecordingError`; untyped because a class initializer with typed throws
    /// crashed the process when it threw (Swift 6.3).
    public init(path: String, meta: RecordingMeta, replace: Bool = false, generated: Bool = false) throws {
        self.path = path
        self.sync = !generated
        let flags = O_WRONLY | O_CREAT | (replace ? O_TRUNC : O_EXCL)
        fd = open(path, flags, 0o644)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "it exists (add --force to replace it)" : String(cString: strerror(errno))
            throw RecordingError("cannot write \(path): \(reason)")
        }
        try writeAll(RecordingFormat.magic + [RecordingFormat.version])
        let json: Data
        // Sorted keys: the same recording is the same file, byte for byte.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do { json = try encoder.encode(meta) } catch { throw RecordingError("cannot encode the recording's header: \(error)") }
        try append(.meta, time: meta.started * 1000, payload: Array(json))
        frames = 0
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    public func append(_ kind: RecordKind, time: Int64, payload: some Collection<UInt8>) throws(RecordingError) {
        if raw.isEmpty {
            blockStarted = .now
            lastTime = 0
        }
        raw.append(kind.rawValue)
        RecordingFormat.putVarint(RecordingFormat.zigzag(time &- lastTime), into: &raw)
        RecordingFormat.putVarint(UInt64(payload.count), into: &raw)
        raw.append(contentsOf: payload)
        lastTime = time
        frames += 1
        if raw.count >= RecordingFormat.blockBytes { try flush() } else { try flushIfDue() }
    }

    /// Writes the gathered frames when the block is a second old.
    public func flushIfDue() throws(RecordingError) {
        if sync, let started = blockStarted, ContinuousClock.now - started >= .seconds(1) { try flush() }
    }

    /// Writes the gathered frames as one block now.
    public func flush() throws(RecordingError) {
        guard !raw.isEmpty else { return }
        var input = ByteBufferAllocator().buffer(capacity: raw.count)
        input.writeBytes(raw)
        let compressed: ByteBuffer
        do { compressed = try input.compress(with: .zlib()) } catch { throw RecordingError("cannot compress a block of \(path): \(error)") }
        var block = RecordingFormat.blockMarker + RecordingFormat.u32(compressed.readableBytes) + RecordingFormat.u32(raw.count)
        block += compressed.readableBytesView
        try writeAll(block)
        if sync { fsync(fd) }
        raw.removeAll(keepingCapacity: true)
        blockStarted = nil
    }

    public func close() throws(RecordingError) {
        try flush()
    }

    func writeAll(_ bytes: [UInt8]) throws(RecordingError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RecordingError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        self.bytes += bytes.count
    }
}

/// Reads a recording frame by frame, a block at a time (memory stays at one block). A file
/// that ends inside a block (a crash while writing) reads up to its last whole block and says
/// so in `truncated`; damage before the end is an error naming the byte.
public final class RecordingReader {
    public let path: String
    public private(set) var meta: RecordingMeta
    public let size: Int
    let handle: FileHandle
    var offset = RecordingFormat.headerSize
    var block: [UInt8] = []
    var position = 0
    var lastTime: Int64 = 0
    /// Where the readable part ends, when the file ends inside a block.
    public private(set) var truncated: Int?
    public private(set) var blocks = 0
    /// How far into the file reading is, 0 to 1.
    public var progress: Double { size > 0 ? Double(offset) / Double(size) : 1 }

    /// Opens a recording and reads its header. A factory, not a throwing initializer: a class
    /// initializer that threw inside async code crashed the engine (Swift 6.3).
    public static func open(_ path: String) throws(RecordingError) -> RecordingReader {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RecordingError("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
        }
        let size = Int((try? handle.seekToEnd()) ?? 0)
        try? handle.seek(toOffset: 0)
        let header = [UInt8]((try? handle.read(upToCount: RecordingFormat.headerSize)) ?? Data())
        guard header.count == RecordingFormat.headerSize, Array(header.prefix(7)) == RecordingFormat.magic else {
            try? handle.close()
            throw RecordingError("\(path) is not an mmsh recording (it does not start with MMSHREC); 'record' and 'mmsh sim record' write them")
        }
        guard header[7] <= RecordingFormat.version, header[7] > 0 else {
            try? handle.close()
            throw RecordingError("\(path) is a recording of format \(header[7]), written by a newer mmsh; this one reads format \(RecordingFormat.version)")
        }
        let reader = RecordingReader(path: path, handle: handle, size: size)
        // The header frame comes first.
        guard let f = try reader.next(), f.kind == .meta, let meta = try? JSONDecoder().decode(RecordingMeta.self, from: Data(f.payload)) else {
            throw RecordingError("\(path) has no readable header frame: it is damaged or not an mmsh recording")
        }
        reader.meta = meta
        return reader
    }

    private init(path: String, handle: FileHandle, size: Int) {
        self.path = path
        self.handle = handle
        self.size = size
        meta = RecordingMeta(pair: "", source: "", depth: "", started: 0)
    }

    deinit { try? handle.close() }

    /// The next frame, or nil at the end (or where a truncated file's readable part ends).
    public func next() throws(RecordingError) -> RecordFrame? {
        while position >= block.count {
            guard try readBlock() else { return nil }
        }
        guard let kind = RecordKind(rawValue: block[position]) else {
            throw RecordingError("\(path) is damaged: an unknown frame kind \(block[position]) in the block at byte \(offset)")
        }
        position += 1
        guard let delta = varint(), let length = varint(), length <= UInt64(block.count - position) else {
            throw RecordingError("\(path) is damaged: a frame runs past the end of its block at byte \(offset)")
        }
        let time = lastTime &+ RecordingFormat.unzigzag(delta)
        lastTime = time
        let payload = Array(block[position..<(position + Int(length))])
        position += Int(length)
        return RecordFrame(kind: kind, time: time, payload: payload)
    }

    func varint() -> UInt64? {
        var v: UInt64 = 0, shift: UInt64 = 0
        while position < block.count, shift < 64 {
            let b = block[position]
            position += 1
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
        return nil
    }

    func readBlock() throws(RecordingError) -> Bool {
        guard offset < size else { return false }
        let start = offset
        try? handle.seek(toOffset: UInt64(offset))
        let header = [UInt8]((try? handle.read(upToCount: RecordingFormat.blockHeaderSize)) ?? Data())
        guard header.count == RecordingFormat.blockHeaderSize else { truncated = start; offset = size; return false }
        guard Array(header.prefix(4)) == RecordingFormat.blockMarker else {
            throw RecordingError("\(path) is damaged at byte \(start): no block starts there")
        }
        let compressedSize = RecordingFormat.readU32(header[4...]), rawSize = RecordingFormat.readU32(header[8...])
        guard rawSize <= RecordingFormat.maxBlockBytes, compressedSize <= RecordingFormat.maxBlockBytes else {
            throw RecordingError("\(path) is damaged at byte \(start): a block claims \(rawSize) bytes")
        }
        let data = (try? handle.read(upToCount: compressedSize)) ?? Data()
        guard data.count == compressedSize else { truncated = start; offset = size; return false }
        var input = ByteBufferAllocator().buffer(capacity: compressedSize)
        input.writeBytes(data)
        var output = ByteBufferAllocator().buffer(capacity: rawSize)
        do { try input.decompress(to: &output, with: .zlib()) } catch {
            throw RecordingError("\(path) is damaged in the block at byte \(start) (it does not decompress: \(error))")
        }
        guard output.readableBytes == rawSize else {
            throw RecordingError("\(path) is damaged in the block at byte \(start): \(output.readableBytes) bytes where \(rawSize) belong")
        }
        block = Array(output.readableBytesView)
        position = 0
        lastTime = 0
        offset = start + RecordingFormat.blockHeaderSize + compressedSize
        blocks += 1
        return true
    }
}

/// What `record info` shows of a file.
public struct RecordingInfo: Sendable {
    public var meta: RecordingMeta
    public var size: Int
    public var blocks = 0
    /// Receive times of the first and last frame, µs.
    public var first: Int64?
    public var last: Int64?
    public var counts: [RecordKind: Int] = [:]
    /// Each gap: when the streams were lost, why, and when the next snapshot came (nil: never).
    public var gaps: [(at: Int64, reason: String, until: Int64?)] = []
    public var truncated: Int?

    public static func scan(_ path: String) throws(RecordingError) -> RecordingInfo {
        let reader = try RecordingReader.open(path)
        var info = RecordingInfo(meta: reader.meta, size: reader.size)
        while let f = try reader.next() {
            if info.first == nil { info.first = f.time }
            info.last = f.time
            info.counts[f.kind, default: 0] += 1
            switch f.kind {
            case .gap:
                let reason = (try? JSONSerialization.jsonObject(with: Data(f.payload)) as? [String: Any])?["reason"] as? String ?? "unknown"
                info.gaps.append((f.time, reason, nil))
            case .snapshot:
                if let i = info.gaps.indices.last, info.gaps[i].until == nil { info.gaps[i].until = f.time }
            default: break
            }
        }
        info.blocks = reader.blocks
        info.truncated = reader.truncated
        return info
    }
}
