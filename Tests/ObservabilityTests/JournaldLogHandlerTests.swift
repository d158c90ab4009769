import BatchProcessingTestProcessSupport
import Foundation
import JSONLogging
import JournaldLogging
import Logging
import Testing

/// These tests talk to a real systemd-journald (started by `.ci/run` where none runs) and read the entries
/// back with `journalctl`.
@Suite("journald log handler")
struct JournaldLogHandlerTests {
    static let socket = JournaldLogHandler.defaultSocketPath

    /// The entries carrying `TEST_RUN=<run>`, waiting up to 10 s for journald to store them; `fields` limits
    /// what journalctl prints (a 1 MB field printed as JSON numbers is slow to parse).
    static func entries(run: String, count: Int, fields: [String]? = nil) async throws -> [[String: Any]] {
        #expect(
            FileManager.default.fileExists(atPath: socket),
            "no journald socket at \(socket): start systemd-journald (see .ci/run)"
        )
        let journalctl = try #require(ChildProcess.which("journalctl"), "journalctl is needed (systemd package)")
        // Generous: under the whole suite the test process can be held up for seconds at a time.
        let deadline = ContinuousClock.now + .seconds(30)
        var found: [[String: Any]] = []
        repeat {
            var arguments = ["-o", "json", "-a", "--no-pager"]
            if let fields { arguments.append("--output-fields=" + fields.joined(separator: ",")) }
            let output = try await ChildProcess.run(journalctl, arguments + ["TEST_RUN=\(run)"])
            found = try output.stdoutLines.map { try ChildProcess.jsonObject($0) }
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        let hint = "is systemd-journald running? `make test` (scripts/with-journald.sh) starts one for the tests"
        Issue.record("journald stored \(found.count) of \(count) entries for run \(run): \(hint)")
        return found
    }

    /// A field's value as journalctl prints it: a string, or an array of bytes for binary or large values.
    static func text(_ value: Any?) -> String? {
        if let string = value as? String { return string }
        if let bytes = value as? [Int] {
            return String(decoding: bytes.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
        }
        return nil
    }

    static func bytes(_ value: Any?) -> [UInt8]? {
        if let string = value as? String { return Array(string.utf8) }
        return (value as? [Int])?.map { UInt8(truncatingIfNeeded: $0) }
    }

    @Test("An entry arrives with its message, priority, code location, identifier and normalised metadata")
    func entryRoundTrip() async throws {
        let run = UUID().uuidString
        var logger = Logger(label: "orders.worker") { JournaldLogHandler(label: $0, syslogIdentifier: "batch-tests") }
        logger[metadataKey: "test_run"] = "\(run)"
        let line = #line + 1
        logger.warning(
            "first line\nsecond line",
            metadata: [
                "order.id": "42",
                "nested": ["a": "1", "list": ["x", "y"]],
                "9lives": "cat",
                "_private": "p",
                "message": "a metadata key named message",
                "a-very-long-key-" + String(repeating: "k", count: 80): "long",
            ]
        )
        let entry = try #require(try await Self.entries(run: run, count: 1).first)
        #expect(Self.text(entry["MESSAGE"]) == "first line\nsecond line")
        #expect(entry["PRIORITY"] as? String == "4")
        #expect((entry["CODE_FILE"] as? String)?.hasSuffix("JournaldLogHandlerTests.swift") == true)
        #expect(entry["CODE_LINE"] as? String == String(line))
        #expect(entry["CODE_FUNC"] as? String == "entryRoundTrip()")
        #expect(entry["SYSLOG_IDENTIFIER"] as? String == "batch-tests")
        #expect(entry["LOGGER"] as? String == "orders.worker")
        #expect(entry["ORDER_ID"] as? String == "42")
        #expect(entry["NESTED_A"] as? String == "1")
        #expect(entry["NESTED_LIST_0"] as? String == "x")
        #expect(entry["NESTED_LIST_1"] as? String == "y")
        #expect(entry["F9LIVES"] as? String == "cat")
        #expect(entry["PRIVATE"] as? String == "p")
        #expect(entry["META_MESSAGE"] as? String == "a metadata key named message")
        let longKey = try #require(entry.keys.first { $0.hasPrefix("A_VERY_LONG_KEY_") })
        #expect(longKey.count == 64)
    }

    @Test("swift-log levels map to journald priorities 7 to 2")
    func priorities() async throws {
        let run = UUID().uuidString
        var logger = Logger(label: "levels") { JournaldLogHandler(label: $0, logLevel: .trace) }
        logger.logLevel = .trace
        logger[metadataKey: "test_run"] = "\(run)"
        let levels: [Logger.Level] = [.trace, .debug, .info, .notice, .warning, .error, .critical]
        for level in levels { logger.log(level: level, "\(level)") }
        let entries = try await Self.entries(run: run, count: levels.count)
        let priorities = Dictionary(
            entries.compactMap { entry in
                (entry["MESSAGE"] as? String).map { ($0, entry["PRIORITY"] as? String ?? "") }
            }
        ) { first, _ in first }
        #expect(
            priorities == [
                "trace": "7", "debug": "7", "info": "6", "notice": "5", "warning": "4", "error": "3", "critical": "2",
            ]
        )
    }

    @Test("A 1 MB message and binary values arrive intact, and an error is kept")
    func largeAndBinary() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "broken pipe" } }
        let run = UUID().uuidString
        var logger = Logger(label: "big") { JournaldLogHandler(label: $0) }
        logger[metadataKey: "test_run"] = "\(run)"
        let message = String(
            decoding: (0..<1_000_000).map { index in index % 1000 == 999 ? UInt8(ascii: "\n") : UInt8(97 + index % 26)
            },
            as: UTF8.self
        )
        logger.error("\(message)", error: Broken(), metadata: ["blob": "a\u{1}b\u{0}c"])
        let entry = try #require(
            try await Self.entries(run: run, count: 1, fields: ["BLOB", "EXCEPTION", "EXCEPTION_NAME", "TEST_RUN"])
                .first
        )
        // The message itself, raw: `-o cat` prints MESSAGE and a newline.
        let journalctl = try #require(ChildProcess.which("journalctl"))
        let raw = try await ChildProcess.run(journalctl, ["-o", "cat", "-a", "--no-pager", "TEST_RUN=\(run)"])
        #expect(raw.stdout.utf8.count == 1_000_001)
        #expect(raw.stdout == message + "\n")
        #expect(Self.bytes(entry["BLOB"]) == [97, 1, 98, 0, 99])
        #expect(entry["EXCEPTION"] as? String == "broken pipe")
        #expect((entry["EXCEPTION_NAME"] as? String)?.hasSuffix("Broken") == true)
    }

    @Test("Without the journal socket, entries fall back to JSON lines, said once, none lost")
    func fallback() throws {
        let collector = LineCollector()
        let logger = Logger(label: "fallback") {
            JournaldLogHandler(
                label: $0,
                syslogIdentifier: "tests",
                socketPath: "/nonexistent/journal/socket",
                fallback: collector.writer
            )
        }
        logger.info("one", metadata: ["k": "v"])
        logger.error("two")
        let lines = collector.all
        let notices = lines.filter { $0.hasPrefix("JournaldLogging:") }
        #expect(notices.count == 1)
        #expect(notices.first?.contains("/nonexistent/journal/socket") == true)
        let entries = try lines.filter { !$0.hasPrefix("JournaldLogging:") }.map { try ChildProcess.jsonObject($0) }
        #expect(entries.compactMap { $0["message"] as? String } == ["one", "two"])
        #expect(entries.first?["k"] as? String == "v")
        #expect(entries.last?["level"] as? String == "ERROR")
    }

    @Test(
        "Field names follow journald's rules",
        arguments: [
            ("message", "META_MESSAGE"), ("order.id", "ORDER_ID"), ("_hidden", "HIDDEN"), ("__x", "X"),
            ("9lives", "F9LIVES"), ("", "FIELD"), ("émoji-key", "MOJI_KEY"), ("CamelCase", "CAMELCASE"),
        ]
    )
    func fieldNames(key: String, expected: String) {
        #expect(JournaldLogHandler.fieldName(key) == expected)
    }

    @Test("Field names are never longer than 64 characters and use only A-Z, 0-9 and _")
    func fieldNameShape() {
        for key in ["a", String(repeating: "long", count: 40), "x y z", "1", "_1", "ÄÖÜ", "a/b\\c"] {
            let name = JournaldLogHandler.fieldName(key)
            #expect(name.count <= 64 && !name.isEmpty)
            #expect(name.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
            #expect(!name.hasPrefix("_") && !(name.first?.isNumber ?? true))
        }
    }
}
