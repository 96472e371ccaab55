/// The commands the client sends, in clamd's `z`-prefixed, NUL-terminated form.
public enum ClamdCommand: String, Sendable, Hashable, CaseIterable {
    case ping = "PING"
    case version = "VERSION"
    case stats = "STATS"
    case reload = "RELOAD"
    case instream = "INSTREAM"
    case fildes = "FILDES"
    case idSession = "IDSESSION"
    case end = "END"

    /// The bytes on the wire: `z`, the command name, NUL (`zPING\0`).
    public var encoded: [UInt8] { Array("z\(rawValue)".utf8) + [0] }

    /// The 4-byte big-endian length that precedes each INSTREAM chunk (0 ends the stream).
    public static func instreamChunkHeader(length: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
         UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
    }
}

/// Pure parsers for clamd's replies (the text before the terminating NUL).
public enum ClamdReply {
    /// The reply clamd sends when an INSTREAM exceeds StreamMaxLength (before ` ERROR`).
    public static let sizeLimitExceeded = "INSTREAM size limit exceeded."

    /// Whether the reply to PING is `PONG`.
    public static func isPong(_ reply: String) -> Bool { reply == "PONG" }

    /// Whether the reply says the operator disabled the command (`COMMAND UNAVAILABLE`, ClamAV 1.5's
    /// `EnableStatsCommand no`, `EnableVersionCommand no`, `EnableReloadCommand no`).
    public static func isCommandUnavailable(_ reply: String) -> Bool { reply == "COMMAND UNAVAILABLE" }

    /// Whether the reply to RELOAD is `RELOADING`.
    public static func isReloading(_ reply: String) -> Bool { reply == "RELOADING" }

    /// The verdict in a scan reply, or nil when the text is not a scan reply.
    ///
    /// - `stream: OK`, `fd[9]: OK` → `.clean`
    /// - `stream: Eicar-Test-Signature FOUND` → `.infected(signature: "Eicar-Test-Signature")`
    /// - `INSTREAM size limit exceeded. ERROR`, `fd[9]: lstat() failed: … ERROR` → `.error(message:)` with
    ///   clamd's text less the subject prefix and the ` ERROR` suffix.
    public static func verdict(parsing reply: String) -> ScanVerdict? {
        if reply.hasSuffix(" ERROR") {
            let body = reply.dropLast(" ERROR".count)
            let message = dropSubject(body)
            return message.isEmpty ? nil : .error(message: String(message))
        }
        if reply.hasSuffix(" FOUND") {
            let body = reply.dropLast(" FOUND".count)
            guard let separator = body.ranges(of: ": ").last else { return nil }
            let name = body[separator.upperBound...]
            guard !name.isEmpty, !name.contains(" ") else { return nil }
            return .infected(signature: String(name))
        }
        if reply.hasSuffix(": OK"), reply.count > 4 { return .clean }
        return nil
    }

    /// Splits a reply inside an IDSESSION (`3: stream: OK`) into its request number and the reply.
    public static func sessionReply(parsing reply: String) -> (id: Int, body: String)? {
        guard let separator = reply.firstRange(of: ": ") else { return nil }
        guard let id = Int(reply[..<separator.lowerBound]), id > 0 else { return nil }
        return (id, String(reply[separator.upperBound...]))
    }

    /// `stream: rest` → `rest`, `fd[9]: rest` → `rest`; anything else is returned whole.
    private static func dropSubject(_ body: Substring) -> Substring {
        if body.hasPrefix("stream: ") { return body.dropFirst("stream: ".count) }
        if body.hasPrefix("fd["), let close = body.firstRange(of: "]: ") {
            let digits = body[body.index(body.startIndex, offsetBy: 3)..<close.lowerBound]
            if !digits.isEmpty, digits.allSatisfy(\.isNumber) { return body[close.upperBound...] }
        }
        return body
    }
}
