import Testing
@testable import MMCore

@Suite struct DecTests {
    @Test(arguments: [
        ("0", "0"), ("1.500", "1.5"), ("-0.000", "0"), (".25", "0.25"), ("+7", "7"),
        ("0.000000000000000001", "0.000000000000000001"), ("99999999999999999999.999999999999999999", "99999999999999999999.999999999999999999"),
        ("-12.3400", "-12.34"), ("007.10", "7.1"),
    ])
    func parsesAndRendersNormalized(input: String, expected: String) throws {
        #expect(try Dec.parse(input).description == expected)
    }

    @Test(arguments: ["", " ", "1e5", "1,000", "abc", "1.2.3", "--1", "1-", ".", "-", "NaN", "0x10", "1 000"])
    func rejectsMalformed(input: String) {
        #expect(Dec(input) == nil)
    }

    /// The store parses stored text from its bytes: the same values and the same refusals.
    @Test(arguments: ["0", "1.500", "-0.000", ".25", "+7", "-12.3400", "99999999999999999999.999999999999999999",
                      "", "1e5", "abc", "1.2.3", "--1", ".", "-", "0.0000000000000000001", "100000000000000000000"])
    func bytesParseAsTextDoes(input: String) {
        let fromText = Result { () throws(DecParseError) in try Dec.parse(input) }
        let fromBytes = Array(input.utf8).withUnsafeBufferPointer { bytes in Result { () throws(DecParseError) in try Dec.parse(utf8: bytes) } }
        switch (fromText, fromBytes) {
        case (.success(let a), .success(let b)): #expect(a == b && a.description == b.description)
        case (.failure(let a), .failure(let b)): #expect(a == b)
        default: Issue.record("'\(input)': \(fromText) from text, \(fromBytes) from bytes")
        }
    }

    @Test func rejectsTooManyDecimalsAndTooLarge() {
        #expect(throws: DecParseError.tooManyDecimals(18)) { try Dec.parse("0.0000000000000000001") }
        #expect(throws: DecParseError.tooLarge) { try Dec.parse("100000000000000000000") }
        #expect(throws: DecParseError.tooLarge) { try Dec.parse("1234567890123456789012345678901234567890") }
    }

    @Test func equalityAndHashIgnoreScale() {
        let a: Dec = "1.50", b: Dec = "1.5"
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(Dec("2") == Dec(2))
        #expect(Dec("-0.1") < Dec("0.01"))
        #expect(Dec("100.001") > Dec("100"))
    }

    @Test func exactArithmetic() {
        // The classic floating-point failure is exact here.
        #expect(Dec("0.1") + Dec("0.2") == Dec("0.3"))
        #expect(Dec("60000.12") * Dec("0.000123") == Dec("7.38001476"))
        #expect((Dec("1.005") - Dec("2")).description == "-0.995")
        #expect((Dec("-3") * Dec("0.5")).description == "-1.5")
    }

    @Test func wideProductsStayExactWhenTheyFit() {
        let big: Dec = "12345678901234567890.123456789012345678"
        let p = big * big
        // 38 + 38 significant digits do not fit 128 bits: the product keeps every digit that fits,
        // here the whole integer part, exactly (rounded towards zero).
        #expect(p.description == "152415787532388367504953515625666819427")
        let small: Dec = "0.000000000000000001"
        #expect((small * small).isZero == false)
        #expect((small * small).description == "0.000000000000000000000000000000000001")
    }

    @Test func divisionRoundsAsAsked() {
        let q = Dec(1).divided(by: 3, scale: 4)
        #expect(q.description == "0.3333")
        #expect(Dec(2).divided(by: 3, scale: 4, rounding: .up).description == "0.6667")
        #expect(Dec(-1).divided(by: 3, scale: 2, rounding: .down).description == "-0.34")
        #expect(Dec(-1).divided(by: 3, scale: 2, rounding: .towardZero).description == "-0.33")
        #expect(Dec("2.5").divided(by: 1, scale: 0, rounding: .halfEven).description == "2")
        #expect(Dec("3.5").divided(by: 1, scale: 0, rounding: .halfEven).description == "4")
        #expect(Dec("104.705").divided(by: Dec("97.00"), scale: 3).description == "1.079")
        #expect(Dec(10).divided(by: Dec("0.001"), scale: 0).description == "10000")
    }

    @Test func flooringToTickAndStep() {
        #expect(Dec("98.901").floored(toMultipleOf: "0.01") == Dec("98.9"))
        #expect(Dec("101.101").floored(toMultipleOf: "0.01") == Dec("101.1"))
        #expect(Dec("-1.005").floored(toMultipleOf: "0.01") == Dec("-1.01"))
        #expect(Dec("1.005").ceiled(toMultipleOf: "0.01") == Dec("1.01"))
        #expect(Dec("7").floored(toMultipleOf: "2.5") == Dec(5))
        #expect(Dec("0.0012345").floored(toMultipleOf: "0.000001").description == "0.001234")
        #expect(Dec("5").isMultiple(of: "0.5"))
        #expect(!Dec("5.01").isMultiple(of: "0.5"))
    }

    @Test func plainTextForTheExchange() {
        #expect(Dec("98.9").text(places: 2) == "98.90")
        #expect(Dec("0.0012345").text(places: 6) == "0.001234")
        #expect(Dec(5).text(places: 0) == "5")
        #expect(Dec("0.00000001").text(places: 8) == "0.00000001")
    }

    @Test func codableAsString() throws {
        let d: Dec = "12.50"
        let data = try JSONEncoder().encode([d])
        #expect(String(decoding: data, as: UTF8.self) == #"["12.5"]"#)
        #expect(try JSONDecoder().decode([Dec].self, from: data) == [d])
    }
}

import Foundation

@Suite struct DecScaleTests {
    @Test func roundingToAStepKeepsTheStepsScale() {
        let q = Dec(10).divided(by: 3, scale: 18)
        let f = q.floored(toMultipleOf: "0.001")
        #expect(f.scale == 3 && f.description == "3.333")
    }

    @Test func longChainsOfFractionsNeverTrap() {
        // Quotients at 18 decimals multiplied and summed many times: no overflow, no trap.
        var total: Dec = 0
        var x = Dec(1).divided(by: 7, scale: 18)
        for i in 1...200 {
            x = (x * Dec("1.0000001")).divided(by: Dec(i % 5 + 1), scale: 18) * Dec(i % 5 + 1)
            total += x * Dec("123456789.123456") + Dec("0.000000000000000001")
        }
        #expect(total.isPositive)
        let a = Dec(mantissa: Int128(10).multipliedReportingOverflow(by: 1).partialValue * (powerOfTen(37) / 10), scale: 36)
        let b: Dec = "1234567890123"
        #expect((a + b).description.hasPrefix("1234567890133"))
    }
}

/// The 64-bit fast paths of the arithmetic (sums, comparisons, roundings, quotients of
/// mantissas that fit 64 bits) against the 128-bit paths: each operand is also written with
/// 18 more decimals (the same value, a mantissa beyond 64 bits unless it is tiny), which
/// takes the wide path, and the fast results are compared with the wide functions' own.
@Suite struct DecFastPathTests {
    func widened(_ d: Dec) -> Dec { Dec(mantissa: d.mantissa * powerOfTen(18), scale: d.scale + 18) }

    @Test func fastAndWidePathsAgree() {
        var g = SeededGenerator(seed: 17)
        func random() -> Dec {
            let magnitude = Int128(Int64.random(in: -9_000_000_000_000_000...9_000_000_000_000_000, using: &g)) / powerOfTen(Int.random(in: 0...18, using: &g))
            return Dec(mantissa: magnitude, scale: Int.random(in: 0...14, using: &g))
        }
        let steps: [Dec] = ["0.01", "0.000001", "1", "0.5", "25", "0.0000000001"]
        for _ in 0..<20_000 {
            let a = random(), b = random()
            let wa = widened(a), wb = widened(b)
            #expect(a + b == wa + wb, "\(a) + \(b)")
            #expect(a - b == wa - wb, "\(a) - \(b)")
            #expect((a < b) == (wa < wb) && (a == b) == (wa == wb) && (a < b) == (a < wb), "\(a) <=> \(b)")
            #expect(Dec.compare(a, b) == Dec.compareWide(a, b) && a + b == Dec.addWide(a, b), "\(a), \(b)")
            #expect(a * b == Dec.multiplySlow(a, b), "\(a) × \(b)")
            let step = steps[Int.random(in: 0..<steps.count, using: &g)]
            for rounding in [DecRounding.down, .up, .towardZero, .halfEven] {
                let r = a.rounded(toMultipleOf: step, rounding)
                #expect(r == wa.rounded(toMultipleOf: step, rounding) && r == a.roundedWide(toMultipleOf: step, rounding), "\(a) to \(step) \(rounding)")
            }
            if !b.isZero {
                #expect(a.divided(by: b, scale: 12) == wa.divided(by: wb, scale: 12), "\(a) / \(b)")
            }
        }
    }

    @Test func fastPathEdges() {
        let big = Dec(mantissa: Int128(Int64.max), scale: 0), small = Dec(mantissa: Int128(Int64.min), scale: 18)
        #expect(big + small == widened(big) + widened(small))
        #expect((big + Dec(mantissa: 1, scale: 18)).description == "9223372036854775807.000000000000000001")
        #expect(small < big && !(big < small) && small != big)
        #expect(Dec(mantissa: Int128(Int64.min), scale: 0).rounded(toMultipleOf: "0.01", .down) == Dec(mantissa: Int128(Int64.min), scale: 0))
        #expect(Dec("-0.005").rounded(toMultipleOf: "0.01", .halfEven) == 0)
        #expect(Dec("-0.015").rounded(toMultipleOf: "0.01", .halfEven) == Dec("-0.02"))
        #expect(Dec("-0.011").rounded(toMultipleOf: "0.01", .down) == Dec("-0.02"))
        #expect(Dec("-0.011").rounded(toMultipleOf: "0.01", .up) == Dec("-0.01"))
        #expect(Dec("1.5").normalized.scale == 1 && Dec("1.500000").normalized == Dec("1.5"))
    }
}
