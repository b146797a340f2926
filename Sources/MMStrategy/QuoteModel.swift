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
    /// The same with the model's state kept in `shared`. A requirement (with the default below)
    /// rather than only an extension method: called on `any QuoteModel`, it then runs
    /// specialized for the model, not generic code that looks up its types' metadata each time.
    func quote(_ input: QuoteInput, shared: inout StrategyState, config: StrategyConfig,
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
    /// A class, so that the decision at every book change mutates the model's buffers in place
    /// (when no copy of the state shares it) and finds its type with a class cast, not an
    /// existential's dynamic cast.
    let box: ModelStateBox

    init<S: Sendable & Equatable & Codable>(_ value: S) { box = TypedModelStateBox(value) }
    init(box: ModelStateBox) { self.box = box }

    /// The state's type, to decode it by.
    var kind: String { box.kind }

    public static func == (a: ModelState, b: ModelState) -> Bool { a.box === b.box || a.box.equals(b.box) }

    enum CodingKeys: String, CodingKey { case kind, state }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try box.encode(to: c.superEncoder(forKey: .state))
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

/// A model's state of any type. Immutable once in a `ModelState` that another holds: the
/// decision replaces a shared box rather than mutating it (see `QuoteModel.quote`).
class ModelStateBox: @unchecked Sendable {
    /// The state's type: checked before a downcast, which for a generic class would look its
    /// metadata up at every decision.
    let stateType: ObjectIdentifier
    init(stateType: ObjectIdentifier) { self.stateType = stateType }
    var kind: String { fatalError("abstract") }
    func equals(_ other: ModelStateBox) -> Bool { fatalError("abstract") }
    func encode(to encoder: any Encoder) throws { fatalError("abstract") }
}

final class TypedModelStateBox<S: Sendable & Equatable & Codable>: ModelStateBox, @unchecked Sendable {
    var value: S
    init(_ value: S) {
        self.value = value
        super.init(stateType: ObjectIdentifier(S.self))
    }

    /// `box` as this class, when it holds an `S`.
    static func of(_ box: ModelStateBox?) -> TypedModelStateBox<S>? {
        guard let box, box.stateType == ObjectIdentifier(S.self) else { return nil }
        return unsafeDowncast(box, to: TypedModelStateBox<S>.self)
    }
    override var kind: String { String(reflecting: S.self) }
    override func equals(_ other: ModelStateBox) -> Bool { TypedModelStateBox<S>.of(other)?.value == value }
    override func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

extension QuoteModel {
    /// Runs `quote` with the model's state taken out of the shared state (started afresh when
    /// the strategy changed), so that its buffers are mutated in place rather than copied.
    public func quote(_ input: QuoteInput, shared: inout StrategyState, config: StrategyConfig,
                      dropped: inout [DroppedOrder], trace: inout Trace) -> ModelQuote {
        var box = TypedModelStateBox<State>.of(shared.model?.box)
        shared.model = nil
        // Mutated in place only when nothing else (a copy of the state the engine keeps) holds it.
        if box == nil || !isKnownUniquelyReferenced(&box!) { box = TypedModelStateBox(box?.value ?? makeState()) }
        let q = quote(input, state: &box!.value, shared: &shared, config: config, dropped: &dropped, trace: &trace)
        shared.model = ModelState(box: box!)
        return q
    }

    static func decodeState(_ kind: String, from decoder: any Decoder) throws -> ModelState? {
        guard kind == String(reflecting: State.self) else { return nil }
        return ModelState(try State(from: decoder))
    }

    /// This model's state, when the shared state holds one of its kind.
    public func state(in shared: StrategyState) -> State? { TypedModelStateBox<State>.of(shared.model?.box)?.value }
}
