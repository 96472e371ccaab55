#if canImport(Glibc)
import Glibc
#endif

/// What INSTREAM sends: bytes in memory, or a file read from its start with `pread`.
enum InstreamSource {
    case bytes([UInt8])
    case descriptor(Int32)
}

/// The command exchanges, shared by ``ClamdClient`` (one connection per call) and ``ClamdSession``
/// (numbered requests on one IDSESSION connection, `sessionID` set).
extension ClamdConnection {
    /// Sends a command without payload and returns its reply text.
    func request(_ command: ClamdCommand, sessionID: Int?, until deadline: ContinuousClock.Instant, timeout: Duration)
        throws(ClamdError) -> String
    {
        do throws(ClamdError) {
            try send(command.encoded, until: deadline, during: command, timeout: timeout)
        } catch where error.code == .connectionClosed {
            // The peer closed while we sent; what it answered before closing may still be readable.
            return try reply(to: command, sessionID: sessionID, until: deadline, timeout: timeout)
        }
        return try reply(to: command, sessionID: sessionID, until: deadline, timeout: timeout)
    }

    /// Reads the reply to `command`; inside a session, checks and strips the `N: ` request number.
    func reply(to command: ClamdCommand, sessionID: Int?, until deadline: ContinuousClock.Instant, timeout: Duration)
        throws(ClamdError) -> String
    {
        let text = try receiveReply(until: deadline, during: command, timeout: timeout)
        guard let sessionID else { return text }
        guard let (id, body) = ClamdReply.sessionReply(parsing: text), id == sessionID else {
            throw ClamdError(
                .malformedReply,
                "clamd at \(endpoint) answered \(command.rawValue) (request \(sessionID) of a session) with \"\(text.prefix(120))\": expected \"\(sessionID): …\"")
        }
        return body
    }

    /// Streams `source` with INSTREAM in chunks of `chunkSize` bytes, each preceded by its 4-byte
    /// big-endian length, then a zero length; returns clamd's reply text.
    ///
    /// When the stream exceeds StreamMaxLength clamd replies `INSTREAM size limit exceeded. ERROR`
    /// and closes the connection while the client is still sending: the send then fails, and the
    /// reply is read and returned. (Whenever a send fails because the peer closed, the reply is
    /// read: it says why, or reading it reports the close, cut short or not.)
    func instream(_ source: InstreamSource, chunkSize: Int, sessionID: Int?, until deadline: ContinuousClock.Instant,
                  timeout: Duration) throws(ClamdError) -> String
    {
        precondition(chunkSize > 0 && chunkSize <= Int(UInt32.max), "chunk size out of range")
        try send(ClamdCommand.instream.encoded, until: deadline, during: .instream, timeout: timeout)
        do throws(ClamdError) {
            var buffer = [UInt8](repeating: 0, count: 4 + chunkSize)
            var offset = 0
            var usePread = true
            while true {
                let count: Int
                switch source {
                case .bytes(let bytes):
                    count = min(chunkSize, bytes.count - offset)
                    if count > 0 {
                        buffer.withUnsafeMutableBytes { raw in
                            bytes.withUnsafeBytes { source in
                                (raw.baseAddress! + 4).copyMemory(from: source.baseAddress! + offset, byteCount: count)
                            }
                        }
                    }
                case .descriptor(let fd):
                    count = try Self.readChunk(fd, into: &buffer, length: chunkSize, offset: offset, usePread: &usePread)
                }
                if count == 0 { break }
                offset += count
                let header = ClamdCommand.instreamChunkHeader(length: UInt32(count))
                buffer.replaceSubrange(0..<4, with: header)
                let result: Result<Void, ClamdError> = buffer.withUnsafeBytes { raw in
                    Result { () throws(ClamdError) in
                        try send(UnsafeRawBufferPointer(rebasing: raw[0..<(4 + count)]), until: deadline,
                                 during: .instream, timeout: timeout)
                    }
                }
                try result.get()
            }
            try send(ClamdCommand.instreamChunkHeader(length: 0), until: deadline, during: .instream, timeout: timeout)
        } catch where error.code == .connectionClosed {
            return try reply(to: .instream, sessionID: sessionID, until: deadline, timeout: timeout)
        }
        return try reply(to: .instream, sessionID: sessionID, until: deadline, timeout: timeout)
    }

    /// Reads up to `length` bytes of the file into `buffer[4...]`: `pread` at `offset`, or `read`
    /// when the descriptor cannot seek (a pipe).
    private static func readChunk(_ fd: Int32, into buffer: inout [UInt8], length: Int, offset: Int,
                                  usePread: inout Bool) throws(ClamdError) -> Int
    {
        while true {
            let result = buffer.withUnsafeMutableBytes { raw in
                usePread ? Sys.pread(fd, raw.baseAddress! + 4, length, Int64(offset)) : Sys.read(fd, raw.baseAddress! + 4, length)
            }
            let code: Int32
            switch result {
            case .success(let count): return count
            case .failure(let failure): code = failure.errno.rawValue
            }
            if code == ESPIPE && usePread {
                usePread = false
                continue
            }
            throw ClamdError(.io, "cannot read the file to stream to clamd: \(Errno(code))", cause: Errno(code))
        }
    }

    /// Sends FILDES and passes `descriptor`; returns clamd's reply text.
    func fildes(_ descriptor: Int32, sessionID: Int?, until deadline: ContinuousClock.Instant, timeout: Duration)
        throws(ClamdError) -> String
    {
        do throws(ClamdError) {
            try send(ClamdCommand.fildes.encoded, until: deadline, during: .fildes, timeout: timeout)
            try sendDescriptor(descriptor, until: deadline, timeout: timeout)
        } catch where error.code == .connectionClosed {
            // What clamd answered before closing (an error) may still be readable.
        }
        return try reply(to: .fildes, sessionID: sessionID, until: deadline, timeout: timeout)
    }
}

// MARK: Turning replies into values

extension ClamdEndpoint {
    /// The verdict in a scan reply, or a malformed-reply error naming this endpoint.
    func verdict(_ reply: String, command: ClamdCommand) throws(ClamdError) -> ScanVerdict {
        if let verdict = ClamdReply.verdict(parsing: reply) { return verdict }
        throw unexpected(reply, command: command, expected: "\"stream: OK\", \"… FOUND\" or \"… ERROR\"")
    }

    func unexpected(_ reply: String, command: ClamdCommand, expected: String) -> ClamdError {
        if ClamdReply.isCommandUnavailable(reply) {
            return ClamdError(
                .commandDisabled,
                "clamd at \(self) has \(command.rawValue) disabled (COMMAND UNAVAILABLE; clamd.conf Enable\(command.rawValue.prefix(1))\(command.rawValue.dropFirst().lowercased())Command)")
        }
        if reply == "UNKNOWN COMMAND" || reply.hasSuffix(" ERROR") {
            return ClamdError(
                .commandFailed,
                "clamd at \(self) rejected \(command.rawValue): \"\(reply.prefix(120))\"; check the clamd version and its log")
        }
        return ClamdError(
            .malformedReply,
            "clamd at \(self) answered \(command.rawValue) with \"\(reply.prefix(120))\" (expected \(expected)): is this endpoint really clamd?")
    }

    func fildesUnsupported() -> ClamdError {
        ClamdError(
            .unsupported,
            "FILDES passes a file descriptor and needs clamd's unix socket, but \(self) is TCP: use INSTREAM, or connect to clamd's LocalSocket")
    }
}
