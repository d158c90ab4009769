// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "orders",
    platforms: [.macOS(.v15)],
    dependencies: [
        // docs: begin
        .package(url: "https://github.com/…/swift-batch-processing.git", from: "0.1.0")
        // docs: end
    ],
    targets: [
        .executableTarget(
            name: "orders",
            dependencies: [.product(name: "BatchProcessing", package: "swift-batch-processing")]
        )
    ]
)
