import Foundation
import MMCore
import Testing
@testable import MMShell

/// Accepted settings never stop the process: every numeric setting driven to its bounds goes
/// through `preview`, `start`, a few decisions and `stop`, alone and in random combinations.
@Suite struct RangeTests {
    /// The values at (or just inside) each bound of a numeric setting, as a user types them.
    static func extremes(_ spec: SettingSpec) -> [String] {
        let nudge = Dec(mantissa: 1, scale: SettingSpec.maxDecimals)
        func inside(_ b: Bound, up: Bool) -> Dec { b.inclusive ? b.value : (up ? b.value + nudge : b.value - nudge) }
        switch spec.kind {
        case .decimal(_, let lo, let hi):
            return [lo.map { inside($0, up: true) }, hi.map { inside($0, up: false) }].compactMap { $0?.description }
        case .percent(let lo, let hi):
            // Percent text carries the fraction × 100, so the nudge is in percent too.
            return [lo.map { inside($0, up: true) }, hi.map { inside($0, up: false) }].compactMap { $0.map(Units.renderPercent) }
        case .integer(let r):
            return ["\(r.lowerBound)", "\(r.upperBound)"]
        default:
            return []
        }
    }

    static let numeric: [(key: String, values: [String])] = Catalog.specs.compactMap { spec in
        let values = extremes(spec)
        return values.isEmpty ? nil : (spec.key, values)
    }

    /// Runs the instance through preview, start, decisions and stop; every failure is one line.
    static func exercise(_ h: Harness, _ lines: [String]) async throws {
        for line in lines {
            let r = await h.run("set " + line)
            if let error = r.error { #expect(!error.message.contains("\n"), "\(line): \(error.message)") }
        }
        for command in ["preview", "start 1"] {
            let r = await h.run(command)
            if let error = r.error {
                #expect(!error.message.isEmpty && !error.message.contains("\n"), "\(lines): \(command): \(error.message)")
            }
        }
        await h.run(seconds: 1)
        _ = await h.run("status 1 --json")
        _ = await h.run("stop 1")
        #expect(await h.engine.manager.runningCount == 0, "\(lines)")
    }

    @Test func everyNumericSettingAtEachBound() async throws {
        #expect(Self.numeric.count > 25)
        for (key, values) in Self.numeric {
            for value in values {
                let h = try await Harness()
                await h.run("new; set sim.seed 3")
                try await Self.exercise(h, ["\(key) \(value)"])
            }
        }
    }

    @Test func randomCombinationsOfBounds() async throws {
        var seeded = SplitMix(seed: 20261201)
        for _ in 0..<10 {
            let h = try await Harness()
            await h.run("new; set sim.seed \(UInt32.random(in: 0...UInt32.max, using: &seeded))")
            let picks = Self.numeric.shuffled(using: &seeded).prefix(6)
            try await Self.exercise(h, picks.map { "\($0.key) \($0.values.randomElement(using: &seeded)!)" })
        }
    }

    @Test func theValuesThatStoppedTheProcessAreRefusedOrFailOneInstance() async throws {
        let h = try await Harness()
        await h.run("new a")
        let tiny = await h.run("set sim.mid 0.000000000000000001")
        #expect(tiny.error?.message == "sim.mid: '0.000000000000000001' has more than 12 decimals; accepted: > 0 and ≤ 1000000000000000, at most 12 decimals")
        let huge = await h.run("set order.amount 99999999999999999999")
        #expect(huge.error?.message.hasPrefix("order.amount: 99999999999999999999 is out of range") == true, "\(huge)")
        // Within the bounds, the largest amounts with the smallest price still quote or fail in words.
        await h.run("new b; set sim.seed 5")
        try await Self.exercise(h, ["sim.mid 0.000000000001", "sim.quote 1000000000000000", "order.amount 1000000000000000",
                                    "sim.tick 0.000000000001", "sim.step 0.000000000001"])
    }
}

/// A small seeded generator, so that the combinations repeat from run to run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
