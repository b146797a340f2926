import Foundation

/// The data directory: `$MMSH_HOME`, else `$XDG_DATA_HOME/mmsh`, else `~/.local/share/mmsh`.
/// Created 0700. One engine uses it at a time (it holds the lock): the instances run there, and
/// every shell is a client of that engine.
public final class DataDirectory: Sendable {
    public let url: URL
    private let lockFD: Int32

    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let home = environment["MMSH_HOME"], !home.isEmpty { return URL(fileURLWithPath: home) }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("mmsh")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/share/mmsh")
    }

    /// Creates the directory if needed, tightens it to 0700 and takes its lock (unless `locking`
    /// is false: a reader beside the engine, such as a dry run).
    public init(url: URL, locking: Bool = true) throws(StoreError) {
        self.url = url
        let path = url.path
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError("cannot create the data directory \(path): \(error.localizedDescription)")
        }
        if chmod(path, 0o700) != 0 {
            throw StoreError("cannot make the data directory \(path) private (chmod 0700 failed)")
        }
        let lockPath = url.appendingPathComponent("mmsh.lock").path
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        if !locking {
            self.lockFD = fd
            return
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, 31, 0)
            let pid = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw StoreError("another mmsh engine (pid \(pid)) is using \(path); 'mmsh daemon stop' stops it, or set MMSH_HOME to another directory")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.lockFD = fd
    }

    deinit {
        flock(lockFD, LOCK_UN)  // a no-op when the lock was not taken
        close(lockFD)
    }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}
