import Crypto
import _CryptoExtras
import Foundation

/// A vault failure, worded for the user. Never contains a secret.
public struct VaultError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An account's API credentials, decrypted.
public struct Credentials: Sendable, Equatable, Codable {
    public var apiKey: String
    public var secret: String
    public init(apiKey: String, secret: String) {
        self.apiKey = apiKey
        self.secret = secret
    }

    /// `mx0a…C5`: enough to recognise a key, never enough to use it.
    public var maskedKey: String {
        apiKey.count <= 8 ? String(repeating: "•", count: apiKey.count) : "\(apiKey.prefix(4))…\(apiKey.suffix(2))"
    }
}

/// What `keys list` shows of an entry.
public struct VaultEntrySummary: Sendable, Equatable, Codable {
    public var account: String
    public var maskedKey: String
    public var setAt: Date
    public var lastUsed: Date?
}

/// The vault file: scrypt parameters and salt, a check value, and one AES-GCM sealed box per
/// account with the account name as associated data. Everything about an entry but its name
/// is inside its sealed box, so altering any stored field fails authentication.
struct VaultFile: Codable {
    static let currentFormat = 1
    var format: Int
    var kdf: KDFParameters
    /// "mmsh vault" sealed with the key: tells a wrong passphrase from a damaged entry.
    var check: String
    var entries: [Entry]

    struct KDFParameters: Codable, Equatable {
        var name: String
        var n: Int
        var r: Int
        var p: Int
        var salt: String
    }

    struct Entry: Codable {
        var account: String
        /// Nonce, ciphertext and tag (AES-GCM combined form), base64.
        var sealed: String
    }
}

/// What is sealed in an entry.
struct EntryPayload: Codable {
    var apiKey: String
    var secret: String
    var setAt: Double
    var lastUsed: Double?
}

/// API keys encrypted at rest. A key derived from the passphrase unlocks it; the decrypted
/// secrets are handed out one at a time and not kept.
public final class Vault: @unchecked Sendable {
    public let url: URL
    /// Cost parameters for new vaults: N = 2^15, r = 8, p = 1.
    public static let defaultCost = (n: 1 << 15, r: 8, p: 1)
    /// The most a vault file may ask of scrypt.
    public static let maxCost = (n: 1 << 20, r: 16, p: 4)
    private let lock = NSLock()
    private var key: SymmetricKey?

    public init(url: URL) { self.url = url }

    public var exists: Bool { FileManager.default.fileExists(atPath: url.path) }
    public var isUnlocked: Bool { lock.withLock { key != nil } }

    /// Forgets the unlocked key.
    public func lockVault() { lock.withLock { key = nil } }

    // MARK: Unlocking

    /// Unlocks with `passphrase`, creating the vault when there is none yet.
    public func unlock(passphrase: String) throws(VaultError) {
        if !exists {
            let file = try Vault.newFile(passphrase: passphrase, entries: [], key: nil)
            try write(file.file)
            lock.withLock { key = file.key }
            return
        }
        let file = try read()
        let derived = try Vault.derive(passphrase, file.kdf)
        guard (try? Vault.openSealed(file.check, key: derived, account: "check")) == Data("mmsh vault".utf8) else {
            throw VaultError("wrong passphrase for the vault; nothing was unlocked")
        }
        lock.withLock { key = derived }
    }

    private func unlockedKey() throws(VaultError) -> SymmetricKey {
        guard let key = lock.withLock({ key }) else { throw VaultError("the vault is locked") }
        return key
    }

    // MARK: Entries

    public func set(account: String, _ credentials: Credentials, now: Date = Date()) throws(VaultError) {
        let key = try unlockedKey()
        var file = try read()
        let payload = EntryPayload(apiKey: credentials.apiKey, secret: credentials.secret, setAt: now.timeIntervalSince1970, lastUsed: nil)
        let entry = VaultFile.Entry(account: account, sealed: try Vault.seal(payload, key: key, account: account))
        file.entries.removeAll { $0.account == account }
        file.entries.append(entry)
        file.entries.sort { $0.account < $1.account }
        try write(file)
    }

    public func contains(account: String) throws(VaultError) -> Bool {
        try read().entries.contains { $0.account == account }
    }

    public func delete(account: String) throws(VaultError) {
        var file = try read()
        guard file.entries.contains(where: { $0.account == account }) else {
            throw VaultError("no keys are stored for account '\(account)'")
        }
        file.entries.removeAll { $0.account == account }
        try write(file)
    }

    /// The credentials of an account, for the venue that needs them now; records the use.
    public func credentials(account: String, now: Date = Date()) throws(VaultError) -> Credentials {
        let key = try unlockedKey()
        var file = try read()
        guard let i = file.entries.firstIndex(where: { $0.account == account }) else {
            throw VaultError("no keys are stored for account '\(account)'; 'keys set \(account)' stores them")
        }
        var payload = try Vault.payload(file.entries[i], key: key)
        payload.lastUsed = now.timeIntervalSince1970
        file.entries[i].sealed = try Vault.seal(payload, key: key, account: account)
        try write(file)
        return Credentials(apiKey: payload.apiKey, secret: payload.secret)
    }

    public func list() throws(VaultError) -> [VaultEntrySummary] {
        let key = try unlockedKey()
        var out: [VaultEntrySummary] = []
        for entry in try read().entries {
            let p = try Vault.payload(entry, key: key)
            out.append(VaultEntrySummary(account: entry.account,
                                         maskedKey: Credentials(apiKey: p.apiKey, secret: "").maskedKey,
                                         setAt: Date(timeIntervalSince1970: p.setAt),
                                         lastUsed: p.lastUsed.map { Date(timeIntervalSince1970: $0) }))
        }
        return out
    }

    /// Re-encrypts every entry under a key from `new` (a new salt too), replacing the file in
    /// one rename: a crash leaves the old vault or the new one, whole. `beforeReplace` lets
    /// tests interrupt it.
    public func changePassphrase(to new: String, beforeReplace: (URL) throws -> Void = { _ in }) throws(VaultError) {
        let key = try unlockedKey()
        let file = try read()
        var payloads: [(String, EntryPayload)] = []
        for entry in file.entries { payloads.append((entry.account, try Vault.payload(entry, key: key))) }
        let fresh = try Vault.newFile(passphrase: new, entries: payloads, key: nil)
        try write(fresh.file, beforeReplace: beforeReplace)
        lock.withLock { self.key = fresh.key }
    }

    // MARK: Cryptography

    static func newFile(passphrase: String, entries: [(String, EntryPayload)], key: SymmetricKey?) throws(VaultError) -> (file: VaultFile, key: SymmetricKey) {
        var salt = Data(count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<16 { salt[i] = UInt8.random(in: 0...255, using: &generator) }
        let kdf = VaultFile.KDFParameters(name: "scrypt", n: defaultCost.n, r: defaultCost.r, p: defaultCost.p,
                                          salt: salt.base64EncodedString())
        let derived = try derive(passphrase, kdf)
        var sealed: [VaultFile.Entry] = []
        for (account, payload) in entries {
            sealed.append(VaultFile.Entry(account: account, sealed: try seal(payload, key: derived, account: account)))
        }
        let check = try sealData(Data("mmsh vault".utf8), key: derived, account: "check")
        return (VaultFile(format: VaultFile.currentFormat, kdf: kdf, check: check, entries: sealed), derived)
    }

    static func derive(_ passphrase: String, _ kdf: VaultFile.KDFParameters) throws(VaultError) -> SymmetricKey {
        guard kdf.name == "scrypt", kdf.n >= 1 << 15, kdf.n & (kdf.n - 1) == 0, kdf.r >= 1, kdf.p >= 1,
              let salt = Data(base64Encoded: kdf.salt), salt.count >= 16 else {
            throw VaultError("the vault's key derivation parameters are not valid; it was left untouched")
        }
        // A tampered file must not make the unlock run for minutes or exhaust memory: scrypt's
        // cost is N·r·p and its memory 128·N·r bytes. mmsh writes N = 2^15, r = 8, p = 1.
        guard kdf.n <= maxCost.n, kdf.r <= maxCost.r, kdf.p <= maxCost.p, 128 * kdf.n * kdf.r <= 1 << 30 else {
            throw VaultError("the vault's scrypt parameters (N = \(kdf.n), r = \(kdf.r), p = \(kdf.p)) are beyond what mmsh accepts (N ≤ 2^20, r ≤ 16, p ≤ 4, at most 1 GiB); the file was not written by mmsh as it is, and was left untouched")
        }
        do {
            return try KDF.Scrypt.deriveKey(from: Data(passphrase.utf8), salt: salt, outputByteCount: 32,
                                            rounds: kdf.n, blockSize: kdf.r, parallelism: kdf.p)
        } catch {
            throw VaultError("could not derive the vault key (\(error))")
        }
    }

    /// Associated data: binds a sealed box to its account, so an entry moved to another name fails.
    static func associatedData(_ account: String) -> Data { Data("mmsh-vault/1/\(account)".utf8) }

    static func seal(_ payload: EntryPayload, key: SymmetricKey, account: String) throws(VaultError) -> String {
        guard let data = try? JSONEncoder().encode(payload) else { throw VaultError("could not encode a vault entry") }
        return try sealData(data, key: key, account: account)
    }

    static func sealData(_ data: Data, key: SymmetricKey, account: String) throws(VaultError) -> String {
        do {
            let box = try AES.GCM.seal(data, using: key, nonce: AES.GCM.Nonce(), authenticating: associatedData(account))
            guard let combined = box.combined else { throw VaultError("could not seal a vault entry") }
            return combined.base64EncodedString()
        } catch let e as VaultError {
            throw e
        } catch {
            throw VaultError("could not seal a vault entry")
        }
    }

    static func openSealed(_ sealed: String, key: SymmetricKey, account: String) throws -> Data {
        guard let combined = Data(base64Encoded: sealed) else { throw VaultError("not base64") }
        return try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key, authenticating: associatedData(account))
    }

    static func payload(_ entry: VaultFile.Entry, key: SymmetricKey) throws(VaultError) -> EntryPayload {
        guard let data = try? openSealed(entry.sealed, key: key, account: entry.account),
              let payload = try? JSONDecoder().decode(EntryPayload.self, from: data) else {
            throw VaultError("the vault entry for account '\(entry.account)' failed authentication: it was altered or moved; its keys were not used")
        }
        return payload
    }

    // MARK: The file

    func read() throws(VaultError) -> VaultFile {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            if !exists { throw VaultError("there is no vault yet; 'keys set' creates one") }
            throw VaultError("the vault \(url.path) cannot be read; it was left untouched")
        }
        struct Format: Decodable { var format: Int }
        guard let format = try? JSONDecoder().decode(Format.self, from: data) else {
            throw VaultError("the vault \(url.path) is damaged; it was left untouched")
        }
        guard format.format <= VaultFile.currentFormat else {
            throw VaultError("the vault \(url.path) was written by a newer mmsh (format \(format.format)); it was left untouched")
        }
        guard let file = try? JSONDecoder().decode(VaultFile.self, from: data) else {
            throw VaultError("the vault \(url.path) is damaged; it was left untouched")
        }
        return file
    }

    /// Writes beside the vault, syncs, then renames over it: readers see the old file or the new one.
    func write(_ file: VaultFile, beforeReplace: (URL) throws -> Void = { _ in }) throws(VaultError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(file) else { throw VaultError("could not encode the vault") }
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VaultError("cannot write the vault beside \(url.path)") }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced else {
            unlink(tmp.path)
            throw VaultError("could not write the vault; it was left as it was")
        }
        do { try beforeReplace(tmp) } catch {
            unlink(tmp.path)
            throw VaultError("the vault change was interrupted; the vault was left as it was")
        }
        guard rename(tmp.path, url.path) == 0 else {
            unlink(tmp.path)
            throw VaultError("could not replace the vault; it was left as it was")
        }
    }
}
