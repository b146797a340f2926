/// An exact decimal number: `mantissa × 10^-scale`.
///
/// Money in mmsh (prices, amounts, balances, fees, percentages) is always a `Dec`, never a `Double`.
/// Sums, differences and products are exact; a quotient is exact to the scale asked for and rounded
/// the way asked for (floor by default, so that budgets never overspend). Values compare and hash by
/// value: `1.50 == 1.5`. Arithmetic keeps the operands' scale, so same-scale sums and comparisons are
/// a single integer operation (the hot path of the strategy and the book).
public struct Dec: Sendable {
    public let mantissa: Int128
    public let scale: Int

    /// Largest scale kept. Products with more decimals are rounded towards zero at this scale.
    public static let maxScale = 36
    /// Default scale of quotients.
    public static let divisionScale = 18

    public init(mantissa: Int128, scale: Int) {
        precondition(scale >= 0 && scale <= Dec.maxScale, "Dec scale out of range")
        self.mantissa = mantissa
        self.scale = scale
    }

    /// For the inlined fast paths, whose scale is one of their operands' (so already in range).
    @inlinable @inline(__always)
    init(unchecked mantissa: Int128, scale: Int) {
        self.mantissa = mantissa
        self.scale = scale
    }

    public init(_ value: Int) {
        self.init(mantissa: Int128(value), scale: 0)
    }

    public static let zero = Dec(mantissa: 0, scale: 0)
    public static let one = Dec(mantissa: 1, scale: 0)

    @inlinable public var isZero: Bool { mantissa == 0 }
    @inlinable public var isNegative: Bool { mantissa < 0 }
    @inlinable public var isPositive: Bool { mantissa > 0 }
    @inlinable public var magnitude: Dec { mantissa < 0 ? -self : self }

    /// The same value with trailing fractional zeros removed (`1.500` → `1.5`).
    public var normalized: Dec {
        var s = scale
        // In 64 bits while the mantissa fits: a 128-bit remainder is a slow library call.
        if var m = mantissa.exactInt64 {
            while s > 0 && m % 10 == 0 { m /= 10; s -= 1 }
            return Dec(unchecked: Int128(m), scale: s)
        }
        var m = mantissa
        while s > 0 && m % 10 == 0 { m /= 10; s -= 1 }
        return Dec(unchecked: m, scale: s)
    }

    /// Number of decimal places of the normalized value.
    public var decimalPlaces: Int { normalized.scale }

    /// For statistics only (volatility, charts): never for money.
    public var doubleValue: Double {
        let m = mantissa.exactInt64.map(Double.init) ?? Double(mantissa)
        return scale < doublePowersOfTen.count ? m / doublePowersOfTen[scale] : m / pow10Double(scale)
    }
}

// MARK: - Powers of ten

/// 10^n for n in 0...38. A switch of constants (a table in read-only data), not a global array:
/// each read of a lazily made global is a call to `swift_once`, and rescaling reads one at
/// nearly every mixed-scale sum and comparison of the strategy's hot path.
@inline(__always) @usableFromInline func powerOfTen(_ n: Int) -> Int128 {
    if n <= 18 { return Int128(powerOfTen64(n)) }
    return switch n {
    case 19: 10000000000000000000
    case 20: 100000000000000000000
    case 21: 1000000000000000000000
    case 22: 10000000000000000000000
    case 23: 100000000000000000000000
    case 24: 1000000000000000000000000
    case 25: 10000000000000000000000000
    case 26: 100000000000000000000000000
    case 27: 1000000000000000000000000000
    case 28: 10000000000000000000000000000
    case 29: 100000000000000000000000000000
    case 30: 1000000000000000000000000000000
    case 31: 10000000000000000000000000000000
    case 32: 100000000000000000000000000000000
    case 33: 1000000000000000000000000000000000
    case 34: 10000000000000000000000000000000000
    case 35: 100000000000000000000000000000000000
    case 36: 1000000000000000000000000000000000000
    case 37: 10000000000000000000000000000000000000
    case 38: 100000000000000000000000000000000000000
    default: preconditionFailure("10^\(n) does not fit 128 bits")
    }
}

/// 10^n for n in 0...18, in 64 bits.
@inlinable @inline(__always) func powerOfTen64(_ n: Int) -> Int64 {
    switch n {
    case 0: 1
    case 1: 10
    case 2: 100
    case 3: 1000
    case 4: 10000
    case 5: 100000
    case 6: 1000000
    case 7: 10000000
    case 8: 100000000
    case 9: 1000000000
    case 10: 10000000000
    case 11: 100000000000
    case 12: 1000000000000
    case 13: 10000000000000
    case 14: 100000000000000
    case 15: 1000000000000000
    case 16: 10000000000000000
    case 17: 100000000000000000
    case 18: 1000000000000000000
    default: preconditionFailure("10^\(n) does not fit 64 bits")
    }
}

extension Int128 {
    /// The value in 64 bits when it fits (the generic `Int64(exactly:)` is a call, not inlined).
    @inlinable @inline(__always) var exactInt64: Int64? {
        let low = Int64(truncatingIfNeeded: self)
        return Int128(low) == self ? low : nil
    }
}

private let doublePowersOfTen: [Double] = (0...22).map { pow10Double($0) }

private func pow10Double(_ n: Int) -> Double {
    var r = 1.0
    for _ in 0..<n { r *= 10 }
    return r
}

extension Dec {
    /// `mantissa` rescaled to `newScale` ≥ `scale`, or nil when it does not fit in 128 bits.
    @inlinable @inline(__always)
    func mantissa(atScale newScale: Int) -> Int128? {
        if newScale == scale { return mantissa }
        // A 64-bit mantissa times at most 10^18 fits 128 bits: one multiply, nothing to check.
        if newScale - scale <= 18, let m = mantissa.exactInt64 {
            return Int128(m) &* Int128(powerOfTen64(newScale - scale))
        }
        let (r, overflow) = mantissa.multipliedReportingOverflow(by: powerOfTen(newScale - scale))
        return overflow ? nil : r
    }

    /// The value as a whole number of 10^-`s` (`1.5` at 2 is 150): nil when it has more than
    /// `s` decimals or does not fit 64 bits. What a book compares its prices by.
    @inlinable public func units(atScale s: Int) -> Int64? {
        guard s >= scale, s <= Dec.maxScale, let m = mantissa(atScale: s) else { return nil }
        return Int64(exactly: m)
    }
}

// MARK: - Equality, order, hashing (by value)

extension Dec: Equatable, Comparable, Hashable {
    // The operators are inlined into their callers (the strategy, the book, the matching engine
    // are other modules): a same-scale comparison or sum is then one or two instructions, not a
    // call through a thunk.
    @inlinable public static func == (a: Dec, b: Dec) -> Bool {
        if a.scale == b.scale { return a.mantissa == b.mantissa }
        return compare(a, b) == 0
    }

    @inlinable public static func < (a: Dec, b: Dec) -> Bool {
        if a.scale == b.scale { return a.mantissa < b.mantissa }
        return compare(a, b) < 0
    }

    @inlinable public static func > (a: Dec, b: Dec) -> Bool { b < a }
    @inlinable public static func <= (a: Dec, b: Dec) -> Bool { !(b < a) }
    @inlinable public static func >= (a: Dec, b: Dec) -> Bool { !(a < b) }

    @usableFromInline static func compare(_ a: Dec, _ b: Dec) -> Int {
        // 64-bit mantissas up to 18 scales apart (nearly every comparison of prices, amounts and
        // fractions): the coarser one rescaled by a 64×64-bit multiply, which cannot overflow.
        if let x = a.mantissa.exactInt64, let y = b.mantissa.exactInt64 {
            let d = a.scale - b.scale
            if d >= 0 && d <= 18 {
                let wy = Int128(y) &* Int128(powerOfTen64(d)), wx = Int128(x)
                return wx < wy ? -1 : (wx > wy ? 1 : 0)
            }
            if d < 0 && d >= -18 {
                let wx = Int128(x) &* Int128(powerOfTen64(-d)), wy = Int128(y)
                return wx < wy ? -1 : (wx > wy ? 1 : 0)
            }
        }
        return compareWide(a, b)
    }

    /// The rest of `compare`, out of line so that its fast path saves few registers.
    @inline(never) static func compareWide(_ a: Dec, _ b: Dec) -> Int {
        let s = max(a.scale, b.scale)
        switch (a.mantissa(atScale: s), b.mantissa(atScale: s)) {
        case let (x?, y?): return x < y ? -1 : (x > y ? 1 : 0)
        // A rescale overflowed: that side's magnitude exceeds anything the other can hold.
        case (nil, _): return a.mantissa < 0 ? -1 : 1
        case (_, nil): return b.mantissa < 0 ? 1 : -1
        }
    }

    public func hash(into hasher: inout Hasher) {
        let n = normalized
        hasher.combine(n.mantissa)
        hasher.combine(n.scale)
    }
}

// MARK: - Arithmetic

public enum DecRounding: Sendable {
    /// Towards negative infinity (floor).
    case down
    /// Towards positive infinity (ceiling).
    case up
    case towardZero
    case halfEven
}

extension Dec {
    @inlinable public static func + (a: Dec, b: Dec) -> Dec {
        if a.scale == b.scale {
            let (m, overflow) = a.mantissa.addingReportingOverflow(b.mantissa)
            if !overflow { return Dec(unchecked: m, scale: a.scale) }
        }
        return addMixed(a, b)
    }

    /// A sum of operands of different scales, or one that overflowed at their common scale.
    @usableFromInline static func addMixed(_ a: Dec, _ b: Dec) -> Dec {
        // As in `compare`: 64-bit mantissas rescaled by a multiply that cannot overflow, and a
        // sum of two values below 2^124 that cannot either.
        if let x = a.mantissa.exactInt64, let y = b.mantissa.exactInt64 {
            let d = a.scale - b.scale
            if d >= 0 && d <= 18 { return Dec(unchecked: Int128(x) &+ Int128(y) &* Int128(powerOfTen64(d)), scale: a.scale) }
            if d < 0 && d >= -18 { return Dec(unchecked: Int128(x) &* Int128(powerOfTen64(-d)) &+ Int128(y), scale: b.scale) }
        }
        return addWide(a, b)
    }

    /// The rest of `addMixed`, out of line so that its fast path saves few registers.
    @inline(never) static func addWide(_ a: Dec, _ b: Dec) -> Dec {
        if a.scale != b.scale, let x = a.mantissa(atScale: max(a.scale, b.scale)), let y = b.mantissa(atScale: max(a.scale, b.scale)) {
            let (m, overflow) = x.addingReportingOverflow(y)
            if !overflow { return Dec(unchecked: m, scale: max(a.scale, b.scale)) }
        }
        return addSlow(a.normalized, b.normalized)
    }

    /// Sum of operands whose scales do not align in 128 bits: at the finest scale both fit,
    /// the finer operand rounded towards zero (only beyond 38 significant digits in all).
    private static func addSlow(_ a: Dec, _ b: Dec) -> Dec {
        var t = max(a.scale, b.scale)
        while true {
            func at(_ x: Dec) -> Int128? {
                x.scale >= t ? x.mantissa / powerOfTen(x.scale - t) : x.mantissa(atScale: t)
            }
            if let x = at(a), let y = at(b) {
                let (sum, overflow) = x.addingReportingOverflow(y)
                if !overflow { return Dec(mantissa: sum, scale: t) }
            }
            if t == 0 { return outOfRange("a sum beyond 10^38") }
            t -= 1
        }
    }

    @inlinable public static prefix func - (a: Dec) -> Dec { Dec(unchecked: -a.mantissa, scale: a.scale) }
    @inlinable public static func - (a: Dec, b: Dec) -> Dec {
        if a.scale == b.scale {
            let (m, overflow) = a.mantissa.subtractingReportingOverflow(b.mantissa)
            if !overflow { return Dec(unchecked: m, scale: a.scale) }
        }
        return addMixed(a, -b)
    }
    @inlinable public static func += (a: inout Dec, b: Dec) { a = a + b }
    @inlinable public static func -= (a: inout Dec, b: Dec) { a = a - b }

    @inlinable public static func * (a: Dec, b: Dec) -> Dec {
        let s = a.scale + b.scale
        // Both mantissas in 64 bits (nearly every price and amount): one multiply, no overflow.
        if s <= 24, let x = a.mantissa.exactInt64, let y = b.mantissa.exactInt64 {
            return Dec(unchecked: Int128(x) &* Int128(y), scale: s)
        }
        return multiplySlow(a, b)
    }

    @usableFromInline static func multiplySlow(_ a: Dec, _ b: Dec) -> Dec {
        let s = a.scale + b.scale
        let (m, overflow) = a.mantissa.multipliedReportingOverflow(by: b.mantissa)
        if !overflow && s <= maxScale {
            let product = Dec(unchecked: m, scale: s)
            // Keep long chains of products (fractions × prices × fees) from piling up zeros.
            return s > 24 ? product.normalized : product
        }
        // Exact 256-bit product, then drop decimals (towards zero) until it fits.
        let wide = a.mantissa.multipliedFullWidth(by: b.mantissa)
        return reduce(high: wide.high, low: wide.low, scale: s)
    }

    @inlinable public static func *= (a: inout Dec, b: Dec) { a = a * b }

    /// Drops decimals of a 256-bit mantissa until it fits 128 bits and `maxScale`.
    private static func reduce(high: Int128, low: UInt128, scale: Int) -> Dec {
        var high = high, low = low, scale = scale
        while true {
            let fits = (high == 0 && low <= UInt128(Int128.max)) || (high == -1 && low >= UInt128(Int128.max) + 1)
            if fits && scale <= maxScale {
                return Dec(mantissa: Int128(bitPattern: low), scale: scale)
            }
            if scale == 0 { return outOfRange("a product beyond 10^38") }
            // Divide the 256-bit value by 10 towards zero.
            let negative = high < 0
            var (h, l) = (high, low)
            if negative { (h, l) = negate256(h, l) }
            let hq = UInt128(h) / 10, hr = UInt128(h) % 10
            let (lq, _) = UInt128(10).dividingFullWidth((high: hr, low: l))
            (high, low) = (Int128(hq), lq)
            if negative { (high, low) = negate256(high, low) }
            scale -= 1
        }
    }

    private static func negate256(_ h: Int128, _ l: UInt128) -> (Int128, UInt128) {
        let nl = ~l &+ 1
        let nh = ~h &+ (nl == 0 ? 1 : 0)
        return (nh, nl)
    }

    /// `self / divisor` to `scale` decimals, rounded as asked. A quotient too large for that
    /// scale is given at the finest scale it fits (fewer decimals, rounded the same way), as
    /// products are. Division by zero, or a quotient beyond 10^38, is out of range (`outOfRange`).
    public func divided(by divisor: Dec, scale: Int = Dec.divisionScale, rounding: DecRounding = .down) -> Dec {
        if divisor.isZero { return Dec.outOfRange("a division by zero") }
        var scale = scale
        while true {
            if let q = quotient(by: divisor, scale: scale, rounding: rounding) { return q }
            if scale == 0 { return Dec.outOfRange("a quotient beyond 10^38") }
            scale -= 1
        }
    }

    /// The quotient at exactly `scale` decimals, or nil when it does not fit 128 bits there.
    private func quotient(by divisor: Dec, scale: Int, rounding: DecRounding) -> Dec? {
        // q = self.m * 10^(scale + d.scale - self.scale) / d.m
        let num = self
        var den = divisor
        var e = scale + den.scale - num.scale
        if e < 0 {
            // Scale the divisor up instead; normalize first to keep it small.
            den = den.normalized
            e = scale + den.scale - num.scale
        }
        var numHigh: Int128 = 0, numLow: UInt128
        var denM = den.mantissa
        if e >= 0 {
            if e > 38 { return nil }
            if e <= 18, let m = num.mantissa.exactInt64 {
                // A 64-bit mantissa times at most 10^18 fits 128 bits.
                let p = Int128(m) &* Int128(powerOfTen64(e))
                (numHigh, numLow) = (p < 0 ? -1 : 0, UInt128(bitPattern: p))
            } else {
                let wide = num.mantissa.multipliedFullWidth(by: powerOfTen(e))
                (numHigh, numLow) = (wide.high, wide.low)
            }
        } else {
            let (m, overflow) = denM.multipliedReportingOverflow(by: powerOfTen(-e))
            if overflow { return Dec(mantissa: 0, scale: scale) }  // quotient below 10^-scale
            denM = m
            numLow = UInt128(bitPattern: num.mantissa)
            numHigh = num.mantissa < 0 ? -1 : 0
        }
        // Work on magnitudes so rounding is explicit.
        let negative = (numHigh < 0) != (denM < 0) && !(numHigh == 0 && numLow == 0)
        if numHigh < 0 { (numHigh, numLow) = Dec.negate256(numHigh, numLow) }
        let d = denM.magnitude
        if UInt128(numHigh) >= d { return nil }
        let q: UInt128, r: UInt128
        if numHigh == 0 {
            // The numerator fits 128 bits (nearly always): a plain division, in 64 bits when it fits.
            if numLow >> 64 == 0, d >> 64 == 0 {
                let n64 = UInt64(truncatingIfNeeded: numLow), d64 = UInt64(truncatingIfNeeded: d)
                let (q64, r64) = n64.quotientAndRemainder(dividingBy: d64)
                (q, r) = (UInt128(q64), UInt128(r64))
            } else {
                let quotient = numLow / d
                (q, r) = (quotient, numLow &- quotient &* d)
            }
        } else {
            (q, r) = d.dividingFullWidth((high: UInt128(numHigh), low: numLow))
        }
        var mag = q
        if r != 0 {
            switch rounding {
            case .towardZero: break
            case .down: if negative { mag += 1 }
            case .up: if !negative { mag += 1 }
            case .halfEven:
                let twice = r.multipliedReportingOverflow(by: 2)
                if twice.overflow || twice.partialValue > d || (twice.partialValue == d && q % 2 == 1) { mag += 1 }
            }
        }
        if mag > UInt128(Int128.max) { return nil }
        let m = Int128(mag)
        return Dec(mantissa: negative ? -m : m, scale: scale)
    }

    /// The largest multiple of `step` not above `self` (`floor(self / step) * step`).
    public func floored(toMultipleOf step: Dec) -> Dec { rounded(toMultipleOf: step, .down) }

    /// The smallest multiple of `step` not below `self`.
    public func ceiled(toMultipleOf step: Dec) -> Dec { rounded(toMultipleOf: step, .up) }

    public func rounded(toMultipleOf step: Dec, _ rounding: DecRounding) -> Dec {
        guard step.isPositive else { return Dec.outOfRange("a rounding step that is not positive") }
        // The common case, a price or amount floored to its tick or step: 64-bit mantissas that
        // stay 64-bit at the finer of the two scales. One 64-bit division; the multiple,
        // q × step, is below |self| (plus a step) and fits 128 bits.
        if let m = mantissa.exactInt64, let stepM = step.mantissa.exactInt64, abs(scale - step.scale) <= 18 {
            let x: Int64, st: Int64, overflow: Bool
            if scale >= step.scale {
                x = m
                (st, overflow) = stepM.multipliedReportingOverflow(by: powerOfTen64(scale - step.scale))
            } else {
                st = stepM
                (x, overflow) = m.multipliedReportingOverflow(by: powerOfTen64(step.scale - scale))
            }
            if !overflow {
                let q = Dec.roundedQuotient(x, st, rounding)
                return Dec(unchecked: Int128(q) &* Int128(stepM), scale: step.scale)
            }
        }
        return roundedWide(toMultipleOf: step, rounding)
    }

    /// `x / st` (st > 0) rounded as asked: one division, the remainder by a multiply (no
    /// overflow: |q·st| ≤ |x|).
    @inline(__always)
    static func roundedQuotient<T: FixedWidthInteger & SignedInteger>(_ x: T, _ st: T, _ rounding: DecRounding) -> T {
        var q = x / st
        let r = x &- q &* st
        guard r != 0 else { return q }
        switch rounding {
        case .down: if x < 0 { q -= 1 }
        case .up: if x > 0 { q += 1 }
        case .towardZero: break
        case .halfEven:
            let twice = r.magnitude * 2  // |r| < st ≤ T.max: no overflow in the magnitude type
            if twice > st.magnitude || (twice == st.magnitude && q % 2 != 0) { q += x < 0 ? -1 : 1 }
        }
        return q
    }

    /// The rest of `rounded(toMultipleOf:_:)`, out of line so that its fast path saves few registers.
    @inline(never) func roundedWide(toMultipleOf step: Dec, _ rounding: DecRounding) -> Dec {
        let s = max(scale, step.scale)
        // Here at least one of the two does not fit 64 bits at the common scale (the fast path
        // took every case that does).
        if let x = mantissa(atScale: s), let st = step.mantissa(atScale: s) {
            let q = Dec.roundedQuotient(x, st, rounding)
            // A multiple of `step` needs no finer scale than the step's own.
            let (m, overflow) = q.multipliedReportingOverflow(by: step.mantissa)
            if !overflow { return Dec(mantissa: m, scale: step.scale) }
            let (wide, wideOverflow) = q.multipliedReportingOverflow(by: st)
            return wideOverflow ? Dec.outOfRange("a multiple beyond 10^38") : Dec(mantissa: wide, scale: s)
        }
        let q = divided(by: step, scale: 0, rounding: rounding)
        return q * step
    }

    /// Whether `self` is a whole multiple of `step`.
    public func isMultiple(of step: Dec) -> Bool { floored(toMultipleOf: step) == self }

    /// Rounded to `places` decimals.
    public func rounded(places: Int, _ rounding: DecRounding = .halfEven) -> Dec {
        if scale <= places { return self }
        return rounded(toMultipleOf: Dec(mantissa: 1, scale: places), rounding)
    }
}

// MARK: - Text

public enum DecParseError: Error, Equatable, Sendable {
    case empty
    case invalid(String)
    case tooManyDecimals(Int)
    case tooLarge
}

extension Dec: CustomStringConvertible, LosslessStringConvertible {
    /// Largest magnitude accepted from text (exclusive): 10^20, so that 20 integer digits and
    /// 18 decimals always fit the 128-bit mantissa.
    public static let maxParsedMagnitude = Dec(mantissa: powerOfTen(20), scale: 0)
    /// Most decimals accepted from text.
    public static let maxParsedDecimals = 18

    /// Most decimals accepted from an exchange's answers: MEXC reports fees such as
    /// `0.0003998377369698171` (19 places); they are kept exactly.
    public static let maxExchangeDecimals = Dec.maxScale

    /// Parses a plain decimal: optional sign, digits, optional point and digits (`12`, `-0.5`, `.25`).
    /// Grouping, exponents and words are refused so nothing is ever guessed. At most
    /// `maxDecimals` decimals (user input: 18) and 38 significant digits.
    public static func parse(_ text: String, maxDecimals: Int = maxParsedDecimals) throws(DecParseError) -> Dec {
        let t = text.trimmingSpaces
        guard !t.isEmpty else { throw .empty }
        if let d = t.utf8.withContiguousStorageIfAvailable({ Dec.digits($0, maxDecimals: maxDecimals) }) {
            guard let value = try d.get() else { throw .invalid(t) }
            return value
        }
        guard let value = try digits(Array(t.utf8), maxDecimals: maxDecimals).get() else { throw .invalid(t) }
        return value
    }

    /// Parses a plain decimal from its UTF-8 bytes, as `parse` does but without spaces around it
    /// and without making a String: the store reads a million stored decimals this way.
    public static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>, maxDecimals: Int = maxParsedDecimals) throws(DecParseError) -> Dec {
        guard !bytes.isEmpty else { throw .empty }
        guard let value = try digits(bytes, maxDecimals: maxDecimals).get() else { throw .invalid(String(decoding: bytes, as: UTF8.self)) }
        return value
    }

    /// The digits' value, nil when they are not a plain decimal (the caller names the text).
    @inline(__always)
    static func digits(_ bytes: some Collection<UInt8>, maxDecimals: Int) -> Result<Dec?, DecParseError> {
        // The digits gather in 64 bits while they fit (every price and amount an exchange sends),
        // and only then in 128: a million stored decimals are read for one 'pnl'.
        var narrow: UInt64 = 0
        var mantissa: Int128 = 0
        var wide = false
        var scale = 0
        var negative = false
        var seenPoint = false
        var digits = 0
        var index = 0
        for byte in bytes {
            defer { index += 1 }
            switch byte {
            case UInt8(ascii: "+") where index == 0: break
            case UInt8(ascii: "-") where index == 0: negative = true
            case UInt8(ascii: ".") where !seenPoint: seenPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                if seenPoint {
                    scale += 1
                    if scale > maxDecimals { return .failure(.tooManyDecimals(maxDecimals)) }
                }
                let digit = byte &- UInt8(ascii: "0")
                if !wide {
                    if narrow <= (UInt64.max - 9) / 10 {
                        narrow = narrow &* 10 &+ UInt64(digit)
                        continue
                    }
                    mantissa = Int128(narrow)
                    wide = true
                }
                // 38 significant digits always fit 128 bits; leading zeros are free.
                if mantissa >= powerOfTen(37) { return .failure(.tooLarge) }
                mantissa = mantissa * 10 + Int128(digit)
            default:
                return .success(nil)
            }
        }
        guard digits > 0 else { return .success(nil) }
        // |value| < 10^20 ⇔ mantissa < 10^(20 + scale); 38 digits always fit, so compare mantissas.
        // A mantissa of 64 bits is below 10^20 whatever the scale.
        if wide {
            if scale + 20 <= 37, mantissa >= powerOfTen(scale + 20) { return .failure(.tooLarge) }
        } else {
            mantissa = Int128(narrow)
        }
        return .success(Dec(mantissa: negative ? -mantissa : mantissa, scale: scale))
    }

    public init?(_ description: String) {
        guard let d = try? Dec.parse(description) else { return nil }
        self = d
    }

    /// A decimal as an exchange sent it, with up to `maxExchangeDecimals` decimals.
    public init?(exchange text: String) {
        guard let d = try? Dec.parse(text, maxDecimals: Dec.maxExchangeDecimals) else { return nil }
        self = d
    }

    /// Plain decimal text, normalized: no exponent, no trailing zeros, no `-0`.
    public var description: String { normalized.plainText }

    /// Plain decimal text with exactly `places` decimals (floored), as MEXC expects for a tick of 10^-places.
    public func text(places: Int) -> String {
        let v = places < scale ? rounded(toMultipleOf: Dec(mantissa: 1, scale: places), .down).normalized : self
        let m = v.mantissa(atScale: places)!
        return Dec(mantissa: m, scale: places).plainText
    }

    /// Plain text at this scale, written backwards into a buffer on the stack: 64-bit divisions
    /// by 10 (a 128-bit one only to split a wide mantissa into 19-digit chunks), no String
    /// built and edited as the digits come (most fit a String's inline storage: no allocation).
    private var plainText: String {
        // 39 digits, a point and a sign at most (a scale of 36 pads to 37 digits).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            var at = buffer.count
            var written = 0
            let scale = self.scale
            func emit(_ digit: UInt64) {
                if written == scale && scale > 0 { at -= 1; buffer[at] = UInt8(ascii: ".") }
                at -= 1
                buffer[at] = UInt8(truncatingIfNeeded: digit) &+ UInt8(ascii: "0")
                written += 1
            }
            var m = mantissa.magnitude
            let chunk: UInt128 = 10_000_000_000_000_000_000
            while m > UInt128(UInt64.max) {
                let (q, r) = m.quotientAndRemainder(dividingBy: chunk)
                var low = UInt64(r)
                for _ in 0..<19 { emit(low % 10); low /= 10 }
                m = q
            }
            var high = UInt64(m)
            repeat { emit(high % 10); high /= 10 } while high != 0
            while written <= scale { emit(0) }
            if mantissa < 0 { at -= 1; buffer[at] = UInt8(ascii: "-") }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[at...]), as: UTF8.self)
        }
    }
}

extension Dec: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: Int) { self.init(value) }

    /// For literals in code and tests only; a malformed literal is a programming error.
    public init(stringLiteral value: String) {
        guard let d = try? Dec.parse(value, maxDecimals: Dec.maxScale) else { preconditionFailure("bad Dec literal \(value)") }
        self = d
    }
}

extension Dec: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do { self = try Dec.parse(s, maxDecimals: Dec.maxScale) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a decimal: \(s)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension String {
    var trimmingSpaces: String {
        // Most text has nothing to trim: answer without copying (the hot path of exchange data).
        let u = utf8
        if let f = u.first, let l = u.last, f != 32, f != 9, l != 32, l != 9 { return self }
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

extension Dec {
    /// A statistic (a Double: a volatility, a factor, a chart's axis) as a decimal with `places`
    /// decimals (0 to 12), rounded down, negative values too; not finite is 0, and magnitudes
    /// beyond 10¹² are held there. Not for money: prices are an exact decimal times such a
    /// factor, then floored to the tick.
    public init(statistic x: Double, places: Int = 12) {
        guard x.isFinite else { self = 0; return }
        let scale = Swift.min(Swift.max(places, 0), 12)
        let clamped = Swift.min(Swift.max(x, -1e12), 1e12)
        self.init(mantissa: Int128((clamped * Self.doublePowers[scale]).rounded(.down)), scale: scale)
    }

    private static let doublePowers: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12]
}
