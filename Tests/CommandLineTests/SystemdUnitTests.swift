import BatchProcessingTestProcessSupport
import Foundation
import Testing

/// The host worker's unit file, as systemd reads it (offline: no systemd as PID 1 is needed).
@Suite("Examples/systemd/batch-worker.service")
struct SystemdUnitTests {
    static let unit = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/systemd/batch-worker.service")

    /// The unit with its ExecStart pointing at the batchproc just built, in a folder of its own.
    static func installed() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let text = try String(contentsOf: unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/batchproc", with: Batchproc.executable.path)
        let path = folder.appendingPathComponent("batch-worker.service").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("systemd-analyze verify finds nothing to say, and the hardening scores OK (exposure at most 2.0)")
    func verifiesAndIsHardened() async throws {
        let analyze = try #require(ChildProcess.which("systemd-analyze"), "systemd-analyze (systemd) is not installed")
        let path = try Self.installed()
        let verify = try await ChildProcess.run(analyze, ["verify", path])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stderr.isEmpty, "\(verify.stderr)")
        let security = try await ChildProcess.run(analyze, ["security", "--offline=true", path])
        let line = try #require(security.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(
            line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) },
            "\(line)"
        )
        #expect(score <= 2.0, "\(line)")
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        for setting in ["StandardOutput=journal", "Restart=on-failure", "ProtectSystem=strict", "NoNewPrivileges=yes"] {
            #expect(text.contains(setting), "\(setting) is missing")
        }
        #expect(text.contains("StateDirectory=batch-worker") && text.contains("--spool ${STATE_DIRECTORY}/spool"))
    }
}
