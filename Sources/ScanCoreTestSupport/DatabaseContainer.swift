/// Builds ClamAV database containers (`.cvd`, `.cld`, `.cud`) from a directory of plain
/// databases: a 512-byte header, then the files as a tar archive (gzip-compressed for `.cvd` and
/// `.cud`; plain tar starting with `COPYING` for `.cld`, as freshclam writes them), with a
/// `<name>.info` file listing each file's size and SHA-256 under a copy of the header.
///
/// What libclamav accepts (1.4.6): it checks a `.cvd`'s MD5 and digital signature against
/// ClamAV's public key, so a `.cvd` built here is "signed-looking" only (its header MD5 is right,
/// its signature field is not a real signature) and fails to load with a verification error.
/// A `.cld` skips the MD5/signature check but its `.info` must be signed (`DSIG:`): it fails too.
/// A `.cud` ("unsigned") is loaded without either check: use it to load a container in tests.
/// Every kind parses with `cl_cvdparse`/`cl_cvdhead`, which is what the header tests need.
public enum DatabaseContainer {
    public enum Kind: String, Sendable, CaseIterable {
        case cvd, cld, cud
    }

    /// The default build timestamp (2025-11-25 12:00:00 UTC).
    public static let defaultTimestamp: Int64 = 1_764_072_000

    /// Builds the container bytes for `files` (name, contents).
    ///
    /// - Parameters:
    ///   - name: the database name (`daily`, `main`): names the `.info` file, and libclamav
    ///     records the version of a container whose file name contains `daily.`.
    ///   - signatureCount: the header's count; by default the signature lines of the files.
    public static func build(
        name: String, files: [(name: String, contents: [UInt8])], kind: Kind, version: Int,
        buildTimestamp: Int64 = defaultTimestamp, functionalityLevel: Int = 90, builder: String = "vsm-fixtures",
        signatureCount: Int? = nil
    ) -> [UInt8] {
        let count =
            signatureCount
            ?? files.map { file in
                let ext = file.name.split(separator: ".").last.map(String.init) ?? ""
                return ["ign", "ign2", "cfg", "ftm", "fp", "sfp", "info"].contains(ext)
                    ? 0 : file.contents.split(separator: 0x0A).filter { !$0.isEmpty && $0.first != 0x23 }.count
            }.reduce(0, +)
        var header = CVDHeaderFields(
            buildTime: buildTimeText(buildTimestamp), version: version, signatures: count,
            functionalityLevel: functionalityLevel, md5: String(repeating: "0", count: 32),
            digitalSignature: fakeSignature(version: version), builder: builder, buildTimestamp: buildTimestamp)
        var info = header.line + "\n"
        for file in files { info += "\(file.name):\(file.contents.count):\(SHA256.hex(file.contents))\n" }
        var entries: [(name: String, contents: [UInt8])] = []
        if kind == .cld { entries.append(("COPYING", Array("Fixture database for virus-scan-monitoring tests.\n".utf8))) }
        entries.append(("\(name).info", Array(info.utf8)))
        entries += files
        let tar = Archives.tar(entries, mtime: Int(buildTimestamp))
        let body = kind == .cld ? tar : Archives.gzip(tar)
        header.md5 = Checksums.md5Hex(body)
        return header.block + body
    }

    /// Builds a container from every regular file in `directory` and writes it to `path`; the
    /// kind is taken from `path`'s extension and the name from its base name.
    public static func write(from directory: String, to path: String, version: Int, buildTimestamp: Int64 = defaultTimestamp)
        throws
    {
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = fileName.lastIndex(of: "."), let kind = Kind(rawValue: String(fileName[fileName.index(after: dot)...]))
        else { throw FixtureError("\(path): the container's extension must be .cvd, .cld or .cud") }
        let names = try FileOutput.list(directory).filter { !$0.hasPrefix(".") }.sorted()
        var files: [(name: String, contents: [UInt8])] = []
        for name in names where FileOutput.isRegularFile(directory + "/" + name) {
            files.append((name, try FileOutput.read(directory + "/" + name)))
        }
        guard !files.isEmpty else { throw FixtureError("\(directory): no database files to pack") }
        let bytes = build(
            name: String(fileName[..<dot]), files: files, kind: kind, version: version, buildTimestamp: buildTimestamp)
        try FileOutput.write(bytes, to: path)
    }

    /// `25 Nov 2025 12-00 +0000`: the header's human-readable time (`-` where a `:` would split
    /// the field).
    public static func buildTimeText(_ timestamp: Int64) -> String {
        let days = timestamp >= 0 ? timestamp / 86400 : (timestamp - 86399) / 86400
        let seconds = timestamp - days * 86400
        // Civil date from days since the epoch (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(day)) \(months[Int(month - 1)]) \(year) \(two(seconds / 3600))-\(two(seconds / 60 % 60)) +0000"
    }

    /// A string shaped like a CVD digital signature (ClamAV's base-64 alphabet, 86 characters),
    /// derived from the version. It verifies against nothing.
    public static func fakeSignature(version: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/")
        var rng = SplitMix64(seed: UInt64(version) &* 0x9E37_79B9)
        return String((0..<86).map { _ in alphabet[Int(rng.next() % 64)] })
    }
}

/// The header fields as the writer lays them out (the library's `CVDHeader` parses them back).
struct CVDHeaderFields {
    var buildTime: String
    var version: Int
    var signatures: Int
    var functionalityLevel: Int
    var md5: String
    var digitalSignature: String
    var builder: String
    var buildTimestamp: Int64

    var line: String {
        "ClamAV-VDB:\(buildTime):\(version):\(signatures):\(functionalityLevel):\(md5):\(digitalSignature):\(builder):\(buildTimestamp)"
    }

    var block: [UInt8] {
        var bytes = Array(line.utf8.prefix(512))
        bytes += [UInt8](repeating: 0x20, count: 512 - bytes.count)
        return bytes
    }
}
