import MMCore

/// Why a proposed order was dropped.
public struct DroppedOrder: Sendable, Equatable {
    public var order: ProposedOrder
    public var reason: String
}

public struct CancelRequest: Sendable, Equatable {
    public var clientId: String
    public var reason: String
}

/// Something worth its own log line.
public enum StrategyEvent: Sendable, Equatable {
    case enteredTradingHours
    case leftTradingHours
    /// The basis (value at start, or of holding the starting balances now), value now, the threshold crossed.
    case stopLoss(start: Dec, now: Dec, threshold: Dec, againstHolding: Bool)
    /// Hanging orders beyond their caps were cancelled.
    case hangingCapped(count: Int, reason: String)
}

/// What the strategy decided at one moment. The engine carries it out; nothing here has happened yet.
public struct Decision: Sendable {
    /// The reference price (for buys when buys and sells use different ones, as with inventory cost).
    public var referencePrice: Dec?
    /// The ladder as computed now, innermost first, whether or not it is placed.
    public var buys: [ProposedOrder] = []
    public var sells: [ProposedOrder] = []
    /// Place `buys` and `sells` now.
    public var place = false
    public var cancels: [CancelRequest] = []
    /// Hanging orders to cancel and place again at the same price and size.
    public var renewals: [LiveOrder] = []
    /// Immediate-or-cancel order of the stop loss's liquidation.
    public var liquidation: ProposedOrder?
    /// The instance must stop (the stop loss fired).
    public var stop = false
    /// Nothing is quoted by design for now, `waitingFor` says why: outside trading hours, the
    /// strategy warming up its estimators or outside its horizon.
    public var waiting = false
    public var waitingFor: String?
    public var dropped: [DroppedOrder] = []
    public var events: [StrategyEvent] = []
    /// Each step's change, in words, when explaining was asked for.
    public var trace: [String] = []

    public init() {}
}

/// Records what each step changed. When not enabled, messages are never built.
public struct Trace: Sendable {
    public let enabled: Bool
    public private(set) var lines: [String] = []
    public init(enabled: Bool) { self.enabled = enabled }
    @inline(__always)
    public mutating func add(_ line: @autoclosure () -> String) {
        if enabled { lines.append(line()) }
    }
}
