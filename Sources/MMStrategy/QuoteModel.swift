import MMCore

/// A strategy's own part of the decision: from the market to a ladder. What follows the ladder
/// (order optimization, transaction costs, sizes, max position, budget, minimums, crossing,
/// refresh and tolerance, hanging orders) and what comes before it (the stop loss, trading
/// hours) are `Strategy.decide`'s and shared by every model. A new strategy is a folder with a
/// type conforming to this protocol, and a line in `QuoteModels.all`.
public protocol QuoteModel: Sendable {
    /// What the model remembers between decisions (estimators, buffers). A value, so runs replay.
    associatedtype State: Sendable, Equatable, Codable
    /// The `strategy` setting's value that picks this model.
    static var name: String { get }
    /// The model's configuration, read once per settings change.
    init(_ settings: Settings)
    func makeState() -> State
    /// Runs at every decision, so that estimators see every market update. Gives the reference
    /// price always, and the ladder when `input.wantsLadder` and the model is ready.
    func quote(_ input: QuoteInput, state: inout State, shared: inout StrategyState, config: StrategyConfig,
               dropped: inout [DroppedOrder], trace: inout Trace) -> ModelQuote
}

/// What a model sees at a decision, besides the view.
public struct QuoteInput: Sendable {
    public var view: MarketView
    public var mid: Dec
    public var funds: Funds
    /// The refresh timer allows a new ladder now.
    public var wantsLadder: Bool
}

/// What the instance holds for its quotes: available plus what its own ladder orders lock, and
/// what its hanging orders lock.
public struct Funds: Sendable, Equatable {
    public var base: Dec
    public var quote: Dec
    public var hangingSells: Dec
    public var hangingBuys: Dec
    public var hangingQuote: Dec
}

/// A model's answer at one decision.
public struct ModelQuote: Sendable {
    /// Where distances are measured from: hanging orders, `spread.min` and preview use it.
    public var reference: Reference
    /// The ladder, innermost first; nil when none was asked for or the model waits.
    public var ladder: Proposal?
    /// Distance between levels as a fraction of the price: order optimization spaces the
    /// deeper levels again from the first by it.
    public var levelSpacing: Dec = 0
    /// Why there is no ladder although one was asked for (warming up, outside the horizon).
    /// The live orders are cancelled meanwhile.
    public var waitingFor: String?

    public init(reference: Reference, ladder: Proposal? = nil, levelSpacing: Dec = 0, waitingFor: String? = nil) {
        self.reference = reference
        self.ladder = ladder
        self.levelSpacing = levelSpacing
        self.waitingFor = waitingFor
    }
}

/// Every strategy, by the value of its `strategy` setting.
public enum QuoteModels {
    public static let all: [any QuoteModel.Type] = [PureMarketMaking.self, Avellaneda.self]

    public static func make(_ settings: Settings) -> any QuoteModel {
        let name = settings["strategy"].text ?? PureMarketMaking.name
        let type = all.first { $0.name == name } ?? PureMarketMaking.self
        return type.init(settings)
    }
}

/// A model's state, whatever its type, held in `StrategyState`. It crosses the engine's API
/// (preview of a running instance starts from it) as its type's name and its own fields.
public struct ModelState: Sendable, Equatable, Codable {
    let value: any Sendable
    /// The state's type, to decode it by.
    let kind: String
    private let equals: @Sendable (any Sendable) -> Bool
    private let encodeValue: @Sendable (any Encoder) throws -> Void

    init<S: Sendable & Equatable & Codable>(_ value: S) {
        self.value = value
        self.kind = String(reflecting: S.self)
        self.equals = { ($0 as? S) == value }
        self.encodeValue = { try value.encode(to: $0) }
    }

    public static func == (a: ModelState, b: ModelState) -> Bool { a.equals(b.value) }

    enum CodingKeys: String, CodingKey { case kind, state }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try encodeValue(c.superEncoder(forKey: .state))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        for model in QuoteModels.all {
            if let state = try model.decodeState(kind, from: c.superDecoder(forKey: .state)) { self = state; return }
        }
        throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "no strategy keeps a state of kind \(kind)")
    }
}

extension QuoteModel {
    /// Runs `quote` with the model's state taken out of the shared state (started afresh when
    /// the strategy changed), so that its buffers are mutated in place rather than copied.
    func quote(_ input: QuoteInput, shared: inout StrategyState, config: StrategyConfig,
               dropped: inout [DroppedOrder], trace: inout Trace) -> ModelQuote {
        var own = (shared.model?.value as? State) ?? makeState()
        shared.model = nil
        let q = quote(input, state: &own, shared: &shared, config: config, dropped: &dropped, trace: &trace)
        shared.model = ModelState(own)
        return q
    }

    static func decodeState(_ kind: String, from decoder: any Decoder) throws -> ModelState? {
        guard kind == String(reflecting: State.self) else { return nil }
        return ModelState(try State(from: decoder))
    }

    /// This model's state, when the shared state holds one of its kind.
    public func state(in shared: StrategyState) -> State? { shared.model?.value as? State }
}
