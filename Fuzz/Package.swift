// swift-tools-version: 6.2
// The libFuzzer targets of the parsers of outside input (README, "Fuzzing"). A package of its own, so
// the main build never sees the fuzzer flags; it depends on the root package by path and is built by
// Scripts/fuzz.sh into Fuzz/.build with `-sanitize=fuzzer,address -parse-as-library`.
import Foundation
import PackageDescription

// A path dependency is identified by its directory's name (the checkout's, which CI chooses).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "virus-scan-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        // One binary, one target per run: FUZZ_TARGET names the parser (see Targets.swift).
        .executableTarget(
            name: "ParserFuzz",
            dependencies: [.product(name: "ScanCore", package: rootIdentity)]),
    ],
    swiftLanguageModes: [.v6]
)
