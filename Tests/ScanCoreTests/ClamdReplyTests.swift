@testable import ScanCore
import Testing

/// Replies captured from clamd 1.4.6 (Debian clamav-daemon) with the small test database: the
/// parsers must read them exactly.
enum CapturedReplies {
    /// STATS with the daemon idle (the STATS job itself is listed under QUEUE).
    static let statsIdle = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 1  idle 0 max 2 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000002 \n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.897M pools_total 5.980M\nEND"
    /// STATS inside a session while a FILDES scan was running.
    static let statsBusy = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 2  idle 0 max 2 idle-timeout 30\nQUEUE: 0 items\n\tFILDES 0.000204 fd[9]\n\tSTATS 0.000002 \n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.897M pools_total 5.980M\nEND"
    static let versionWithDaily = "ClamAV 1.4.6/27500/Wed Nov 25 10:47:56 2026"
    static let versionWithoutDaily = "ClamAV 1.4.6"
}

@Suite("ClamdReply parsing")
struct ClamdReplyTests {
    @Test("commands are z-prefixed and NUL-terminated")
    func commandEncoding() {
        #expect(ClamdCommand.ping.encoded == Array("zPING".utf8) + [0])
        #expect(ClamdCommand.instream.encoded == Array("zINSTREAM".utf8) + [0])
        #expect(ClamdCommand.idSession.encoded == Array("zIDSESSION".utf8) + [0])
        #expect(ClamdCommand.instreamChunkHeader(length: 0x0102_0304) == [1, 2, 3, 4])
        #expect(ClamdCommand.instreamChunkHeader(length: 0) == [0, 0, 0, 0])
    }

    @Test(
        "scan replies become verdicts",
        arguments: [
            ("stream: OK", ScanVerdict.clean),
            ("fd[9]: OK", .clean),
            ("stream: Eicar-Test-Signature FOUND", .infected(signature: "Eicar-Test-Signature")),
            ("fd[12]: Eicar-Test-Signature.UNOFFICIAL FOUND", .infected(signature: "Eicar-Test-Signature.UNOFFICIAL")),
            ("/srv/a: b.pdf: Doc.Pdf.Test-1 FOUND", .infected(signature: "Doc.Pdf.Test-1")),
            ("INSTREAM size limit exceeded. ERROR", .error(message: "INSTREAM size limit exceeded.")),
            ("stream: Can't allocate memory ERROR", .error(message: "Can't allocate memory")),
            ("fd[9]: lstat() failed: No such file or directory. ERROR",
             .error(message: "lstat() failed: No such file or directory.")),
        ])
    func verdicts(reply: String, verdict: ScanVerdict) {
        #expect(ClamdReply.verdict(parsing: reply) == verdict)
    }

    @Test("replies that are no scan reply give no verdict",
          arguments: ["PONG", "", "OK", "stream: ", "UNKNOWN COMMAND", " FOUND", "stream: two words FOUND", " ERROR", "ClamAV 1.4.6"])
    func notVerdicts(reply: String) {
        #expect(ClamdReply.verdict(parsing: reply) == nil)
    }

    @Test("session replies carry their request number")
    func sessionReplies() throws {
        let parsed = try #require(ClamdReply.sessionReply(parsing: "3: stream: OK"))
        #expect(parsed.id == 3)
        #expect(parsed.body == "stream: OK")
        let pong = try #require(ClamdReply.sessionReply(parsing: "1: PONG"))
        #expect(pong.id == 1 && pong.body == "PONG")
        #expect(ClamdReply.sessionReply(parsing: "PONG") == nil)
        #expect(ClamdReply.sessionReply(parsing: "x: PONG") == nil)
        #expect(ClamdReply.sessionReply(parsing: "0: PONG") == nil)
    }

    @Test("PONG and RELOADING")
    func pongAndReloading() {
        #expect(ClamdReply.isPong("PONG"))
        #expect(!ClamdReply.isPong("PONG\n"))
        #expect(!ClamdReply.isPong("PING"))
        #expect(ClamdReply.isReloading("RELOADING"))
        #expect(!ClamdReply.isReloading("RELOAD"))
    }

    // MARK: VERSION

    @Test("VERSION with a daily database: version and build time (UTC)")
    func versionWithDaily() throws {
        let version = try #require(ClamdVersion(parsing: CapturedReplies.versionWithDaily, timeZone: .offset(seconds: 0)))
        #expect(version.engineVersion == "1.4.6")
        #expect(version.databaseVersion == 27500)
        #expect(version.databaseBuildTime == 1_795_603_676)  // 2026-11-25 10:47:56 UTC
        #expect(version.databaseBuildTimeText == "Wed Nov 25 10:47:56 2026")
        #expect(version.raw == CapturedReplies.versionWithDaily)
    }

    @Test("VERSION dates are clamd's local time: an offset east of UTC is subtracted")
    func versionOffset() throws {
        let version = try #require(ClamdVersion(parsing: CapturedReplies.versionWithDaily, timeZone: .offset(seconds: 3600)))
        let expected: Int64 = 1_795_600_076  // 10:47:56 at UTC+1 is 09:47:56 UTC
        #expect(version.databaseBuildTime == expected)
    }

    @Test("VERSION with a space-padded day (ctime form)")
    func versionPaddedDay() throws {
        let version = try #require(ClamdVersion(parsing: "ClamAV 1.4.6/27488/Thu Nov  5 09:03:07 2026", timeZone: .offset(seconds: 0)))
        #expect(version.databaseVersion == 27488)
        #expect(version.databaseBuildTime == 1_793_869_387)
    }

    @Test("VERSION without a daily database")
    func versionWithoutDaily() throws {
        let version = try #require(ClamdVersion(parsing: CapturedReplies.versionWithoutDaily))
        #expect(version.engineVersion == "1.4.6")
        #expect(version.databaseVersion == nil)
        #expect(version.databaseBuildTime == nil)
        #expect(version.databaseBuildTimeText == nil)
    }

    @Test("malformed VERSION replies are rejected",
          arguments: ["", "PONG", "ClamAV ", "ClamAV 1.4.6/abc/Wed Nov 25 10:47:56 2026", "ClamAV 1.4.6/27500",
                      "ClamAV 1.4.6/27500/yesterday", "ClamAV 1.4.6/27500/Wed Foo 25 10:47:56 2026",
                      "ClamAV 1.4.6/27500/Wed Nov 25 25:47:56 2026"])
    func versionMalformed(reply: String) {
        #expect(ClamdVersion(parsing: reply, timeZone: .offset(seconds: 0)) == nil)
    }

    @Test("civil dates to days since the epoch")
    func daysFromCivil() {
        #expect(ClamdVersion.daysFromCivil(year: 1970, month: 1, day: 1) == 0)
        #expect(ClamdVersion.daysFromCivil(year: 2000, month: 3, day: 1) == 11_017)
        #expect(ClamdVersion.daysFromCivil(year: 2026, month: 11, day: 25) == 20_782)
        #expect(ClamdVersion.daysFromCivil(year: 1969, month: 12, day: 31) == -1)
    }

    // MARK: STATS

    @Test("STATS captured from an idle clamd 1.4.6")
    func statsIdle() throws {
        let stats = try #require(ClamdStats(parsing: CapturedReplies.statsIdle))
        #expect(stats.pools == 1)
        #expect(stats.state == "VALID PRIMARY")
        #expect(stats.threadsLive == 1)
        #expect(stats.threadsIdle == 0)
        #expect(stats.threadsMax == 2)
        #expect(stats.threadsIdleTimeout == 30)
        #expect(stats.queueItems == 0)
        #expect(stats.jobs == [ClamdStats.Job(command: "STATS", seconds: 0.000002)])
        #expect(stats.memory.heap == nil)
        #expect(stats.memory.mmap == nil)
        #expect(stats.memory.used == nil)
        #expect(stats.memory.free == nil)
        #expect(stats.memory.releasable == nil)
        #expect(stats.memory.pools == 1)
        #expect(stats.memory.poolsUsed == 5.897 * 1_048_576)
        #expect(stats.memory.poolsTotal == 5.980 * 1_048_576)
        #expect(stats.raw == CapturedReplies.statsIdle)
    }

    @Test("STATS captured while a FILDES scan ran: both jobs listed")
    func statsBusy() throws {
        let stats = try #require(ClamdStats(parsing: CapturedReplies.statsBusy))
        #expect(stats.threadsLive == 2)
        #expect(stats.jobs == [ClamdStats.Job(command: "FILDES", seconds: 0.000204),
                               ClamdStats.Job(command: "STATS", seconds: 0.000002)])
    }

    @Test("STATS with mallinfo figures, an added field and a queued item")
    func statsTolerant() throws {
        let reply = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 2  idle 0 max 2 idle-timeout 30 busy-extra 7\nQUEUE: 3 items\n\tINSTREAM 1.500000 \n\tFILDES 0.25 fd[10]\nNEWFIELD: 42\n\nMEMSTATS: heap 3.641M mmap 0.129M used 2.871M free 0.770M releasable 0.122M pools 1 pools_used 565.525M pools_total 565.564M\nEND"
        let stats = try #require(ClamdStats(parsing: reply))
        #expect(stats.threadsLive == 2)
        #expect(stats.threadsMax == 2)
        #expect(stats.queueItems == 3)
        #expect(stats.jobs.map(\.command) == ["INSTREAM", "FILDES"])
        #expect(stats.jobs.map(\.seconds) == [1.5, 0.25])
        #expect(stats.memory.heap == 3.641 * 1_048_576)
        #expect(stats.memory.mmap == 0.129 * 1_048_576)
        #expect(stats.memory.used == 2.871 * 1_048_576)
        #expect(stats.memory.free == 0.770 * 1_048_576)
        #expect(stats.memory.releasable == 0.122 * 1_048_576)
        #expect(stats.memory.poolsUsed == 565.525 * 1_048_576)
    }

    @Test("STATS with fields omitted: what is there is read, the rest is nil")
    func statsOmitted() throws {
        let stats = try #require(ClamdStats(parsing: "POOLS: 1\n\nSTATE: INVALID PRIMARY\nEND"))
        #expect(stats.pools == 1)
        #expect(stats.state == "INVALID PRIMARY")
        #expect(stats.threadsLive == nil)
        #expect(stats.threadsMax == nil)
        #expect(stats.queueItems == nil)
        #expect(stats.jobs.isEmpty)
        #expect(stats.memory == ClamdStats.Memory())
    }

    @Test("replies that are no STATS reply are rejected", arguments: ["", "PONG", "HELLO FROM NOT-CLAMD", "ClamAV 1.4.6"])
    func statsMalformed(reply: String) {
        #expect(ClamdStats(parsing: reply) == nil)
    }
}
