/// The header of a ClamAV database container (`.cvd`, `.cld`, `.cud`): the first 512 bytes,
/// `ClamAV-VDB:build time:version:signatures:functionality level:MD5:digital signature:builder:build time (s)`,
/// padded with spaces.
///
/// Parsing is pure and stricter than libclamav's `cl_cvdparse` (which the differential tests
/// compare it with): numbers must be decimal digits (where `cl_cvdparse` uses `atoi` and takes
/// garbage as 0) and no field may be empty (where `cl_cvdparse` skips empty fields and shifts
/// the rest). On every header `cl_cvdparse` reads without guessing, the two agree field by field.
public struct CVDHeader: Sendable, Hashable {
    /// The size of the header block at the start of every container.
    public static let size = 512
    /// The magic prefix.
    public static let magic = "ClamAV-VDB:"

    /// The build time as written (`25 Nov 2026 11-42 +0000`: the minutes are separated by `-`
    /// because `:` separates fields).
    public var buildTime: String
    /// The database version (daily 27xxx, main 62, …).
    public var version: Int
    /// The number of signatures the container holds.
    public var signatureCount: Int
    /// The minimum engine functionality level the database needs.
    public var functionalityLevel: Int
    /// MD5 of the body (everything after the header), 32 hex digits as written.
    public var md5: String
    /// The digital signature of the MD5 (ClamAV's own base-64 variant), as written.
    public var digitalSignature: String
    /// Who built it (`raynman`, `neo`, …).
    public var builder: String
    /// The build time in seconds since the epoch; `nil` in the old format without that field.
    public var buildTimestamp: Int64?

    public init(
        buildTime: String, version: Int, signatureCount: Int, functionalityLevel: Int, md5: String,
        digitalSignature: String, builder: String, buildTimestamp: Int64?
    ) {
        self.buildTime = buildTime
        self.version = version
        self.signatureCount = signatureCount
        self.functionalityLevel = functionalityLevel
        self.md5 = md5
        self.digitalSignature = digitalSignature
        self.builder = builder
        self.buildTimestamp = buildTimestamp
    }

    /// Parses the 512-byte header block at the start of a container file. `bytes` may be the
    /// whole file: only the first 512 bytes are read.
    ///
    /// - Throws: `.truncatedHeader` when fewer than 512 bytes are given, `.notAHeader` without the
    ///   `ClamAV-VDB:` prefix, `.malformedHeader` naming the first bad field.
    public init<Bytes: Collection>(parsing bytes: Bytes) throws(SignatureDatabaseError) where Bytes.Element == UInt8 {
        let block = Array(bytes.prefix(CVDHeader.size))
        guard block.count == CVDHeader.size else {
            if !block.isEmpty, !block.starts(with: CVDHeader.magic.utf8) {
                throw SignatureDatabaseError(
                    .notAHeader, "not a ClamAV database: the file does not start with \"ClamAV-VDB:\"")
            }
            throw SignatureDatabaseError(
                .truncatedHeader,
                "truncated header: \(block.count) bytes where a ClamAV database starts with a \(CVDHeader.size)-byte header")
        }
        // The header ends at the first NUL, CR or LF; the padding (spaces) is trimmed.
        var end = block.firstIndex { $0 == 0 || $0 == 0x0A || $0 == 0x0D } ?? block.count
        while end > 0, block[end - 1] == 0x20 { end -= 1 }
        try self.init(line: String(decoding: block[0..<end], as: UTF8.self))
    }

    /// Parses the header as one line of text (the form it also takes as the first line of a
    /// container's `.info` file).
    public init(line: String) throws(SignatureDatabaseError) {
        guard line.hasPrefix(CVDHeader.magic) else {
            throw SignatureDatabaseError(
                .notAHeader, "not a ClamAV database: the header does not start with \"ClamAV-VDB:\"")
        }
        let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let names = [
            "", "build time", "version", "signature count", "functionality level", "MD5", "digital signature",
            "builder", "build time (s)",
        ]
        guard fields.count >= 8 else {
            throw SignatureDatabaseError(
                .malformedHeader,
                "malformed header: \(fields.count - 1) fields where 8 or 9 are expected (missing the \(names[fields.count]))"
            )
        }
        guard fields.count <= 9 else {
            throw SignatureDatabaseError(
                .malformedHeader, "malformed header: \(fields.count - 1) fields where 8 or 9 are expected")
        }
        for index in 1..<fields.count where fields[index].isEmpty {
            throw SignatureDatabaseError(.malformedHeader, "malformed header: the \(names[index]) field is empty")
        }
        func number(_ index: Int) throws(SignatureDatabaseError) -> Int {
            let text = fields[index]
            guard text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text)
            else {
                throw SignatureDatabaseError(
                    .malformedHeader, "malformed header: the \(names[index]) field is not a number: \"\(text)\"")
            }
            return value
        }
        buildTime = fields[1]
        version = try number(2)
        signatureCount = try number(3)
        functionalityLevel = try number(4)
        md5 = fields[5]
        digitalSignature = fields[6]
        builder = fields[7]
        buildTimestamp = fields.count == 9 ? Int64(try number(8)) : nil
    }

    /// The header line (without padding), as `rendered()` pads it.
    public var line: String {
        var fields = [
            "ClamAV-VDB", buildTime, String(version), String(signatureCount), String(functionalityLevel), md5,
            digitalSignature, builder,
        ]
        if let buildTimestamp { fields.append(String(buildTimestamp)) }
        return fields.joined(separator: ":")
    }

    /// The 512-byte header block: ``line`` padded with spaces. A line longer than 512 bytes is
    /// cut (no real header comes close).
    public func rendered() -> [UInt8] {
        var bytes = Array(line.utf8.prefix(CVDHeader.size))
        bytes.append(contentsOf: repeatElement(0x20, count: CVDHeader.size - bytes.count))
        return bytes
    }
}
