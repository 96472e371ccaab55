import ArgumentParser
import ScanCore

/// Parses 10, 10s, 5m, 2h into seconds: 0 to 10^9 (``BoundedNumber``); anything else is a usage
/// error (exit 64).
public func parseSeconds(_ text: String, option: String) throws -> Double {
    do {
        return try BoundedNumber.parse(text, option: option, unit: .seconds, within: 0...BoundedNumber.maximumSeconds)
    } catch {
        throw ValidationError(error.message)
    }
}

/// Parses 100, 100K, 30M, 1G into bytes: 0 to 2^50 (``BoundedNumber``); anything else is a usage
/// error (exit 64).
public func parseBytes(_ text: String, option: String) throws -> Int64 {
    do {
        return try BoundedNumber.parseBytes(text, option: option, within: 0...BoundedNumber.maximumBytes)
    } catch {
        throw ValidationError(error.message)
    }
}

/// A line on stderr.
public func standardError(_ text: String) {
    writeStandardError(text + "\n")
}

/// Raw bytes to file descriptor 2, all of them (a short write is continued).
public func writeStandardError(_ text: String) {
    Watchdog.writeAll(text, to: 2)
}
