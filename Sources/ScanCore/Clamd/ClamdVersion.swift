#if canImport(Glibc)
import Glibc
#endif

/// clamd's reply to VERSION: `ClamAV 1.4.6/27500/Wed Nov 25 10:47:56 2026`, or `ClamAV 1.4.6`
/// when no daily database (`daily.cvd`, `.cld` or `.cud`) is loaded.
public struct ClamdVersion: Sendable, Hashable {
    /// The engine version (`1.4.6`).
    public let engineVersion: String
    /// The version of the loaded daily database, if one is loaded.
    public let databaseVersion: Int?
    /// The build time of the loaded daily database, in seconds since the epoch.
    public let databaseBuildTime: Int64?
    /// The build time as clamd printed it (ctime form, clamd's local time).
    public let databaseBuildTimeText: String?
    /// The number of signatures clamd has loaded, when the reply carries it (a field after the date).
    public let signatureCount: Int?
    /// The whole reply.
    public let raw: String

    /// How to read the ctime-style date clamd prints in its own local time zone.
    public enum TimeZone: Sendable, Hashable {
        /// The process's local time zone (`TZ`, `/etc/localtime`): right when clamd runs on this host.
        case local
        /// A fixed offset east of UTC, in seconds (0 for UTC).
        case offset(seconds: Int)
    }

    /// Parses a VERSION reply. Returns nil when it is not one.
    ///
    /// Fields after the date (coming releases add the loaded signature count,
    /// `ClamAV 1.5.0/27500/Wed Nov 25 10:47:56 2026/8712345`) are read when they are a count and
    /// otherwise ignored, so a newer clamd still parses.
    public init?(parsing reply: String, timeZone: TimeZone = .local) {
        guard reply.hasPrefix("ClamAV ") else { return nil }
        let fields = reply.dropFirst("ClamAV ".count).split(separator: "/", omittingEmptySubsequences: false)
        guard let engine = fields.first, !engine.isEmpty, !engine.contains(" ") else { return nil }
        engineVersion = String(engine)
        raw = reply
        switch fields.count {
        case 1:
            databaseVersion = nil
            databaseBuildTime = nil
            databaseBuildTimeText = nil
            signatureCount = nil
        case 2:
            return nil
        default:
            guard let version = Int(fields[1]), version >= 0 else { return nil }
            guard let time = Self.epochSeconds(ctime: fields[2], timeZone: timeZone) else { return nil }
            databaseVersion = version
            databaseBuildTime = time
            databaseBuildTimeText = String(fields[2])
            signatureCount = fields.count > 3 ? Int(fields[3].trimmingPrefix(" ")).flatMap { $0 >= 0 ? $0 : nil } : nil
        }
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Wed Nov 25 10:47:56 2026` (ctime, possibly with a space-padded day) to epoch seconds.
    static func epochSeconds(ctime text: Substring, timeZone: TimeZone) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 5, let month = months.firstIndex(of: String(parts[1])),
            let day = Int(parts[2]), (1...31).contains(day), let year = Int(parts[4]),
            (1...9999).contains(year)  // ctime's four digits; a larger year trapped in Int32(_:) (found by fuzzing)
        else { return nil }
        let clock = parts[3].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        switch timeZone {
        case .offset(let offset):
            let days = daysFromCivil(year: year, month: month + 1, day: day)
            return days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        case .local:
            var broken = tm()
            broken.tm_year = Int32(year - 1900)
            broken.tm_mon = Int32(month)
            broken.tm_mday = Int32(day)
            broken.tm_hour = Int32(hour)
            broken.tm_min = Int32(minute)
            broken.tm_sec = Int32(second)
            broken.tm_isdst = -1
            let result = mktime(&broken)
            return result == -1 ? nil : Int64(result)
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
