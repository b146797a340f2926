import Foundation
import Testing
@testable import MMVault

@Suite(.serialized) struct VaultTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmsh-vault-\(UUID().uuidString)")
    var url: URL { dir.appendingPathComponent("vault.json") }
    let secret = Credentials(apiKey: "mx0aBcDeFgHiJkLmNoPqC5", secret: "S3cr3t-value-that-must-never-leak-42")

    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }

    func vault(_ passphrase: String = "correct horse") throws -> Vault {
        let v = Vault(url: url)
        try v.unlock(passphrase: passphrase)
        return v
    }

    func json() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    func rewrite(_ change: (inout [String: Any]) -> Void) throws {
        var j = try json()
        change(&j)
        try JSONSerialization.data(withJSONObject: j).write(to: url)
    }

    @Test func roundTripAndNothingInClear() throws {
        let v = try vault()
        try v.set(account: "default", secret)
        #expect(try v.credentials(account: "default") == secret)
        let list = try v.list()
        #expect(list.map(\.account) == ["default"] && list[0].maskedKey == "mx0a…C5" && list[0].lastUsed != nil)
        // A new process with the passphrase reads it back; the file holds neither key nor secret.
        let again = try vault()
        #expect(try again.credentials(account: "default") == secret)
        let raw = try String(contentsOf: url, encoding: .utf8)
        #expect(!raw.contains(secret.secret) && !raw.contains(secret.apiKey) && !raw.contains("mx0a"))
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect((try json()["kdf"] as! [String: Any])["n"] as? Int == 32768)
    }

    @Test func wrongPassphraseUnlocksNothing() throws {
        try vault().set(account: "default", secret)
        let before = try Data(contentsOf: url)
        let v = Vault(url: url)
        #expect(throws: VaultError("wrong passphrase for the vault; nothing was unlocked")) { try v.unlock(passphrase: "wrong") }
        #expect(!v.isUnlocked)
        #expect(throws: VaultError("the vault is locked")) { try v.credentials(account: "default") }
        #expect(try Data(contentsOf: url) == before)
    }

    @Test func tamperingWithAnEntryIsAnAuthenticationError() throws {
        try vault().set(account: "default", secret)
        // Flip one byte of the sealed box (nonce, ciphertext or tag).
        for offset in [0, 14, 40, -1] {
            try vault().set(account: "default", secret)
            try rewrite { j in
                var entries = j["entries"] as! [[String: Any]]
                var bytes = [UInt8](Data(base64Encoded: entries[0]["sealed"] as! String)!)
                let i = offset >= 0 ? offset : bytes.count + offset
                bytes[i] ^= 0x01
                entries[0]["sealed"] = Data(bytes).base64EncodedString()
                j["entries"] = entries
            }
            let e = #expect(throws: VaultError.self) { try vault().credentials(account: "default") }
            #expect(e?.message.contains("'default' failed authentication") == true)
            #expect(e?.message.contains(secret.secret) == false)
        }
    }

    @Test func anEntryMovedToAnotherAccountFails() throws {
        let v = try vault()
        try v.set(account: "desk", secret)
        try v.set(account: "default", Credentials(apiKey: "mx0aOtherKeyXX", secret: "other-secret"))
        try rewrite { j in
            var entries = j["entries"] as! [[String: Any]]
            let a = entries[0]["sealed"], b = entries[1]["sealed"]
            entries[0]["sealed"] = b
            entries[1]["sealed"] = a
            j["entries"] = entries
        }
        let e = #expect(throws: VaultError.self) { try vault().credentials(account: "desk") }
        #expect(e?.message.hasPrefix("the vault entry for account 'desk' failed authentication") == true)
    }

    @Test func alteredKDFParametersOrCheckAreRefused() throws {
        try vault().set(account: "default", secret)
        let original = try Data(contentsOf: url)
        try rewrite { j in var k = j["kdf"] as! [String: Any]; k["salt"] = Data(count: 16).base64EncodedString(); j["kdf"] = k }
        #expect(throws: VaultError("wrong passphrase for the vault; nothing was unlocked")) { try vault() }
        try original.write(to: url)
        try rewrite { j in var k = j["kdf"] as! [String: Any]; k["n"] = 1024; j["kdf"] = k }
        #expect(throws: VaultError("the vault's key derivation parameters are not valid; it was left untouched")) { try vault() }
        // Parameters that would run for minutes or take gigabytes are refused before any work.
        for (key, value) in [("p", 1 << 20), ("n", 1 << 22), ("r", 1024)] {
            try original.write(to: url)
            try rewrite { j in var k = j["kdf"] as! [String: Any]; k[key] = value; j["kdf"] = k }
            let started = Date()
            let e = #expect(throws: VaultError.self) { try vault() }
            #expect(e?.message.contains("are beyond what mmsh accepts") == true, "\(key): \(e?.message ?? "")")
            #expect(Date().timeIntervalSince(started) < 2)
        }
        try original.write(to: url)
        try rewrite { j in j["check"] = "AAAA" }
        #expect(throws: VaultError("wrong passphrase for the vault; nothing was unlocked")) { try vault() }
    }

    @Test func aNewerOrDamagedVaultIsNeverOverwritten() throws {
        try vault().set(account: "default", secret)
        try rewrite { j in j["format"] = 2 }
        let newer = try Data(contentsOf: url)
        let e = #expect(throws: VaultError.self) { try vault() }
        #expect(e?.message.contains("written by a newer mmsh (format 2)") == true)
        #expect(try Data(contentsOf: url) == newer)
        try Data("{not json".utf8).write(to: url)
        #expect(throws: VaultError("the vault \(url.path) is damaged; it was left untouched")) { try vault() }
    }

    @Test func passphraseChangeIsAllOrNothing() throws {
        let v = try vault("old pass")
        try v.set(account: "default", secret)
        // Interrupted after the new file is written, before it replaces the old one.
        struct Crash: Error {}
        #expect(throws: VaultError("the vault change was interrupted; the vault was left as it was")) {
            try v.changePassphrase(to: "new pass") { _ in throw Crash() }
        }
        #expect(try vault("old pass").credentials(account: "default") == secret)
        #expect(throws: VaultError.self) { try vault("new pass") }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
        // Completed: only the new passphrase works, with a new salt.
        let saltBefore = (try json()["kdf"] as! [String: Any])["salt"] as! String
        try v.changePassphrase(to: "new pass")
        #expect(try vault("new pass").credentials(account: "default") == secret)
        #expect(throws: VaultError.self) { try vault("old pass") }
        #expect((try json()["kdf"] as! [String: Any])["salt"] as! String != saltBefore)
    }

    @Test func deleteAndLock() throws {
        let v = try vault()
        try v.set(account: "a", secret)
        try v.delete(account: "a")
        #expect(try v.list().isEmpty)
        #expect(throws: VaultError("no keys are stored for account 'a'")) { try v.delete(account: "a") }
        v.lockVault()
        #expect(throws: VaultError("the vault is locked")) { try v.list() }
    }
}
