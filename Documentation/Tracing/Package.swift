// swift-tools-version:6.2
// The tracing article's example (Sources/BatchProcessing/Documentation.docc/TracingBatches.md) as a package of its
// own, so that only this check builds swift-otel (several minutes): scripts/check-tracing-example.sh builds it, runs
// it against a local OTLP/HTTP receiver and checks the spans it exports.
import Foundation
import PackageDescription

// SwiftPM names a package required by path after its folder: read the root's name rather than hard-code it.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

let package = Package(
    name: "tracing-example",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        // OTLP over HTTP only: the gRPC exporter's dependencies would double the build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", exact: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "tracing-example",
            dependencies: [
                .product(name: "BatchProcessing", package: root),
                .product(name: "Observability", package: root),
                .product(name: "JSONLogging", package: root),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/TracingExample"
        )
    ]
)
