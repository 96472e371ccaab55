// swift-tools-version: 6.2
import PackageDescription

// Shared dependencies, named once (as swift-nio does).
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")

let package = Package(
    name: "virus-scan-monitoring",
    products: [
        .library(name: "ScanCore", targets: ["ScanCore"]),
        .executable(name: "check_virus_scan", targets: ["check_virus_scan"]),
        .executable(name: "virus_scan_exporter", targets: ["exporter"]),
        .executable(name: "virus_scan_fixtures", targets: ["virus_scan_fixtures"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C: libclamav (system library, compiles nothing) and the Linux calls Swift cannot import.
        .systemLibrary(name: "CClamAV", pkgConfig: "libclamav", providers: [.apt(["libclamav-dev"])]),
        .target(name: "CScanSupport"),

        // Core library
        .target(name: "ScanCore", dependencies: ["CClamAV", "CScanSupport", logging, yams]),
        .target(name: "ScanCoreTestSupport", dependencies: ["ScanCore", "CScanSupport"]),

        // Executables (thin)
        .executableTarget(name: "check_virus_scan", dependencies: ["ScanCore", argumentParser, logging]),
        .executableTarget(name: "exporter", dependencies: ["ScanCore", argumentParser, logging]),
        .executableTarget(name: "virus_scan_fixtures", dependencies: ["ScanCoreTestSupport", argumentParser]),

        // Tests
        .testTarget(name: "ScanCoreTests", dependencies: ["ScanCore", "ScanCoreTestSupport", "CClamAV"]),
        .testTarget(name: "CheckVirusScanTests", dependencies: ["check_virus_scan", "ScanCore", "ScanCoreTestSupport", argumentParser]),
        .testTarget(name: "ExporterTests", dependencies: ["exporter", "ScanCore", "ScanCoreTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// STANDARD SETTINGS (the swift-metrics form): skip targets that compile no Swift.
for target in package.targets {
    switch target.type {
    case .regular, .test, .executable:
        var settings = target.swiftSettings ?? []
        settings.append(.enableUpcomingFeature("ExistentialAny"))
        settings.append(.enableUpcomingFeature("MemberImportVisibility"))
        target.swiftSettings = settings
    case .macro, .plugin, .system, .binary:
        break
    @unknown default:
        break
    }
}
