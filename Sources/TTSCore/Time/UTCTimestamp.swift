import Foundation

/// ISO 8601 timestamps in UTC to the second (`2026-11-27T11:57:34Z`), the form
/// `ISO8601DateFormatter()` writes with its default options, without creating a formatter.
///
/// Creating an `ISO8601DateFormatter` builds an ICU formatter (tens of microseconds), and one
/// formatter cannot be shared between threads, so a REPL that prints two dates per `say` spent
/// half its time there. This writes the digits from the Unix time with the civil-from-days
/// arithmetic of the proleptic Gregorian calendar.
///
/// Identical to the formatter for years 1600 to 9999: it rounds to the nearest millisecond
/// first, as the formatter does, so 11:57:33.9996 prints as 11:57:34. Outside that range (where
/// the formatter switches to the Julian calendar before 1582, or writes five-digit years) and
/// for non-finite times it asks a formatter.
///
/// ```swift
/// UTCTimestamp.string(from: Date(timeIntervalSince1970: 0))  // "1970-01-01T00:00:00Z"
/// ```
public enum UTCTimestamp {
    /// 1600-01-01T00:00:00Z and 10000-01-01T00:00:00Z, in milliseconds since 1970.
    static let firstMillisecond: Double = -11_676_096_000_000
    static let endMillisecond: Double = 253_402_300_800_000

    public static func string(from date: Date) -> String {
        // The formatter's arithmetic: seconds since 2001 shifted to 1970, in milliseconds,
        // rounded to whole ones.
        let milliseconds = ((date.timeIntervalSinceReferenceDate + Date.timeIntervalBetween1970AndReferenceDate) * 1000).rounded()
        guard milliseconds >= firstMillisecond, milliseconds < endMillisecond else {
            return ISO8601DateFormatter().string(from: date)
        }
        let seconds = Int64(milliseconds).floorDivided(by: 1000)
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = civil(fromDays: days)
        return String(unsafeUninitializedCapacity: 20) { buffer in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var v = value
                for i in stride(from: offset + width - 1, through: offset, by: -1) {
                    buffer[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                    v /= 10
                }
            }
            put(year, 4, at: 0)
            buffer[4] = 45  // -
            put(month, 2, at: 5)
            buffer[7] = 45
            put(day, 2, at: 8)
            buffer[10] = 84  // T
            put(secondOfDay / 3600, 2, at: 11)
            buffer[13] = 58  // :
            put(secondOfDay / 60 % 60, 2, at: 14)
            buffer[16] = 58
            put(secondOfDay % 60, 2, at: 17)
            buffer[19] = 90  // Z
            return 20
        }
    }

    /// Year, month (1–12) and day (1–31) of the day `days` after 1970-01-01 in the proleptic
    /// Gregorian calendar (Howard Hinnant's `civil_from_days`: eras of 400 years that begin on
    /// 1 March, so the leap day is the last day of an era's year).
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let dayOfEra = z - era * 146_097                                              // [0, 146096]
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365  // [0, 399]
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // [0, 365], from 1 March
        let shiftedMonth = (5 * dayOfYear + 2) / 153                                  // [0, 11], 0 = March
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (times before 1970 are negative).
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
