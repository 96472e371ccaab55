import ScanCore
import Testing

@Suite("ClamdEndpoint")
struct ClamdEndpointTests {
    @Test(
        "endpoints parse",
        arguments: [
            ("/run/clamav/clamd.ctl", ClamdEndpoint.unix(path: "/run/clamav/clamd.ctl")),
            ("unix:/run/clamav/clamd.ctl", .unix(path: "/run/clamav/clamd.ctl")),
            ("127.0.0.1:3310", .tcp(host: "127.0.0.1", port: 3310)),
            ("tcp:127.0.0.1:3310", .tcp(host: "127.0.0.1", port: 3310)),
            ("clamd.example.org:3310", .tcp(host: "clamd.example.org", port: 3310)),
            ("[::1]:3310", .tcp(host: "::1", port: 3310)),
            ("[fe80::1%eth0]:65535", .tcp(host: "fe80::1%eth0", port: 65535)),
            ("tcp:[2001:db8::7]:1", .tcp(host: "2001:db8::7", port: 1)),
        ])
    func parses(text: String, endpoint: ClamdEndpoint) throws {
        #expect(try ClamdEndpoint(parsing: text) == endpoint)
    }

    @Test("descriptions name the transport", arguments: [
        (ClamdEndpoint.unix(path: "/run/clamav/clamd.ctl"), "unix:/run/clamav/clamd.ctl"),
        (.tcp(host: "127.0.0.1", port: 3310), "tcp:127.0.0.1:3310"),
        (.tcp(host: "::1", port: 3310), "tcp:[::1]:3310"),
    ])
    func descriptions(endpoint: ClamdEndpoint, text: String) {
        #expect(endpoint.description == text)
    }

    @Test(
        "bad endpoints are rejected with a message saying what is wrong",
        arguments: [
            ("127.0.0.1", "clamd endpoint \"127.0.0.1\": expected a socket path, HOST:PORT or [IPV6]:PORT"),
            ("::1:3310", "clamd endpoint \"::1:3310\": expected a socket path, HOST:PORT or [IPV6]:PORT"),
            ("[::1:3310", "clamd endpoint \"[::1:3310\": missing \"]\" after the IPv6 address"),
            ("[::1]3310", "clamd endpoint \"[::1]3310\": expected [ADDRESS]:PORT"),
            (":3310", "clamd endpoint \":3310\": the host is empty"),
            ("localhost:0", "clamd endpoint \"localhost:0\": the port must be a number from 1 to 65535"),
            ("localhost:65536", "clamd endpoint \"localhost:65536\": the port must be a number from 1 to 65535"),
            ("localhost:http", "clamd endpoint \"localhost:http\": the port must be a number from 1 to 65535"),
            ("unix:clamd.ctl", "clamd endpoint \"unix:clamd.ctl\": a unix socket path must be absolute"),
        ])
    func rejects(text: String, message: String) {
        #expect {
            try ClamdEndpoint(parsing: text)
        } throws: { error in
            let error = error as? ClamdError
            return error?.code == .invalidEndpoint && error?.message == message
        }
    }

    @Test("a unix socket path longer than sun_path allows is rejected")
    func tooLong() throws {
        let path = "/tmp/" + String(repeating: "a", count: 103)  // 108 bytes
        #expect {
            try ClamdEndpoint(parsing: path)
        } throws: { error in
            let error = error as? ClamdError
            return error?.code == .invalidEndpoint
                && error?.message == "clamd socket path \(path) is 108 bytes; unix sockets allow at most 107: use a shorter path"
        }
        #expect(try ClamdEndpoint(parsing: "/tmp/" + String(repeating: "a", count: 102)) == .unix(path: "/tmp/" + String(repeating: "a", count: 102)))
    }

    @Test("only unix sockets pass file descriptors")
    func fildesCapability() {
        #expect(ClamdEndpoint.unix(path: "/x").canPassFileDescriptors)
        #expect(!ClamdEndpoint.tcp(host: "127.0.0.1", port: 3310).canPassFileDescriptors)
    }
}
