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
        .library(name: "BatchProcessingTesting", targets: ["BatchProcessingTesting"]),
        .library(name: "BatchIdempotencyTesting", targets: ["BatchIdempotencyTesting"]),
        .library(name: "BatchIdempotency", targets: ["BatchIdempotency"]),
        .library(name: "BatchRunner", targets: ["BatchRunner"]),
        // The runner's PostgreSQL store provider: a product of its own, so that only its users link postgres-nio.
        .library(name: "BatchRunnerPostgres", targets: ["BatchRunnerPostgres"]),
        // The PostgreSQL idempotency store: a product of its own, so that only its users link postgres-nio.
        .library(name: "BatchIdempotencyPostgres", targets: ["BatchIdempotencyPostgres"]),
        // The DynamoDB idempotency store: a product of its own, so that only its users link async-http-client.
        .library(name: "BatchIdempotencyDynamoDB", targets: ["BatchIdempotencyDynamoDB"]),
        // The runner's DynamoDB store provider: a product of its own, likewise.
        .library(name: "BatchRunnerDynamoDB", targets: ["BatchRunnerDynamoDB"]),
        .executable(name: "batchproc", targets: ["batchproc"]),
        // `swift package lambda-package --product NAME`: a program as a Lambda deployment package (static, zipped).
        .plugin(name: "LambdaPackage", targets: ["LambdaPackage"]),
        // The examples (Examples/README.md): programs built on BatchRunner's BatchProgram.
        .executable(name: "sqs-orders", targets: ["sqs-orders"]),
        .executable(name: "kinesis-clickstream", targets: ["kinesis-clickstream"]),
        .executable(name: "msk-inventory", targets: ["msk-inventory"]),
        .executable(name: "dynamodb-customers", targets: ["dynamodb-customers"]),
    ],
    dependencies: [
        // InMemoryLogging (for BatchProcessingTesting) needs swift-log 1.16.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        // MetricsTestKit, Sendable factories.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // SHA-256 for idempotency keys and payload hashes (BatchIdempotency only).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        // YAML for the tests only: reading the CloudFormation templates, and the reference the chain file reader
        // (BatchRunner's YAMLReader, which links no Foundation) is checked against. No product links it.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        // The PostgreSQL idempotency store (BatchIdempotencyPostgres only): the Swift server PostgreSQL client, with
        // a connection pool, TLS and SCRAM authentication.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        // The DynamoDB idempotency store (BatchIdempotencyDynamoDB only): HTTPS with a connection pool, timeouts and
        // TLS from the Swift server workgroup's client. No AWS SDK for Swift is available here; the DynamoDB JSON
        // API and Signature Version 4 are the store's own.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // ByteBuffer and HTTP/1 types in async-http-client's API (already resolved through it and postgres-nio).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        // A span per batch and per record (BatchProcessing): the tracing API only, no exporter; `withTracer` (1.7)
        // binds a tracer to a task, InMemoryTracing serves the tests.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
        // The host worker's lifecycle (BatchRunner): graceful shutdown on SIGTERM. postgres-nio needs it too.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // `swift package generate-documentation` for the DocC catalogs (a command plugin: nothing is linked).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.4.0"),
    ],
    targets: [
        .target(name: "BatchProcessingJSONSupport"),
        // The system calls on files, pipes and sockets (EINTR loops, whole reads and writes), `LineWriter` and
        // `ProcessEnvironment`: what the logging, metrics, runner and file store share below JSON. JSONLogging
        // re-exports its public types.
        .target(name: "BatchProcessingSystemSupport", dependencies: ["CSystemShims"]),
        // C calls that Swift's Glibc module does not export (syncfs, naming a thread), called directly rather than
        // looked up with dlsym, which a statically linked program cannot do.
        .target(name: "CSystemShims"),
        .target(
            name: "JSONLogging",
            dependencies: [
                "BatchProcessingJSONSupport",
                "BatchProcessingSystemSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "EMFMetrics",
            dependencies: [
                "BatchProcessingJSONSupport",
                "BatchProcessingSystemSupport",
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
                // libsystemd exists on Linux only; elsewhere the handler falls back to JSON lines on stderr.
                .target(name: "CSystemd", condition: .when(platforms: [.linux])),
                "BatchProcessingSystemSupport",
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
                "BatchProcessingJSONSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "BatchIdempotency",
            dependencies: [
                "BatchProcessing",
                "CSystemShims",
                "BatchProcessingJSONSupport",
                "BatchProcessingSystemSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "BatchIdempotencyPostgres",
            dependencies: [
                "BatchIdempotency",
                "BatchProcessingSystemSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BatchRunner",
            dependencies: [
                "BatchProcessing",
                "BatchProcessingJSONSupport",
                "BatchProcessingSystemSupport",
                "BatchIdempotency",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The command line of BatchProgram (invoke, replay, serve) and batchproc.
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "Observability",
                "EMFMetrics",
                "JSONLogging",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BatchIdempotencyDynamoDB",
            dependencies: [
                "BatchIdempotency",
                "BatchProcessingJSONSupport",
                "BatchProcessingSystemSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BatchRunnerDynamoDB",
            dependencies: [
                "BatchIdempotency",
                "BatchIdempotencyDynamoDB",
                "BatchProcessingSystemSupport",
                "BatchRunner",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BatchRunnerPostgres",
            dependencies: [
                "BatchRunner",
                "BatchIdempotency",
                "BatchIdempotencyPostgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // An in-memory store and the store conformance checks, for tests (BatchIdempotency only: no database client).
        .target(name: "BatchIdempotencyTesting", dependencies: ["BatchIdempotency"]),
        .target(
            name: "BatchProcessingTesting",
            dependencies: [
                "BatchProcessing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
        .executableTarget(
            name: "batchproc",
            dependencies: [
                "BatchProcessing",
                "BatchIdempotency",
                "BatchIdempotencyDynamoDB",
                "BatchIdempotencyPostgres",
                "BatchRunnerDynamoDB",
                "BatchProcessingJSONSupport",
                "BatchProcessingSystemSupport",
                "BatchRunner",
                "BatchRunnerPostgres",
                "Observability",
                "JSONLogging",
                "JournaldLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "sqs-orders",
            dependencies: [
                "BatchProcessing", "BatchRunner", "Observability", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/SQSOrders",
            exclude: ["README.md", "orders.yaml", "orders-fifo.yaml"]
        ),
        .executableTarget(
            name: "kinesis-clickstream",
            dependencies: [
                "BatchProcessing", "BatchRunner", "Observability", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/KinesisClickstream",
            exclude: ["README.md", "clickstream.yaml"]
        ),
        .executableTarget(
            name: "msk-inventory",
            dependencies: [
                "BatchProcessing", "BatchRunner", "BatchRunnerPostgres", "Observability",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/MSKInventory",
            exclude: ["README.md", "inventory.yaml"]
        ),
        .executableTarget(
            name: "dynamodb-customers",
            dependencies: [
                "BatchProcessing", "BatchRunner", "Observability", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/DynamoDBCustomers",
            exclude: ["README.md", "customers.yaml"]
        ),
        // The Lambda packager: the plugin builds the program statically and hands it to the tool, which checks it
        // and writes the zip (with zlib, which the Swift toolchain needs on Linux anyway).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "LambdaPackaging", dependencies: ["CZlib"]),
        .executableTarget(name: "lambda-packager", dependencies: ["LambdaPackaging"]),
        .plugin(
            name: "LambdaPackage",
            capability: .command(
                intent: .custom(
                    verb: "lambda-package",
                    description: "Build an executable product statically and zip it as a Lambda deployment package"
                ),
                permissions: [
                    .writeToPackageDirectory(reason: "The zip is written to .build/lambda (or --output) in the package")
                ]
            ),
            dependencies: ["lambda-packager"]
        ),
        .target(
            name: "BatchProcessingTestProcessSupport",
            dependencies: ["JSONLogging"],
            path: "Tests/BatchProcessingTestProcessSupport"
        ),
        // The core's tests: no libsystemd, no executables.
        .testTarget(
            name: "BatchProcessingTests",
            dependencies: [
                "BatchProcessing",
                "BatchProcessingTesting",
                "BatchProcessingTestProcessSupport",
                "JSONLogging",
                "EMFMetrics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "BatchIdempotencyDynamoDBTests",
            dependencies: [
                "BatchIdempotencyDynamoDB",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "BatchIdempotency",
                "BatchIdempotencyTesting",
                "BatchProcessingTestProcessSupport",
            ],
            exclude: ["sigv4-reference.py", "credentials-endpoint.py"]
        ),
        .testTarget(
            name: "BatchIdempotencyTests",
            dependencies: [
                "BatchIdempotency",
                "BatchIdempotencyTesting",
                "BatchIdempotencyPostgres",
                "BatchIdempotencyDynamoDB",
                "BatchProcessingTestProcessSupport",
                .product(name: "Logging", package: "swift-log"),
                "BatchProcessing",
                "BatchProcessingTesting",
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            exclude: ["dynamodb-fault-proxy.py"]
        ),
        .testTarget(
            name: "BatchRunnerTests",
            dependencies: [
                "BatchRunner",
                "BatchIdempotency",
                "BatchProcessing",
                "JSONLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                // The reference the chain file reader is checked against.
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // batchproc and the example, run as real processes.
        .testTarget(
            name: "CommandLineTests",
            dependencies: [
                "batchproc",
                "sqs-orders",
                "kinesis-clickstream",
                "msk-inventory",
                "dynamodb-customers",
                "BatchProcessingTestProcessSupport",
                "BatchProcessingTesting",
                // The dashboards' contract test reads metric names from the code and the alarms' template as YAML.
                "BatchProcessing",
                "BatchIdempotency",
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "LambdaPackagingTests", dependencies: ["LambdaPackaging"]),
        .testTarget(
            name: "ObservabilityTests",
            dependencies: [
                "JSONLogging",
                "EMFMetrics",
                "JournaldLogging",
                "Observability",
                "BatchProcessingTestProcessSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["Fixtures"]
        ),
    ]
)

for target in package.targets where target.type != .system && target.type != .plugin {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
