import ScanCore

/// The EICAR anti-virus test file, built at run time.
///
/// The 68-byte test string is never written out literally anywhere in the repository (a scanner
/// looking at the source tree would flag it, and so would mail and upload filters): it is kept
/// XOR-masked with a position-dependent key in ScanCore (``ProbeSample``) and unmasked on demand.
public enum EICAR {
    /// The 68 bytes of the EICAR test file (no trailing newline): ScanCore's own masked copy,
    /// the one the `probe` mode sends.
    public static var bytes: [UInt8] { ProbeSample.eicar }

    /// The test string as text.
    public static var string: String { String(decoding: bytes, as: UTF8.self) }
}
