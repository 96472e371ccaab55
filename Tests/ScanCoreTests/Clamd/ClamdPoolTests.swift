import ScanCore
import Testing

/// ``ClamdPool``: the one reading of `--socket`, `--tcp` and the layout file's `clamd.endpoints`
/// that check_virus_scan and the exporter share.
@Suite("clamd pool endpoints")
struct ClamdPoolTests {
    static let standard = "/var/run/clamav/clamd.ctl"

    func resolve(_ sockets: [String], _ tcp: [String], configured: [ClamdEndpoint]? = nil) throws(ClamdError) -> [String] {
        try ClamdPool.resolve(sockets: sockets, tcp: tcp, configured: configured, defaultSocket: Self.standard).endpoints.map(\.description)
    }

    @Test func nothingGivenIsTheDefaultSocket() throws {
        #expect(try resolve([], []) == ["unix:/var/run/clamav/clamd.ctl"])
    }

    @Test func socketsComeFirstThenTCPEachInTheOrderGiven() throws {
        // As `--tcp 10.0.0.5:3310 --socket /run/a.ctl --tcp tcp:[::1]:3311 --socket unix:/run/b.ctl` parses.
        #expect(try resolve(["/run/a.ctl", "unix:/run/b.ctl"], ["10.0.0.5:3310", "tcp:[::1]:3311"])
            == ["unix:/run/a.ctl", "unix:/run/b.ctl", "tcp:10.0.0.5:3310", "tcp:[::1]:3311"])
        #expect(try resolve(["/run/a.ctl"], ["scan.example.org:3310"]) == ["unix:/run/a.ctl", "tcp:scan.example.org:3310"])
    }

    @Test func commandLineReplacesTheConfiguredList() throws {
        let configured: [ClamdEndpoint] = [.unix(path: "/run/clamav/clamd.ctl"), .tcp(host: "10.0.0.5", port: 3310)]
        #expect(try resolve([], [], configured: configured) == ["unix:/run/clamav/clamd.ctl", "tcp:10.0.0.5:3310"])
        #expect(try resolve([], ["10.0.0.9:3310"], configured: configured) == ["tcp:10.0.0.9:3310"])
        #expect(try resolve(["/tmp/x.sock"], [], configured: configured) == ["unix:/tmp/x.sock"])
    }

    @Test func duplicatesAreRefused() {
        expectClamdError(.invalidEndpoint, "clamd endpoint unix:/run/a.ctl is given twice") { () throws(ClamdError) in
            _ = try resolve(["/run/a.ctl", "unix:/run/a.ctl"], [])
        }
        expectClamdError(.invalidEndpoint, "clamd endpoint tcp:10.0.0.5:3310 is given twice") { () throws(ClamdError) in
            _ = try resolve([], ["10.0.0.5:3310", "tcp:10.0.0.5:3310"])
        }
    }

    @Test func badEntriesGiveClearErrors() {
        expectClamdError(.invalidEndpoint, "clamd endpoint \"tcp:localhost\": expected a socket path, HOST:PORT or [IPV6]:PORT") { () throws(ClamdError) in
            _ = try resolve([], ["localhost"])
        }
        expectClamdError(.invalidEndpoint, "clamd endpoint \"tcp:10.0.0.5:0\": the port must be a number from 1 to 65535") { () throws(ClamdError) in
            _ = try resolve([], ["10.0.0.5:0"])
        }
        expectClamdError(.invalidEndpoint, "clamd endpoint \"/run/a.ctl\" given to --tcp is a socket path: use --socket, or give HOST:PORT") { () throws(ClamdError) in
            _ = try resolve([], ["/run/a.ctl"])
        }
        expectClamdError(.invalidEndpoint, "clamd endpoint \"unix:run/a.ctl\": a unix socket path must be absolute") { () throws(ClamdError) in
            _ = try resolve(["unix:run/a.ctl"], [])
        }
    }

    @Test func configSectionIsParsed() throws {
        let text = """
            root: /srv/uploads
            clamd:
              endpoints: ["unix:/run/clamav/clamd.ctl", "tcp:10.0.0.5:3310", "10.0.0.6:3310"]
            """
        let endpoints = try ClamdPool.configured(inConfig: text, source: "/etc/virus-scan.yml")
        #expect(endpoints == [.unix(path: "/run/clamav/clamd.ctl"), .tcp(host: "10.0.0.5", port: 3310), .tcp(host: "10.0.0.6", port: 3310)])
        #expect(try ClamdPool.configured(inConfig: "root: /srv/uploads\n") == nil)
        let layout = try PipelineLayout.parse(config: text, source: "/etc/virus-scan.yml")
        #expect(layout.clamdEndpoints == endpoints)
    }

    @Test func badConfigSectionsGiveClearErrors() {
        let cases: [(String, String)] = [
            ("clamd:\n  endpoints: [\"tcp:10.0.0.5\"]", "/c.yml: clamd.endpoints[0]: clamd endpoint \"tcp:10.0.0.5\": expected a socket path, HOST:PORT or [IPV6]:PORT"),
            ("clamd:\n  endpoints: []", "/c.yml: clamd.endpoints is empty; list at least one endpoint or leave the key out"),
            ("clamd:\n  endpoints: [\"/run/a.ctl\", \"unix:/run/a.ctl\"]", "/c.yml: clamd.endpoints: clamd endpoint unix:/run/a.ctl is given twice"),
            ("clamd:\n  endpoint: [\"/run/a.ctl\"]", "/c.yml: unknown key 'endpoint' in clamd (known: endpoints)"),
            ("clamd: /run/a.ctl", "/c.yml: clamd must be a mapping, e.g. clamd: {endpoints: [\"unix:/run/clamav/clamd.ctl\"]}"),
            ("clamd:\n  endpoints: /run/a.ctl", "/c.yml: clamd.endpoints must be a list of endpoints"),
            ("clamd:\n  endpoints: [[\"/run/a.ctl\"]]", "/c.yml: clamd.endpoints[0] must be a string such as \"tcp:10.0.0.5:3310\""),
        ]
        for (text, message) in cases {
            expectClamdError(.invalidEndpoint, message) { () throws(ClamdError) in _ = try ClamdPool.configured(inConfig: text, source: "/c.yml") }
            #expect(throws: PipelineError.self) { try PipelineLayout.parse(config: text, source: "/c.yml") }
        }
        do {
            _ = try PipelineLayout.parse(config: cases[0].0, source: "/c.yml")
        } catch {
            #expect(error.message == "invalid config file /c.yml: clamd.endpoints[0]: clamd endpoint \"tcp:10.0.0.5\": expected a socket path, HOST:PORT or [IPV6]:PORT")
        }
    }

    @Test func minimumUpDefaultsToAllAndIsBounded() throws {
        let pool = try ClamdPool([.unix(path: "/run/a.ctl"), .tcp(host: "10.0.0.5", port: 3310)])
        #expect(try pool.minimumUp(nil) == 2)
        #expect(try pool.minimumUp(1) == 1)
        #expect(throws: CheckError.self) { try pool.minimumUp(0) }
        #expect(throws: CheckError.self) { try pool.minimumUp(3) }
        do { _ = try pool.minimumUp(3) } catch {
            #expect(error.message == "--min-up: must be 1 to 2 (the number of clamd endpoints), got 3")
        }
    }

    @Test func singleDaemonCommandsRefuseAPool() throws {
        let pool = try ClamdPool([.unix(path: "/run/a.ctl"), .tcp(host: "10.0.0.5", port: 3310)])
        expectClamdError(.invalidEndpoint, "rescan-clean talks to one clamd, but 2 are given (unix:/run/a.ctl, tcp:10.0.0.5:3310): give one --socket or --tcp") { () throws(ClamdError) in
            _ = try pool.single(for: "rescan-clean")
        }
        #expect(try ClamdPool([.unix(path: "/run/a.ctl")]).single(for: "rescan-clean") == .unix(path: "/run/a.ctl"))
    }

    @Test func perfdataLabelsAreSafeAndUnique() throws {
        let pool = try ClamdPool([.unix(path: "/run/clamav/clamd.ctl"), .tcp(host: "10.0.0.5", port: 3310), .tcp(host: "::1", port: 3310),
                                  .unix(path: "/run/clamav/clamd_ctl")])
        #expect(pool.labels == ["run_clamav_clamd_ctl", "10_0_0_5_3310", "1_3310", "run_clamav_clamd_ctl_2"])
        #expect(ClamdEndpoint.tcp(host: "10.0.0.5", port: 3310).commandLineOptions == ["--tcp", "10.0.0.5:3310"])
        #expect(ClamdEndpoint.unix(path: "/run/a.ctl").commandLineOptions == ["--socket", "/run/a.ctl"])
    }
}
