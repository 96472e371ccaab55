/// The signature databases a scanner runs with: their daily and main versions (nil where there is
/// none). A rescan pass starts anew when either changes.
public struct DatabaseVersion: Sendable, Hashable, CustomStringConvertible {
    public var daily: Int?
    public var main: Int?

    public init(daily: Int?, main: Int?) {
        self.daily = daily
        self.main = main
    }

    public var description: String {
        "daily \(daily.map(String.init) ?? "none"), main \(main.map(String.init) ?? "none")"
    }

    /// The versions in the CVD/CLD headers of `directory` (none when it cannot be read).
    public static func onDisk(_ directory: String) -> DatabaseVersion {
        let versions = (try? SignatureDatabaseInventory.read(directory: directory))?.versions
        return DatabaseVersion(daily: versions?.daily, main: versions?.main)
    }
}
