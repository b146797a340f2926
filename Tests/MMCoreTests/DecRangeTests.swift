import Testing
@testable import MMCore

@Suite struct DecRangeTests {
    @Test func aDivisionByZeroInACheckedScopeThrowsInsteadOfStopping() {
        #expect(throws: DecRangeError("a division by zero")) {
            try Dec.checked { Dec(1).divided(by: 0) }
        }
    }

    @Test func aProductBeyondTenToThe38ThrowsAndTheScopeKeepsTheFirstError() throws {
        let big = Dec(mantissa: Int128(10).power(30), scale: 0)
        #expect(throws: DecRangeError("a product beyond 10^38")) {
            try Dec.checked { () -> Dec in
                _ = big * big
                return Dec(1).divided(by: 0)
            }
        }
        // Inside the range, the scope answers what the body computed.
        #expect(try Dec.checked { Dec("1.5") * Dec(2) } == Dec(3))
    }

    @Test func aLargeQuotientIsGivenAtTheFinestScaleItFits() throws {
        // 10^15 / 10^-12 = 10^27: it does not fit 18 decimals in 128 bits, it does fit 11.
        let q = try Dec.checked { Dec("1000000000000000").divided(by: Dec("0.000000000001")) }
        #expect(q == Dec(mantissa: Int128(10).power(27), scale: 0))
        // Rounding still floors: 10^25 / 3 keeps as many decimals as fit, never more than asked.
        let third = try Dec.checked { Dec(mantissa: Int128(10).power(25), scale: 0).divided(by: 3) }
        #expect(third.scale < Dec.divisionScale && third * 3 <= Dec(mantissa: Int128(10).power(25), scale: 0))
        #expect(third.description.hasPrefix("3333333333333333333333333.333"))
        // A divisor with many decimals no longer stops the process.
        let tiny = Dec(mantissa: 1, scale: 36)
        #expect(try Dec.checked { Dec(1).divided(by: tiny) } == Dec(mantissa: Int128(10).power(36), scale: 0))
    }

    @Test func roundingWithAStepThatIsNotPositiveIsARangeError() {
        #expect(throws: DecRangeError.self) { try Dec.checked { Dec(5).floored(toMultipleOf: 0) } }
    }

    @Test func asyncScopesCarryTheTrapAcrossAwaits() async {
        actor Far { func divide() -> Dec { Dec(1).divided(by: 0) } }
        let trap = DecRangeTrap()
        let far = Far()
        let result = await Dec.withTrap(trap) { await far.divide() }
        #expect(result == 0 && trap.error == DecRangeError("a division by zero"))
    }
}

extension Int128 {
    func power(_ n: Int) -> Int128 { (0..<n).reduce(1) { r, _ in r * self } }
}
