import Foundation
import Testing
@testable import MMShell

@Suite struct KeysTests {
    static let key = "mx0aKEYKEYKEYKEY99", secret = "the-secret-S3CR3T-never-shown"
    let env = ["MMSH_PASSPHRASE": "pass phrase", "MMSH_API_KEY": key, "MMSH_API_SECRET": secret]

    @Test func setListReplaceDelete() async throws {
        let h = try await Harness(environment: env)
        #expect(await h.run("keys set").out == "stored the keys of account 'default' (mx0a…99), encrypted\n")
        let list = await h.run("keys list").out
        #expect(list.contains("default") && list.contains("mx0a…99") && list.contains("never"))
        #expect(await h.run("keys list --json").out.contains("\"key\": \"mx0a…99\""))
        #expect(await h.run("keys set").err == "error: keys set: account 'default' has keys already; add --yes to replace them\n")
        #expect(await h.run("keys set --yes").error == nil)
        #expect(await h.run("keys delete").err == "error: keys delete: name the ACCOUNT to delete\n")
        #expect(await h.run("keys delete default").err == "error: keys delete: add --yes to delete the keys of 'default' without being asked\n")
        #expect(await h.run("keys delete default --yes").out == "deleted the keys of account 'default'\n")
        #expect(await h.run("keys list").out == "no keys stored; 'keys set' stores some\n")
    }

    @Test func nothingLeaksIntoFilesOrOutput() async throws {
        let h = try await Harness(environment: env)
        var output = ""
        for line in ["new", "keys set", "keys set desk --yes", "keys list", "keys list --json", "keys test desk", "keys set bad --secret-file /nonexistent"] {
            let r = await h.run(line)
            output += r.out + r.err
        }
        #expect(!output.contains(Self.secret) && !output.contains(Self.key))
        for name in try FileManager.default.contentsOfDirectory(atPath: h.url.path) {
            let data = try Data(contentsOf: h.url.appendingPathComponent(name))
            let text = String(decoding: data, as: UTF8.self)
            #expect(!text.contains(Self.secret) && !text.contains(Self.key), "\(name)")
        }
    }

    @Test func secretFileMustBeOwnerOnly() async throws {
        let h = try await Harness(environment: ["MMSH_PASSPHRASE": "p"])
        let file = try h.write("mexc.keys", "# desk account\n\(Self.key)\n\(Self.secret)\n")
        chmod(file, 0o644)
        let refused = await h.run("keys set desk --secret-file '\(file)'")
        #expect(refused.err == "error: keys set: refused \(file): it must be readable by its owner only (chmod 600 \(file))\n")
        chmod(file, 0o600)
        #expect(await h.run("keys set desk --secret-file '\(file)'").out == "stored the keys of account 'desk' (mx0a…99), encrypted\n")
        let bad = try h.write("bad.keys", "only one line\n")
        chmod(bad, 0o600)
        #expect(await h.run("keys set x --secret-file '\(bad)'").err == "error: keys set: \(bad) must hold two lines, the API key then the secret\n")
    }

    @Test func onATerminalKeysAndPassphraseAreAskedWithoutEcho() async throws {
        let h = try await Harness(interactive: true, answers: [true], secrets: [Self.key, Self.secret, "pw", "pw", Self.key, "other-secret"])
        #expect(await h.run("keys set").out.contains("stored the keys of account 'default'"))
        #expect(h.console.questions == ["API key for 'default': ", "API secret for 'default': ", "new vault passphrase: ", "the same passphrase again: "])
        // Asked once per shell: the second command needs no passphrase, only the confirmation to replace.
        #expect(await h.run("keys set").out.contains("stored"))
        #expect(h.console.questions.suffix(3) == ["API key for 'default': ", "API secret for 'default': ", "replace the API keys of account 'default'?"])
    }

    @Test func withoutPassphraseOrKeysTheErrorSaysWhatIsNeeded() async throws {
        let h = try await Harness()
        #expect(await h.run("keys list").err == "error: the vault needs its passphrase: set MMSH_PASSPHRASE, or run on a terminal\n")
        let h2 = try await Harness(environment: ["MMSH_PASSPHRASE": "p"])
        #expect(await h2.run("keys set").err == "error: keys set: without a terminal, set MMSH_API_KEY and MMSH_API_SECRET, or give --secret-file FILE\n")
        #expect(await h2.run("keys set 'a b'").err.hasPrefix("error: keys: 'a b' is not a valid name"))
    }

    @Test func passphraseChangeAndLock() async throws {
        var e = env
        e["MMSH_NEW_PASSPHRASE"] = "brand new"
        let h = try await Harness(environment: e)
        await h.run("keys set")
        #expect(await h.run("vault passphrase").out == "the vault's passphrase was changed; every entry was re-encrypted\n")
        #expect(await h.run("vault lock").out == "vault locked; its passphrase is asked again when a command needs it\n")
        // The old passphrase (still in MMSH_PASSPHRASE) no longer opens it.
        #expect(await h.run("keys list").err == "error: wrong passphrase for the vault; nothing was unlocked\n")
        #expect(Shell.shouldRecord("keys set desk") == false && Shell.shouldRecord("vault passphrase") == false)
    }

    /// A key or secret typed as a word is never repeated: not in the error, not in history.
    @Test func secretsTypedAsWordsAreNeverEchoed() async throws {
        let h = try await Harness()
        let key = "mx0vglAbCdEfGh1234", secret = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
        let r = await h.run("keys set x \(key) \(secret)")
        #expect(r.error != nil)
        #expect(!r.err.contains(key) && !r.err.contains(secret) && !r.err.contains("mx0v"), "\(r.err)")
        #expect(r.err.contains("not shown"), "\(r.err)")
        let typo = await h.run("stet spread.bid \(secret)")
        #expect(!typo.err.contains(secret))
        // A pasted secret, a typo and a line that does not parse stay out of history; good lines go in.
        #expect(!Shell.shouldRecord(secret) && !Shell.shouldRecord(key))
        #expect(!Shell.shouldRecord("sett spread.bid 0.2%") && !Shell.shouldRecord("set spread.bid 'unclosed"))
        #expect(!Shell.shouldRecord("set spread.bid lots"))
        #expect(Shell.shouldRecord("set spread.bid 0.2%") && Shell.shouldRecord("status"))
    }
}
