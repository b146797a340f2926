import ArgumentParser
import Foundation
import LineEditing
import MMShell
import MMStorage
import MMVault

/// A dry run (`mmsh run --dry-run`): a shell of its own in this process, on a private copy of
/// the data, beside whatever engine runs (it takes no lock and changes nothing).
final class Session: Sendable {
    let shell: Shell

    private init(shell: Shell) {
        self.shell = shell
    }

    static func open(dryRun: Bool) throws -> Session {
        precondition(dryRun, "only dry runs run in the client's process")
        let console: any Console = StandardConsole(interrupted: { Interrupt.requested })
        do {
            let directory = try DataDirectory(url: DataDirectory.resolve(), locking: false)
            // A dry run acts on a private copy, so even its `new` and `set` lines are checked for real.
            let store = try Store.inMemory(copyOf: Store.open(directory: directory))
            let vault = Vault(url: directory.file("vault.json"))
            let shell = try blocking { () async throws(ShellError) in try await Shell.local(store: store, console: console, dryRun: true, vault: vault) }
            return Session(shell: shell)
        } catch let e as ExitCode {
            throw e
        } catch let e as StoreError {
            console.writeError("mmsh: error: \(e.message)\n")
            throw ExitCode(1)
        } catch let e as ShellError {
            console.writeError("mmsh: error: \(e.message)\n")
            throw ExitCode(1)
        }
    }

}

