import Synchronization

/// Arithmetic that left `Dec`'s range: a magnitude beyond 10^38, or a division by zero.
public struct DecRangeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went out of range ("a quotient beyond 10^38").
    public var what: String
    public init(_ what: String) { self.what = what }
    public var description: String { "a computation went out of range (\(what))" }
}

/// Collects the first out-of-range result of the arithmetic done inside `Dec.checked`.
///
/// `Dec`'s operators cannot throw (they are the hot path of the strategy, the book and the
/// matching engine), so an out-of-range result inside a checked scope is recorded here and
/// answered with zero; the scope then throws, and whatever was computed is discarded. Outside
/// any scope it stays a programming error that stops the process.
public final class DecRangeTrap: Sendable {
    private let first = Mutex<String?>(nil)
    public init() {}
    /// The first range error recorded, if any.
    public var error: DecRangeError? { first.withLock { $0 }.map(DecRangeError.init) }
    func record(_ what: String) { first.withLock { if $0 == nil { $0 = what } } }
}

extension Dec {
    /// The scope's trap, while code runs inside `Dec.checked` (task-local: every `await` of that
    /// task, into actors too, sees it).
    @TaskLocal public static var rangeTrap: DecRangeTrap?

    /// Where an operator leaves the range: recorded in the current trap, or a stop of the
    /// process outside any checked scope.
    @inline(never)
    static func outOfRange(_ what: String) -> Dec {
        if let trap = rangeTrap {
            trap.record(what)
            return .zero
        }
        preconditionFailure("Dec out of range: \(what)")
    }

    /// Runs `body`; throws the first range error its arithmetic met, discarding its result.
    public static func checked<T>(_ body: () -> T) throws(DecRangeError) -> T {
        let trap = DecRangeTrap()
        let result = $rangeTrap.withValue(trap) { body() }
        if let e = trap.error { throw e }
        return result
    }

    /// Runs async `body` with a trap; the caller reads `trap.error` at the points that matter
    /// (before acting on what was computed).
    public static func withTrap<T>(_ trap: DecRangeTrap, isolation: isolated (any Actor)? = #isolation,
                                   _ body: () async -> T) async -> T {
        await $rangeTrap.withValue(trap, operation: body, isolation: isolation)
    }
}
