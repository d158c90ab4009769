// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-batch-processing",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BatchProcessing", targets: ["BatchProcessing"]),
        .executable(name: "batchproc", targets: ["batchproc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "BatchProcessing",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        .executableTarget(
            name: "batchproc",
            dependencies: [
                "BatchProcessing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BatchProcessingTests",
            dependencies: [
                "BatchProcessing",
                "batchproc",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]
        ),
    ]
)

for target in package.targets {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
