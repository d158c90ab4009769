import Foundation

/// The sample events kept beside these tests.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures"
    )

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}
