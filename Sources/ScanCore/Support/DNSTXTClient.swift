#if canImport(Glibc)
import Glibc
#endif

/// An error from a DNS lookup (its codes: the shared ``ErrorCode/timeout``, no answer within the
/// time limit, and its own, all in `ErrorCodes.swift`). `description` is one line.
public typealias DNSError = SubsystemError<DNSErrorDomain>

/// The domain of ``DNSError``.
public enum DNSErrorDomain {}

/// A minimal DNS client for TXT records over UDP (RFC 1035): one question, recursion desired,
/// answers matched by ID and question, CNAMEs followed within the answer, truncation reported.
public struct DNSTXTClient: Sendable {
    /// IPv4 or IPv6 address of the server.
    public var server: String
    public var port: UInt16
    /// Time limit per attempt, seconds.
    public var timeout: Double
    public var attempts: Int

    public init(server: String, port: UInt16 = 53, timeout: Double = 2, attempts: Int = 2) {
        self.server = server
        self.port = port
        self.timeout = timeout
        self.attempts = max(1, attempts)
    }

    /// `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address.
    public init(serverSpec: String, timeout: Double = 2, attempts: Int = 2) throws(DNSError) {
        var host = serverSpec
        var port: UInt16 = 53
        if serverSpec.hasPrefix("["), let close = serverSpec.firstIndex(of: "]") {
            host = String(serverSpec[serverSpec.index(after: serverSpec.startIndex)..<close])
            let rest = serverSpec[serverSpec.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = UInt16(rest.dropFirst()) else { throw DNSError(.badServer, "DNS server '\(serverSpec)': bad port") }
                port = value
            }
        } else if serverSpec.filter({ $0 == ":" }).count == 1, let colon = serverSpec.firstIndex(of: ":") {
            host = String(serverSpec[..<colon])
            guard let value = UInt16(serverSpec[serverSpec.index(after: colon)...]) else {
                throw DNSError(.badServer, "DNS server '\(serverSpec)': bad port")
            }
            port = value
        }
        self.init(server: host, port: port, timeout: timeout, attempts: attempts)
    }

    /// The first `nameserver` of a resolv.conf text.
    public static func systemServer(resolvConf text: String) -> String? {
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, fields[0] == "nameserver" { return String(fields[1]) }
        }
        return nil
    }

    /// The TXT strings of `name` (each record's character-strings joined).
    public func txt(_ name: String) throws(DNSError) -> [String] {
        let id = UInt16.random(in: 0...UInt16.max)
        let query = try DNSMessage.query(id: id, name: name, type: DNSMessage.typeTXT)
        var lastError = DNSError(.timeout, "no answer from DNS server \(server) port \(port) for \(name) TXT within \(PerfDatum.format(timeout))s")
        for _ in 0..<attempts {
            do {
                let answer = try exchange(query)
                return try DNSMessage.parseTXTAnswer(answer, id: id, name: name)
            } catch where error.code == .timeout {
                lastError = DNSError(.timeout, "no answer from DNS server \(server) port \(port) for \(name) TXT within \(PerfDatum.format(timeout))s")
            }
        }
        throw lastError
    }

    private func exchange(_ query: [UInt8]) throws(DNSError) -> [UInt8] {
        var storage = sockaddr_storage()
        /// Copies `address` into `storage` and gives its length.
        func store<Address>(_ address: Address) -> socklen_t {
            withUnsafeBytes(of: address) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            return socklen_t(MemoryLayout<Address>.size)
        }
        let length: socklen_t
        let family: Int32
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, server, &v4) == 1 {
            family = AF_INET
            length = store(sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: port.bigEndian, sin_addr: v4, sin_zero: (0, 0, 0, 0, 0, 0, 0, 0)))
        } else if inet_pton(AF_INET6, server, &v6) == 1 {
            family = AF_INET6
            length = store(sockaddr_in6(sin6_family: sa_family_t(AF_INET6), sin6_port: port.bigEndian, sin6_flowinfo: 0, sin6_addr: v6, sin6_scope_id: 0))
        } else {
            throw DNSError(.badServer, "DNS server '\(server)' is not an IP address")
        }
        let peer = "\(server):\(port)"
        let socket: Socket
        do throws(SystemError) {
            socket = try Socket(domain: family, type: Int32(SOCK_DGRAM.rawValue), peer: peer)
        } catch {
            throw DNSError(.unreachable, "cannot open a UDP socket: \(strerrorText(error.errno.rawValue))")
        }
        // connect() so that only the server's datagrams are received, and ICMP errors are reported.
        if case .failure(let failure) = socket.connect(to: storage, length: length) {
            throw DNSError(.unreachable, "cannot reach DNS server \(server) port \(port): \(strerrorText(failure.errno.rawValue))")
        }
        let sent = query.withUnsafeBytes { socket.send($0) }
        switch sent {
        case .success(let count) where count == query.count: break
        case .success: throw DNSError(.unreachable, "cannot send to DNS server \(server) port \(port): \(strerrorText(0))")
        case .failure(let failure):
            throw DNSError(.unreachable, "cannot send to DNS server \(server) port \(port): \(strerrorText(failure.errno.rawValue))")
        }
        let deadline = MonotonicClock.now() + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if deadline - MonotonicClock.now() <= 0 { throw DNSError(.timeout, "timeout") }
            let ready = socket.wait(for: Int16(POLLIN)) {
                Int32(max(1, ((deadline - MonotonicClock.now()) * 1000).rounded(.up)))
            }
            switch ready {
            case .failure(let failure): throw DNSError(.unreachable, "poll failed: \(strerrorText(failure.errno.rawValue))")
            case .success(false): throw DNSError(.timeout, "timeout")
            case .success(true): break
            }
            let received = buffer.withUnsafeMutableBytes { socket.receive(into: $0) }
            let n: Int
            switch received {
            case .success(let count): n = count
            case .failure(let failure):
                throw DNSError(.unreachable, "no answer from DNS server \(server) port \(port): \(strerrorText(failure.errno.rawValue))")
            }
            // Too short to be ours: wait for another datagram.
            if n < 12 { continue }
            return Array(buffer[0..<n])
        }
    }
}

/// Building and reading DNS messages (RFC 1035 §4).
public enum DNSMessage {
    public static let typeTXT: UInt16 = 16
    public static let typeCNAME: UInt16 = 5
    public static let classIN: UInt16 = 1

    /// A query with one question, recursion desired.
    public static func query(id: UInt16, name: String, type: UInt16) throws(DNSError) -> [UInt8] {
        var message: [UInt8] = []
        append16(&message, id)
        append16(&message, 0x0100)  // RD
        append16(&message, 1)  // QDCOUNT
        append16(&message, 0)
        append16(&message, 0)
        append16(&message, 0)
        message += try encodeName(name)
        append16(&message, type)
        append16(&message, classIN)
        return message
    }

    static func encodeName(_ name: String) throws(DNSError) -> [UInt8] {
        var out: [UInt8] = []
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty, bytes.count <= 63 else { throw DNSError(.badServer, "'\(name)' is not a valid DNS name") }
            out.append(UInt8(bytes.count))
            out += bytes
        }
        out.append(0)
        guard out.count <= 255 else { throw DNSError(.badServer, "'\(name)' is too long for DNS") }
        return out
    }

    /// The TXT records answering `name` in `message`, following CNAMEs within the answer section.
    public static func parseTXTAnswer(_ message: [UInt8], id: UInt16, name: String) throws(DNSError) -> [String] {
        var reader = Reader(bytes: message)
        func malformed(_ why: String) -> DNSError { DNSError(.malformed, "malformed DNS answer for \(name): \(why)") }
        guard let answerID = reader.u16(), let flags = reader.u16(), let qd = reader.u16(), let an = reader.u16(),
            reader.u16() != nil, reader.u16() != nil
        else { throw malformed("short header") }
        guard answerID == id else { throw malformed("answer ID \(answerID) does not match query ID \(id)") }
        guard flags & 0x8000 != 0 else { throw malformed("not a response") }
        if flags & 0x0200 != 0 { throw malformed("truncated (TC set)") }
        switch flags & 0x000F {
        case 0: break
        case 3: throw DNSError(.nameError, "DNS: \(name) does not exist (NXDOMAIN)")
        case 2: throw DNSError(.serverFailure, "DNS server failure (SERVFAIL) for \(name)")
        case 5: throw DNSError(.serverFailure, "DNS server refused the query for \(name) (REFUSED)")
        case let rcode: throw DNSError(.serverFailure, "DNS error code \(rcode) for \(name)")
        }
        let wanted = normalized(name)
        for _ in 0..<qd {
            guard let qname = reader.name(), reader.u16() != nil, reader.u16() != nil else { throw malformed("bad question") }
            guard normalized(qname) == wanted else { throw malformed("question \(qname) does not match \(name)") }
        }
        var target = wanted
        var records: [String] = []
        for _ in 0..<an {
            guard let owner = reader.name(), let type = reader.u16(), let klass = reader.u16(), reader.u32() != nil,
                let length = reader.u16(), let rdataStart = Optional(reader.offset), let rdata = reader.bytes(Int(length))
            else { throw malformed("bad answer record") }
            guard klass == classIN, normalized(owner) == target else { continue }
            if type == typeCNAME {
                var inner = Reader(bytes: message, offset: rdataStart)
                guard let cname = inner.name() else { throw malformed("bad CNAME") }
                target = normalized(cname)
            } else if type == typeTXT {
                var text: [UInt8] = []
                var index = 0
                while index < rdata.count {
                    let count = Int(rdata[index])
                    guard index + 1 + count <= rdata.count else { throw malformed("bad TXT string length") }
                    text += rdata[(index + 1)..<(index + 1 + count)]
                    index += 1 + count
                }
                records.append(String(decoding: text, as: UTF8.self))
            }
        }
        if records.isEmpty { throw DNSError(.noData, "DNS: \(name) has no TXT record") }
        return records
    }

    static func normalized(_ name: String) -> String {
        (name.hasSuffix(".") ? String(name.dropLast()) : name).lowercased()
    }

    static func append16(_ out: inout [UInt8], _ value: UInt16) {
        out.append(UInt8(value >> 8))
        out.append(UInt8(value & 0xff))
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        init(bytes: [UInt8], offset: Int = 0) {
            self.bytes = bytes
            self.offset = offset
        }

        mutating func u16() -> UInt16? {
            guard offset + 2 <= bytes.count else { return nil }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        mutating func u32() -> UInt32? {
            guard let high = u16(), let low = u16() else { return nil }
            return UInt32(high) << 16 | UInt32(low)
        }

        mutating func bytes(_ count: Int) -> [UInt8]? {
            guard count >= 0, offset + count <= bytes.count else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        /// A possibly compressed name; at most 128 labels or pointers, so loops end.
        mutating func name() -> String? {
            var labels: [String] = []
            var position = offset
            var jumped = false
            var steps = 0
            while steps < 128 {
                steps += 1
                guard position < bytes.count else { return nil }
                let length = Int(bytes[position])
                if length == 0 {
                    if !jumped { offset = position + 1 }
                    return labels.joined(separator: ".")
                }
                if length & 0xC0 == 0xC0 {
                    guard position + 1 < bytes.count else { return nil }
                    let pointer = (length & 0x3F) << 8 | Int(bytes[position + 1])
                    if !jumped { offset = position + 2 }
                    jumped = true
                    position = pointer
                    continue
                }
                guard length <= 63, position + 1 + length <= bytes.count else { return nil }
                labels.append(String(decoding: bytes[(position + 1)..<(position + 1 + length)], as: UTF8.self))
                position += 1 + length
            }
            return nil
        }
    }
}

/// The versions ClamAV publishes in the TXT record of `current.cvd.clamav.net`:
/// `ENGINE:MAIN:DAILY:TIME:?:?:SAFEBROWSING:BYTECODE` (`1.4.1:62:27470:1732113000:1:90:49192:334`).
/// TIME is when the record was made: freshclam warns when it is more than 12 hours old (a stale
/// resolver cache or mirror), and so its versions cannot tell whether a database is current.
public struct ClamAVPublishedVersions: Sendable, Hashable {
    public static let recordName = "current.cvd.clamav.net"
    /// How old the record may be before it says nothing (freshclam's 12 hours).
    public static let maximumRecordAge: Double = 12 * 3600

    public var engine: String
    public var main: Int
    public var daily: Int
    /// When the record was made (epoch seconds; TIME, the 4th field), if given as a whole number.
    public var published: Double?
    public var bytecode: Int?

    public init?(txt: String) {
        let fields = txt.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 3, let main = Int(fields[1]), let daily = Int(fields[2]), !fields[0].isEmpty else { return nil }
        engine = String(fields[0])
        self.main = main
        self.daily = daily
        published = fields.count > 3 ? Int64(fields[3]).map(Double.init) : nil
        bytecode = fields.count > 7 ? Int(fields[7]) : nil
    }
}
