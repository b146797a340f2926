import Foundation
import MMCore
import MMMexc
import MMVault

extension Commands {
    static let vaultCommands: [CommandSpec] = [
        CommandSpec("keys", summary: "MEXC API keys, encrypted in the vault",
                    args: [ArgSpec("ACTION", .choice(["set", "list", "delete", "test"])), ArgSpec("ACCOUNT", .name, optional: true)],
                    flags: [FlagSpec("--secret-file", value: ("FILE", .file(extensions: [])), "read the key and secret from FILE (owner-only)"),
                            FlagSpec("--yes", short: "-y", "replace or delete without asking")],
                    examples: ["keys set", "keys set desk --secret-file ~/.mexc-desk", "keys list", "keys delete desk --yes"],
                    details: "keys set [ACCOUNT] stores the API key and secret of an account (default 'default'): on a terminal it asks for both without echo; otherwise it reads MMSH_API_KEY and MMSH_API_SECRET, or --secret-file FILE (the key on its first line, the secret on its second, the file readable by its owner only). Secrets are never accepted as words, so they never reach history, ps or a script. keys list shows accounts with the key masked; keys delete ACCOUNT removes one; keys test [ACCOUNT] decrypts its keys, then asks MEXC for the account with a signed request (at mexc.rest_url of the current instance) and shows the assets held and the clock offset; a refusal shows MEXC's code and message. The vault's passphrase is asked once per shell (MMSH_PASSPHRASE for unattended runs).",
                    showsData: true, sensitive: true) { inv, shell in try await shell.keys(inv) },
        CommandSpec("vault", summary: "change the vault's passphrase, or lock it",
                    args: [ArgSpec("ACTION", .choice(["passphrase", "lock"]))],
                    examples: ["vault passphrase", "vault lock"],
                    details: "vault passphrase re-encrypts every entry under a new passphrase, atomically (MMSH_PASSPHRASE and MMSH_NEW_PASSPHRASE when unattended). vault lock forgets the unlocked key until a command needs it again.",
                    sensitive: true) { inv, shell in try await shell.vaultCommand(inv) },
    ]
}

extension Shell {
    /// Unlocks the engine's vault, once for every shell of the engine: MMSH_PASSPHRASE, or asked
    /// on this terminal (twice for a new vault). The passphrase goes to the engine, nothing comes back.
    func unlockVault() async throws(ShellError) {
        let vault = try await api.vaultStatus()
        if vault.unlocked { return }
        var passphrase = environment["MMSH_PASSPHRASE"].flatMap { $0.isEmpty ? nil : $0 }
        if passphrase == nil {
            guard console.isInteractive else {
                throw APIError(.locked, "the vault needs its passphrase: set MMSH_PASSPHRASE, or run on a terminal")
            }
            if vault.exists {
                passphrase = await console.readSecret("vault passphrase: ")
            } else {
                let first = await console.readSecret("new vault passphrase: ")
                guard let first, !first.isEmpty else { throw .failure("no passphrase given; the vault was not created") }
                guard await console.readSecret("the same passphrase again: ") == first else {
                    throw .failure("the two passphrases differ; the vault was not created")
                }
                passphrase = first
            }
        }
        guard let passphrase, !passphrase.isEmpty else { throw .failure("no passphrase given; the vault stays locked") }
        try await api.unlockVault(passphrase: passphrase)
    }

    func keys(_ inv: Invocation) async throws(ShellError) -> Output {
        let account = inv["ACCOUNT"] ?? "default"
        switch inv["ACTION"]!.lowercased() {
        case "set": return try await setKeys(account: account, inv)
        case "list": return try await listKeys()
        case "delete":
            guard inv["ACCOUNT"] != nil else { throw .usage("keys delete: name the ACCOUNT to delete") }
            try await unlockVault()
            guard (try? await api.hasKeys(account: account)) == true else { throw .failure("no keys are stored for account '\(account)'") }
            if !inv.has("--yes") {
                guard console.isInteractive else { throw .failure("keys delete: add --yes to delete the keys of '\(account)' without being asked") }
                guard await console.confirm("delete the API keys of account '\(account)'?") else { return .message("not deleted") }
            }
            try await api.deleteKeys(account: account)
            return .message("deleted the keys of account '\(account)'")
        default:
            return try await testKeys(account: account)
        }
    }

    /// Decrypts the keys, then asks MEXC (at `mexc.rest_url` of the current instance, if any)
    /// for the account: a signed request that only valid keys pass.
    func testKeys(account: String) async throws(ShellError) -> Output {
        try await unlockVault()
        var settings = Settings()
        if let current, let stored = try? await self.settings(of: current) { settings = stored }
        let url = settings["mexc.rest_url"].text!
        // Which MEXC is asked is said first: with no current instance it is the production one.
        let whose = current.map { "instance \($0)'s mexc.rest_url" } ?? "no current instance: the default mexc.rest_url, MEXC's production API"
        console.writeError("asking \(url) (\(whose)) with the keys of '\(account)'\n")
        let test = try await api.testKeys(account: account, url: url)
        let offset = test.clockOffset, held = test.assetsHeld
        var out = Output(json: .object([("account", .string(account)), ("url", .string(url)), ("can_trade", test.canTrade.map { .bool($0) } ?? .null),
                                        ("assets", .array(held.map { .string($0) })), ("clock_offset_ms", .int(Int(offset)))]))
        out.line("the keys of account '\(account)' work at \(url)" + (test.canTrade == false ? ", but the account cannot trade" : "")
                 + "; assets held: \(held.isEmpty ? "none" : held.joined(separator: ", ")); clock offset \(offset) ms")
        return out
    }

    func setKeys(account: String, _ inv: Invocation) async throws(ShellError) -> Output {
        guard (1...32).contains(account.count), account.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-".contains($0)) }) else {
            throw .usage("keys set: '\(account)' is not a valid account name; use 1–32 letters, digits, '_' or '-'")
        }
        let credentials: Credentials
        if let file = inv["--secret-file"] {
            credentials = try readSecretFile(resolvePath(file))
        } else if console.isInteractive {
            guard let key = await console.readSecret("API key for '\(account)': "), !key.isEmpty,
                  let secret = await console.readSecret("API secret for '\(account)': "), !secret.isEmpty else {
                throw .failure("keys set: nothing stored (no key or secret given)")
            }
            credentials = Credentials(apiKey: key, secret: secret)
        } else if let key = environment["MMSH_API_KEY"], let secret = environment["MMSH_API_SECRET"] {
            credentials = Credentials(apiKey: key, secret: secret)
        } else {
            throw .failure("keys set: without a terminal, set MMSH_API_KEY and MMSH_API_SECRET, or give --secret-file FILE")
        }
        try Shell.validate(credentials)
        try await unlockVault()
        if (try? await api.hasKeys(account: account)) == true && !inv.has("--yes") {
            guard console.isInteractive else { throw .failure("keys set: account '\(account)' has keys already; add --yes to replace them") }
            guard await console.confirm("replace the API keys of account '\(account)'?") else { return .message("not replaced") }
        }
        try await api.storeKeys(account: account, credentials)
        return .message("stored the keys of account '\(account)' (\(credentials.maskedKey)), encrypted")
    }

    static func validate(_ c: Credentials) throws(ShellError) {
        for (what, value) in [("API key", c.apiKey), ("API secret", c.secret)] {
            guard (1...256).contains(value.count), value.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 0x21 && $0.asciiValue! < 0x7F }) else {
                throw .usage("keys set: the \(what) must be 1–256 printable characters without spaces")
            }
        }
    }

    /// The key on the first line, the secret on the second (blank lines and # comments skipped).
    /// Refused unless only its owner can read it. Its contents never appear in a message.
    func readSecretFile(_ url: URL) throws(ShellError) -> Credentials {
        var info = stat()
        guard stat(url.path, &info) == 0 else { throw .failure("keys set: cannot read \(url.path)") }
        guard info.st_uid == getuid(), info.st_mode & 0o077 == 0 else {
            throw .failure("keys set: refused \(url.path): it must be readable by its owner only (chmod 600 \(url.path))")
        }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw .failure("keys set: cannot read \(url.path)") }
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 2 else {
            throw .failure("keys set: \(url.path) must hold two lines, the API key then the secret")
        }
        return Credentials(apiKey: lines[0], secret: lines[1])
    }

    func listKeys() async throws(ShellError) -> Output {
        try await unlockVault()
        let entries = try await api.keyAccounts()
        var table = Table(["ACCOUNT", "KEY", "SET", "LAST USED"])
        var items: [JSON] = []
        for e in entries {
            let set = StatusView.localTime(Int64(e.setAt.timeIntervalSince1970 * 1000))
            let used = e.lastUsed.map { StatusView.localTime(Int64($0.timeIntervalSince1970 * 1000)) } ?? "never"
            table.add([e.account, e.maskedKey, set, used])
            items.append(.object([("account", .string(e.account)), ("key", .string(e.maskedKey)),
                                  ("set_at", .string(StatusView.isoTime(Int64(e.setAt.timeIntervalSince1970 * 1000)))),
                                  ("last_used", e.lastUsed.map { .string(StatusView.isoTime(Int64($0.timeIntervalSince1970 * 1000))) } ?? .null)]))
        }
        var out = Output(json: .object([("accounts", .array(items))]))
        if entries.isEmpty { out.line("no keys stored; 'keys set' stores some") } else { out.table(table) }
        return out
    }

    func vaultCommand(_ inv: Invocation) async throws(ShellError) -> Output {
        let vault = try await api.vaultStatus()
        if inv["ACTION"]!.lowercased() == "lock" {
            await api.lockVault()
            return .message("vault locked; its passphrase is asked again when a command needs it")
        }
        guard vault.exists else { throw .failure("there is no vault yet; 'keys set' creates one") }
        try await unlockVault()
        let new: String?
        if let env = environment["MMSH_NEW_PASSPHRASE"], !env.isEmpty {
            new = env
        } else if console.isInteractive {
            let first = await console.readSecret("new vault passphrase: ")
            guard let first, !first.isEmpty, await console.readSecret("the same passphrase again: ") == first else {
                throw .failure("the new passphrases differ or are empty; the passphrase was not changed")
            }
            new = first
        } else {
            throw .failure("vault passphrase: without a terminal, set MMSH_NEW_PASSPHRASE")
        }
        try await api.changePassphrase(to: new!)
        return .message("the vault's passphrase was changed; every entry was re-encrypted")
    }
}
