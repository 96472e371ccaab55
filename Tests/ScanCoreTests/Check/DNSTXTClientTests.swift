import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("DNS TXT client")
struct DNSTXTClientTests {
    static let record = "1.4.1:62:27470:1732113000:1:90:49192:334"

    @Test func queryBytes() throws {
        let query = try DNSMessage.query(id: 0x1234, name: "a.bc", type: DNSMessage.typeTXT)
        #expect(query == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 2, 0x62, 0x63, 0, 0, 16, 0, 1])
        #expect(throws: DNSError.self) { try DNSMessage.query(id: 1, name: "a..b", type: 16) }
    }

    /// A hand-built answer: compressed owner names, a CNAME hop, a TXT record in two strings.
    @Test func parsesCompressedCNAMEAnswer() throws {
        var message: [UInt8] = [0xAB, 0xCD, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]
        message += [1, 0x78, 2, 0x6e, 0x6c, 0] + [0, 16, 0, 1]  // question x.nl TXT IN at offset 12
        message += [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4] + [1, 0x79, 0xC0, 14]  // x.nl CNAME y.nl
        message += [1, 0x79, 0xC0, 14, 0, 16, 0, 1, 0, 0, 0, 60, 0, 6] + [2, 0x68, 0x69, 2, 0x21, 0x21]  // y.nl TXT "hi" "!!"
        #expect(try DNSMessage.parseTXTAnswer(message, id: 0xABCD, name: "x.nl") == ["hi!!"])
        #expect(throws: DNSError.self) { try DNSMessage.parseTXTAnswer(message, id: 0xABCE, name: "x.nl") }
        var truncated = message
        truncated[2] |= 0x02
        #expect(throws: DNSError.self) { try DNSMessage.parseTXTAnswer(truncated, id: 0xABCD, name: "x.nl") }
        var nxdomain = Array(message[0..<22])
        nxdomain[3] = 0x83
        nxdomain[7] = 0
        do {
            _ = try DNSMessage.parseTXTAnswer(nxdomain, id: 0xABCD, name: "x.nl")
            Issue.record("expected NXDOMAIN")
        } catch {
            #expect(error.code == .nameError)
            #expect(error.message == "DNS: x.nl does not exist (NXDOMAIN)")
        }
    }

    @Test func clamAVRecord() throws {
        let versions = try #require(ClamAVPublishedVersions(txt: Self.record))
        #expect(versions == ClamAVPublishedVersions(txt: Self.record))
        #expect(versions.engine == "1.4.1" && versions.main == 62 && versions.daily == 27470)
        #expect(versions.published == 1732113000 && versions.bytecode == 334)
        #expect(ClamAVPublishedVersions(txt: "garbage") == nil)
    }

    @Test func serverSpecs() throws {
        #expect(try DNSTXTClient(serverSpec: "127.0.0.1:5353").port == 5353)
        #expect(try DNSTXTClient(serverSpec: "127.0.0.1").port == 53)
        #expect(try DNSTXTClient(serverSpec: "[::1]:54").server == "::1")
        #expect(try DNSTXTClient(serverSpec: "::1").server == "::1")
        #expect(throws: DNSError.self) { try DNSTXTClient(serverSpec: "127.0.0.1:x") }
        #expect(DNSTXTClient.systemServer(resolvConf: "# x\nsearch a\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n") == "10.0.0.2")
    }

    @Test(.enabled(if: Dnsmasq.available)) func realDnsmasq() throws {
        let dns = try Dnsmasq(txt: [ClamAVPublishedVersions.recordName: Self.record])
        let client = try DNSTXTClient(serverSpec: dns.address)
        #expect(try client.txt("current.cvd.clamav.net") == [Self.record])
        #expect(try client.txt("CURRENT.cvd.clamav.net.") == [Self.record])
        do {
            _ = try client.txt("other.cvd.clamav.net")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .serverFailure)  // dnsmasq without upstreams refuses other names
        }
    }

    /// A UDP socket that never answers: the client gives up after its time limit.
    @Test func timesOut() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        let client = DNSTXTClient(server: "127.0.0.1", port: port, timeout: 0.3, attempts: 2)
        let started = Date()
        do {
            _ = try client.txt("current.cvd.clamav.net")
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.message == "no answer from DNS server 127.0.0.1 port \(port) for current.cvd.clamav.net TXT within 0.3s")
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.6 && elapsed < 2)
    }
}
