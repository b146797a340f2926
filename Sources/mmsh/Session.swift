import ArgumentParser
import Foundation
import LineEditing
import MMShell
import MMStorage
import MMVault
import Synchronization

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
            let shell = try Session.run { () async throws(ShellError) in try await Shell.local(store: store, console: console, dryRun: true, vault: vault) }
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

    /// Async work from the synchronous main thread, before there is a session.
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws(ShellError) -> T) throws(ShellError) -> T {
        let result = Mutex<Result<T, ShellError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value: Result<T, ShellError>
            do throws(ShellError) { value = .success(try await body()) } catch { value = .failure(error) }
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// Runs async work from the synchronous main thread, which stays free for libedit and signals.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await body()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

}

