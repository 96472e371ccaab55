import ScanCore
import ScanCoreTestSupport
import Testing

/// The pure clamd.conf parser: the size limits, AlertExceedsMax, clamd's defaults.
@Suite("clamd.conf limits")
struct ClamdConfigurationTests {
    @Test func defaultsAreClamds() throws {
        let empty = try ClamdConfiguration(parsing: "# nothing set\n\n")
        #expect(empty == ClamdConfiguration.defaults)
        #expect(empty.maxFileSize == 100 << 20 && empty.maxScanSize == 400 << 20 && empty.streamMaxLength == 100 << 20)
        #expect(!empty.alertExceedsMax)
        #expect(empty.cleanVerdictLimit == 100 << 20)
    }

    @Test func sizesBoolsCommentsAndTheLastValueWins() throws {
        let text = """
            # Debian's file
            LocalSocket /var/run/clamav/clamd.ctl
            MaxFileSize 25M
            \tMaxScanSize   100m
            StreamMaxLength 512K
            #MaxFileSize 1M
            MaxFileSize 5M
            AlertExceedsMax false
            """
        let configuration = try ClamdConfiguration(parsing: text)
        #expect(configuration.maxFileSize == 5 << 20)
        #expect(configuration.maxScanSize == 100 << 20)
        #expect(configuration.streamMaxLength == 512 << 10)
        #expect(!configuration.alertExceedsMax)
        #expect(configuration.explicitlySet == ["MaxFileSize", "MaxScanSize", "StreamMaxLength", "AlertExceedsMax"])
        #expect(configuration.cleanVerdictLimit == 512 << 10)
        #expect(try ClamdConfiguration(parsing: "MaxFileSize 1234\nStreamMaxLength 0\nMaxScanSize 0").cleanVerdictLimit == 1234)
        #expect(try ClamdConfiguration(parsing: "MaxFileSize 0\nStreamMaxLength 0\nMaxScanSize 0").cleanVerdictLimit == nil)
        for yes in ["yes", "true", "1", "YES"] {
            let alerting = try ClamdConfiguration(parsing: "MaxFileSize 5M\nAlertExceedsMax \(yes)")
            #expect(alerting.alertExceedsMax && alerting.cleanVerdictLimit == nil, "\(yes)")
        }
    }

    @Test func badValuesNameTheLine() {
        for (text, message) in [
            ("MaxFileSize 5G", "line 1: MaxFileSize '5G' is not a size (bytes, or a number with K or M)"),
            ("\nMaxScanSize", "line 2: MaxScanSize '' is not a size (bytes, or a number with K or M)"),
            ("StreamMaxLength -1", "line 1: StreamMaxLength '-1' is not a size (bytes, or a number with K or M)"),
            ("MaxFileSize 99999999999999999M", "line 1: MaxFileSize '99999999999999999M' is not a size (bytes, or a number with K or M)"),
            ("AlertExceedsMax maybe", "line 1: AlertExceedsMax 'maybe' is not yes or no"),
        ] {
            #expect(throws: ClamdConfiguration.ParseError.self, "\(text)") { try ClamdConfiguration(parsing: text) }
            do { _ = try ClamdConfiguration(parsing: text) } catch { #expect(error.description == message) }
        }
    }

    @Test func readingAFile() throws {
        let tree = try TemporaryTree(prefix: "ccf")
        try tree.file("clamd.conf", contents: Array("MaxFileSize 5M\n".utf8))
        #expect(ClamdConfigurationReading.read("none", isDefault: false) == .notRead)
        guard case .read(_, let configuration) = ClamdConfigurationReading.read(tree.root + "/clamd.conf", isDefault: false) else {
            Issue.record("not read"); return
        }
        #expect(configuration.maxFileSize == 5 << 20)
        #expect(ClamdConfigurationReading.read(tree.root + "/missing.conf", isDefault: true) == .absent(path: tree.root + "/missing.conf"))
        #expect(ClamdConfigurationReading.read(tree.root + "/missing.conf", isDefault: true).effective == .defaults)
        #expect(ClamdConfigurationReading.read(tree.root + "/missing.conf", isDefault: false)
            == .failed(path: tree.root + "/missing.conf", message: "cannot read clamd's configuration \(tree.root)/missing.conf: No such file or directory (errno 2)"))
    }
}
