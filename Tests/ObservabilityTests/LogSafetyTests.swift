import BatchProcessingTestProcessSupport
import Foundation
import Glibc
import JSONLogging
import JournaldLogging
import Logging
import Testing

@Suite("Logs that cannot be forged or garbled")
struct LogSafetyTests {
    struct MultiLineError: Error, CustomStringConvertible {
        var description: String { "first\nERROR forged: second" }
    }

    @Test("The text format escapes control characters, so a value cannot start a new line")
    func textEscapes() throws {
        let collector = LineCollector()
        let logger = JSONLogHandlerTests.logger(collector) { $0.format = .text }
        logger.error(
            "record failed\n2026-01-01T00:00:00.000Z INFO  forged: all good",
            error: MultiLineError(),
            metadata: [
                "item_identifier": "m1\r\nINFO forged",
                "note": "bell\u{7} and escape \u{1b}[31m",
                "plain": "value",
                "spaced": "two words",
            ]
        )
        let lines = collector.all
        #expect(lines.count == 1, "one event, one line: \(lines)")
        let line = try #require(lines.first)
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1b}") && !line.contains("\u{7}"))
        #expect(line.contains(#"record failed\n2026-01-01T00:00:00.000Z INFO  forged"#))
        #expect(line.contains(#"item_identifier="m1\r\nINFO forged""#))
        #expect(line.contains(#"note="bell\u{7} and escape \u{1b}[31m""#))
        #expect(line.contains(" plain=value"))
        #expect(line.contains(#"spaced="two words""#))
        #expect(line.contains(#"error="first\nERROR forged: second""#))
    }

    static func journald(_ run: String, fallback: LineWriter = .standardError) -> Logger {
        var logger = Logger(label: "safety") {
            JournaldLogHandler(label: $0, syslogIdentifier: "batch-tests", fallback: fallback)
        }
        logger[metadataKey: "test_run"] = "\(run)"
        return logger
    }

    @Test("journald: metadata cannot override the handler's own fields or journald's well-known ones")
    func journaldReservedFields() async throws {
        let run = UUID().uuidString
        let line = #line + 1
        Self.journald(run).error(
            "the real message",
            metadata: [
                "priority": "7", "code_file": "forged.swift", "CODE_LINE": "1", "syslog_identifier": "other",
                "code": ["func": "forged()"], "SYSLOG_PID": "1", "message_id": "x",
            ]
        )
        let entry = try #require(try await JournaldLogHandlerTests.entries(run: run, count: 1).first)
        #expect(JournaldLogHandlerTests.text(entry["MESSAGE"]) == "the real message")
        #expect(entry["PRIORITY"] as? String == "3")
        #expect((entry["CODE_FILE"] as? String)?.hasSuffix("LogSafetyTests.swift") == true)
        #expect(entry["CODE_LINE"] as? String == String(line))
        #expect(entry["CODE_FUNC"] as? String == "journaldReservedFields()")
        #expect(entry["SYSLOG_IDENTIFIER"] as? String == "batch-tests")
        #expect(entry["META_PRIORITY"] as? String == "7")
        #expect(entry["META_CODE_FILE"] as? String == "forged.swift")
        #expect(entry["META_CODE_LINE"] as? String == "1")
        #expect(entry["META_CODE_FUNC"] as? String == "forged()")
        #expect(entry["META_SYSLOG_IDENTIFIER"] as? String == "other")
        #expect(entry["META_MESSAGE_ID"] as? String == "x")
    }

    @Test("journald: keys that normalise to one field name stay distinct, the first in sorted order keeping it")
    func journaldCollisions() async throws {
        let run = UUID().uuidString
        Self.journald(run).info(
            "collisions",
            metadata: ["user_id": "underscore", "user-id": "dash", "user.id": "dot", "USER_ID_2": "literal"]
        )
        let entry = try #require(try await JournaldLogHandlerTests.entries(run: run, count: 1).first)
        // Sorted keys: "USER_ID_2", "user-id", "user.id", "user_id".
        #expect(entry["USER_ID_2"] as? String == "literal")
        #expect(entry["USER_ID"] as? String == "dash")
        #expect(entry["USER_ID_3"] as? String == "dot")
        #expect(entry["USER_ID_4"] as? String == "underscore")
    }

    @Test("journald: the socket is looked for when the handler is made, not for every line")
    func noLookPerLine() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let socket = folder.appendingPathComponent("socket").path
        let collector = LineCollector()
        let logger = Logger(label: "look") {
            JournaldLogHandler(label: $0, socketPath: socket, fallback: collector.writer)
        }
        logger.info("before")
        // A socket appears at the path; a handler that looked for it on every line would now send to journald.
        #expect(Self.bindUnixSocket(at: socket))
        logger.info("after")
        let messages = try collector.all.filter { $0.hasPrefix("{") }.map { try ChildProcess.jsonObject($0) }
            .compactMap { $0["message"] as? String }
        #expect(messages == ["before", "after"], "\(collector.all)")
    }

    /// Makes a Unix datagram socket file at `path`, as journald's is.
    static func bindUnixSocket(at path: String) -> Bool {
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}
