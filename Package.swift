// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-batch-processing",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BatchProcessing", targets: ["BatchProcessing"]),
        .library(name: "JSONLogging", targets: ["JSONLogging"]),
        .library(name: "EMFMetrics", targets: ["EMFMetrics"]),
        .library(name: "JournaldLogging", targets: ["JournaldLogging"]),
        .library(name: "Observability", targets: ["Observability"]),
        .executable(name: "batchproc", targets: ["batchproc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    ],
    targets: [
        .target(name: "JSONSupport"),
        .target(
            name: "JSONLogging",
            dependencies: [
                "JSONSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "EMFMetrics",
            dependencies: [
                "JSONSupport",
                "JSONLogging",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "JournaldLogging",
            dependencies: [
                "CSystemd",
                "JSONLogging",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Observability",
            dependencies: [
                "JSONLogging",
                "EMFMetrics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "BatchProcessing",
            dependencies: [
                "JSONSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "batchproc",
            dependencies: [
                "BatchProcessing",
                "Observability",
                "JSONLogging",
                "JournaldLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "orders-lambda-example",
            dependencies: [
                "BatchProcessing",
                "Observability",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/OrdersLambda"
        ),
        .target(
            name: "TestProcessSupport",
            dependencies: ["JSONLogging"],
            path: "Tests/TestProcessSupport"
        ),
        .testTarget(
            name: "BatchProcessingTests",
            dependencies: [
                "BatchProcessing",
                "batchproc",
                "orders-lambda-example",
                "TestProcessSupport",
                "JSONLogging",
                "EMFMetrics",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "ObservabilityTests",
            dependencies: [
                "JSONLogging",
                "EMFMetrics",
                "JournaldLogging",
                "Observability",
                "TestProcessSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["Fixtures"]
        ),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
