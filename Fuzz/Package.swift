// swift-tools-version:6.1
import Foundation
import PackageDescription

// SwiftPM names a package required by path after its folder: read the root package's name rather than hard-code it.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

// Fuzz targets live in their own package: they build only with libFuzzer (`-sanitize=fuzzer`), which provides
// `main`. See README.md beside this file for the commands.
let package = Package(
    name: "Fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        // libFuzzer's driver and a bridge from its callback to async code, shared by the targets.
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "EventReaderFuzzer",
            dependencies: ["FuzzSupport", .product(name: "BatchProcessing", package: root)],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "IdempotencyRecordFuzzer",
            dependencies: ["FuzzSupport", .product(name: "BatchIdempotency", package: root)],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
