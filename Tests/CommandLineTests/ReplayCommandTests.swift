import BatchProcessingTestProcessSupport
import Foundation
import Testing

/// `batchproc replay`: many events, a summary table, and the HTML report as a browser shows it.
@Suite("batchproc replay")
struct ReplayCommandTests {
    static let events = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/batchproc/events").path

    /// The summary table printed on standard output, as rows of cells by source.
    static func table(_ output: String) -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for line in output.split(separator: "\n").dropFirst() {
            // Cells are separated by two spaces or more; the time is "N ms".
            let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let source = cells.first else { continue }
            rows[source] = Array(cells.dropFirst())
        }
        return rows
    }

    /// A folder with the example events and one that is not an event.
    static func folder(withBadEvent: Bool) throws -> IdempotencyProcessTests.Folder {
        let folder = IdempotencyProcessTests.Folder()
        let events = folder.path + "/events"
        try FileManager.default.createDirectory(atPath: events, withIntermediateDirectories: true)
        for name in ["sqs-orders.json", "kinesis.json", "dynamodb.json", "kafka-orders.json"] {
            try FileManager.default.copyItem(atPath: Self.events + "/" + name, toPath: events + "/" + name)
        }
        // A message whose id is markup: the report must show it as text.
        try Data(#"{"Records":[{"messageId":"<b>bold</b>","eventSource":"aws:sqs"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: events + "/sqs-markup.json"))
        if withBadEvent { try Data("{not an event".utf8).write(to: URL(fileURLWithPath: events + "/zz-bad.json")) }
        return folder
    }

    @Test("A directory of events: the table counts every source and the total; a rerun on one store is all replays")
    func summaryTable() async throws {
        let folder = try Self.folder(withBadEvent: false)
        let arguments = [
            "replay", folder.path + "/events", "--fail", "msg-03", "--idempotency-store", folder.path + "/store",
            "--log-level", "error",
        ]
        let first = try await Batchproc.run(arguments)
        #expect(first.status == 0, "\(first.stderr.prefix(1000))")
        let rows = Self.table(first.stdout)
        // events, records, succeeded, failed, skipped, replays, whole failures, time
        #expect(rows["aws:sqs"]?.prefix(7) == ["2", "11", "10", "1", "0", "0", "0"])
        #expect(rows["aws:kinesis"]?.prefix(2) == ["1", "1"])
        #expect(rows["aws:dynamodb"]?.prefix(2) == ["1", "3"])
        #expect(rows["aws:kafka"]?.prefix(2) == ["1", "5"])
        #expect(rows["total"]?.prefix(7) == ["5", "20", "19", "1", "0", "0", "0"])
        let again = try await Batchproc.run(arguments)
        #expect(Self.table(again.stdout)["total"]?.prefix(7) == ["5", "20", "19", "1", "0", "19", "0"])
    }

    @Test("An event that fails as a whole is counted and makes the exit status 1; a missing path is a usage error")
    func wholeFailures() async throws {
        let folder = try Self.folder(withBadEvent: true)
        let output = try await Batchproc.run(["replay", folder.path + "/events", "--log-level", "error"])
        #expect(output.status == 1)
        #expect(Self.table(output.stdout)["unknown"]?.prefix(7) == ["1", "0", "0", "0", "0", "0", "1"])
        let missing = try await Batchproc.run(["replay", folder.path + "/nowhere"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("does not exist"))
    }

    @Test("A path holding a newline and a log line is printed escaped: the error stays one line")
    func usageErrorEscapesControlCharacters() async throws {
        let forged = "x\n{\"level\":\"ERROR\",\"message\":\"forged\"}\u{1b}[31m"
        let output = try await Batchproc.run(["replay", "/nonexistent/" + forged])
        #expect(output.status == 2)
        let lines = output.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "\(output.stderr)")
        #expect(lines.first?.hasPrefix("batchproc: error: ") == true, "\(output.stderr)")
        #expect(output.stderr.contains(#"x\n{"level":"ERROR","message":"forged"}\u{1b}[31m"#), "\(output.stderr)")
        #expect(!output.stderr.unicodeScalars.contains("\u{1b}"))
    }

    @Test("The report in headless Chromium: a screenshot, no console errors, and the figures of the table")
    func reportInABrowser() async throws {
        let chromium = try #require(
            ChildProcess.which("chromium") ?? ChildProcess.which("chromium-browser"),
            "Chromium is not installed (scripts/install-system-packages.sh installs Debian's chromium)"
        )
        let folder = try Self.folder(withBadEvent: true)
        let report = folder.path + "/report.html"
        let output = try await Batchproc.run([
            "replay", folder.path + "/events", "--fail", "msg-03", "--max-attempts", "2", "--report", report,
            "--log-level", "error",
        ])
        #expect(output.status == 1)
        let page = URL(fileURLWithPath: report).absoluteString
        let browser = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
            "--user-data-dir=\(folder.path)/chromium", "--enable-logging=stderr", "--v=0",
        ]
        let screenshot = folder.path + "/report.png"
        let shot = try await ChildProcess.run(
            chromium,
            browser + ["--window-size=1280,1800", "--screenshot=\(screenshot)", page]
        )
        #expect(shot.status == 0, "\(shot.stderr.suffix(2000))")
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.count > 10_000 && png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // Chromium writes the page's console messages to its log as CONSOLE(…) lines.
        let consoleLines = shot.stderr.split(separator: "\n").filter {
            $0.contains("CONSOLE") || $0.contains("Uncaught")
        }
        #expect(consoleLines.isEmpty, "\(consoleLines)")

        let dom = try await ChildProcess.run(chromium, browser + ["--dump-dom", page]).stdout
        let table = Self.table(output.stdout)
        let columns = ["events", "records", "succeeded", "failed", "skipped", "replays", "whole failures"]
        for (source, cells) in table {
            for (column, value) in zip(columns, cells) {
                let cell = "data-source=\"\(source)\" data-column=\"\(column)\">\(value)</td>"
                #expect(dom.contains(cell), "\(source) \(column) = \(value) is not in the rendered page")
            }
        }
        #expect(dom.contains("data-error-type=\"BatchProcessing.InjectedFault\">1</td>"))
        #expect(dom.contains("&lt;b&gt;bold&lt;/b&gt;") && !dom.contains("<b>bold</b>"))
        #expect(dom.contains("<svg id=\"outcomes\"") && dom.contains("<svg id=\"durations\""))
    }
}
