import BatchProcessingTestProcessSupport
import Foundation
import JSONLogging
import Synchronization
import Testing

enum ObservabilityFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures"
    )
}

/// Validates EMF documents with the specification's schema and rules, in Python's `jsonschema` (a real,
/// independent validator). Records an issue naming every problem.
func expectValidEMF(_ documents: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation) async throws {
    guard !documents.isEmpty else { return }
    let python = try #require(ChildProcess.which("python3"), "python3 is needed to validate EMF documents")
    var input: [UInt8] = []
    for document in documents { input += document + [UInt8(ascii: "\n")] }
    let output = try await ChildProcess.run(
        python,
        [ObservabilityFixture.directory.appendingPathComponent("validate_emf.py").path],
        stdin: input
    )
    #expect(
        output.status == 0 && output.stdout.hasPrefix("valid \(documents.count)"),
        "EMF validation failed: \(output.stdout) \(output.stderr)",
        sourceLocation: sourceLocation
    )
}
