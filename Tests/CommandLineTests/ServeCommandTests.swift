import BatchProcessingTestProcessSupport
import BatchProcessingTesting
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `batchproc serve` as a host worker runs it: a real process, events on a pipe, signals.
@Suite("batchproc serve")
struct ServeCommandTests {
    /// An SQS event whose records have these message ids.
    static func event(_ ids: [String]) -> String {
        let records = ids.map { #"{"messageId":"\#($0)","eventSource":"aws:sqs"}"# }
        return #"{"Records":["# + records.joined(separator: ",") + "]}"
    }

    @Test("100 events on standard input: 100 answers, in order, each the response to its event")
    func answersInOrder() async throws {
        let events = (0..<100).map { Self.event(["e\($0)-a", "e\($0)-b"]) }
        let failing = stride(from: 0, to: 100, by: 3).flatMap { ["--fail", "e\($0)-b"] }
        let output = try await Batchproc.run(
            ["serve", "--concurrency", "2", "--log-level", "error"] + failing,
            stdin: events.joined(separator: "\n") + "\n"
        )
        #expect(output.status == 0, "\(output.stderr.prefix(2000))")
        let answers = output.stdoutLines
        try #require(answers.count == 100)
        for (index, answer) in answers.enumerated() {
            let expected =
                index % 3 == 0
                ? #"{"batchItemFailures":[{"itemIdentifier":"e\#(index)-b"}]}"# : #"{"batchItemFailures":[]}"#
            #expect(answer == expected, "line \(index)")
        }
    }

    @Test("A line that is not an event gets Lambda's error shape, and the worker goes on")
    func badLinesDoNotStopTheWorker() async throws {
        let lines = [
            Self.event(["a"]), "{not json", "", #"{"Records":[{"eventSource":"aws:sqs"}]}"#, Self.event(["b"]),
        ]
        // The last line has no line break: it is still an event.
        let output = try await Batchproc.run(["serve", "--log-level", "error"], stdin: lines.joined(separator: "\n"))
        #expect(output.status == 0)
        let answers = output.stdoutLines
        try #require(answers.count == 5, "\(answers)")
        #expect(answers[0] == #"{"batchItemFailures":[]}"#)
        for index in 1...3 {
            let shape = try ChildProcess.jsonObject(answers[index])
            #expect(shape["errorType"] as? String == "BatchProcessingError.malformedEvent", "\(answers[index])")
            #expect((shape["errorMessage"] as? String)?.isEmpty == false)
        }
        #expect((try ChildProcess.jsonObject(answers[3])["errorMessage"] as? String)?.contains("messageId") == true)
        #expect(answers[4] == #"{"batchItemFailures":[]}"#)
    }

    /// A running `batchproc serve` whose standard input stays open until the test closes it. Its standard output
    /// goes to a file, read once it has exited: reading a pipe to its end could block a thread of the concurrency
    /// pool for as long as any other child process of the tests holds a copy of the pipe.
    final class Worker: Sendable {
        let process: Process
        let input: Pipe
        let output: URL
        let errors: URL
        let ended = AsyncStream<Int32>.makeStream()

        init(_ arguments: [String]) throws {
            process = Process()
            process.executableURL = Batchproc.executable
            process.arguments = ["serve"] + arguments
            process.environment = Batchproc.childEnvironment([:])
            input = Pipe()
            output = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).out")
            errors = output.appendingPathExtension("err")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            process.standardInput = input
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = try FileHandle(forWritingTo: errors)
            let continuation = ended.continuation
            process.terminationHandler = { continuation.yield($0.terminationStatus) }
            try process.run()
        }

        func send(_ line: String) throws {
            try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
        }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        /// The exit status, or nil when the process is still running after `limit` (it is then killed).
        func exitStatus(within limit: Duration) async -> Int32? {
            let timer = Task {
                try await Task.sleep(for: limit)
                self.signal(SIGKILL)
            }
            for await status in ended.stream {
                timer.cancel()
                return process.terminationReason == .uncaughtSignal ? nil : status
            }
            return nil
        }

        /// The lines the worker logged on standard error (call it after it exited).
        func logLines() throws -> [String] {
            defer { try? FileManager.default.removeItem(at: errors) }
            return String(decoding: try Data(contentsOf: errors), as: UTF8.self).split(separator: "\n").map(String.init)
        }

        /// The lines the worker wrote (call it after it exited).
        func answers() throws -> [String] {
            defer { try? FileManager.default.removeItem(at: output) }
            return String(decoding: try Data(contentsOf: output), as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }

    @Test("SIGTERM mid-batch: running records finish, the rest are reported in the answer, exit 0")
    func sigtermFinishesTheBatch() async throws {
        let folder = IdempotencyProcessTests.Folder()
        let effects = folder.path + "/effects"
        // Twenty seconds of records in all: enough that the worker cannot finish them before the signal, even when
        // the whole suite slows this test down for a while.
        let ids = (0..<20).map { "r\($0)" }
        let worker = try Worker(["--record-delay-ms", "1000", "--effect-log", effects, "--log-level", "error"])
        try worker.send(Self.event(ids))
        // Wait until a record runs, then ask the worker to stop; its standard input stays open.
        try await Self.waitForEffect(effects)
        worker.signal(SIGTERM)
        let status = await worker.exitStatus(within: .seconds(30))
        #expect(status == 0)
        let answers = try worker.answers()
        try #require(answers.count == 1, "\(answers)")
        let reported = try #require(
            try ChildProcess.jsonObject(answers[0])["batchItemFailures"] as? [[String: Any]]
        ).compactMap { $0["itemIdentifier"] as? String }
        let ran = try String(contentsOfFile: effects, encoding: .utf8).split(separator: "\n").map(String.init)
        // Every record either ran (and finished: it is not reported) or was not started (and is reported).
        #expect(!ran.isEmpty && ran.count < 20, "ran \(ran)")
        #expect(Set(ran).isDisjoint(with: reported))
        #expect(Set(ran).union(reported) == Set(ids))
        #expect(reported == ids.filter { !ran.contains($0) })
    }

    /// Waits until the effect log at `path` holds a line (a record ran), for up to twenty seconds; fails after.
    static func waitForEffect(_ path: String) async throws {
        try await waitUntil("a record's effect in \(path)", checkingEvery: .milliseconds(20)) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
            return !text.isEmpty
        }
    }

    @Test("SIGTERM while waiting for input: exit 0 at once, nothing more written")
    func sigtermWhileIdle() async throws {
        let folder = IdempotencyProcessTests.Folder()
        let effects = folder.path + "/effects"
        let worker = try Worker(["--effect-log", effects, "--log-level", "error"])
        try worker.send(Self.event(["a"]))
        // Once a record has run, the worker is up (its signal handlers too) and waits for the next line.
        try await Self.waitForEffect(effects)
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        worker.signal(SIGTERM)
        let status = await worker.exitStatus(within: .seconds(30))
        #expect(status == 0)
        // Far below the 30 s kill; roomy, because the whole suite can hold this test up for seconds.
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(try worker.answers() == [#"{"batchItemFailures":[]}"#])
    }

    @Test("Under systemd (JOURNAL_STREAM naming a real journald stream): its logs are found with journalctl")
    func logsToTheJournal() async throws {
        let systemdCat = try #require(ChildProcess.which("systemd-cat"), "systemd-cat (systemd) is not installed")
        let journalctl = try #require(ChildProcess.which("journalctl"))
        let id = "serve-journal-\(UUID().uuidString.prefix(8).lowercased())"
        // systemd-cat connects the worker's standard output and error to journald's stream socket; the worker then
        // finds JOURNAL_STREAM equal to its standard error, as under a systemd service, and logs natively.
        let script = #"JOURNAL_STREAM="$(stat -L -c '%d:%i' /proc/self/fd/2)" exec "$BATCHPROC" serve --fail "$ID""#
        let output = try await ChildProcess.run(
            systemdCat,
            ["--identifier", id, "sh", "-c", script],
            stdin: Array((Self.event([id, id + "-ok"]) + "\n").utf8),
            environment: Batchproc.childEnvironment(["BATCHPROC": Batchproc.executable.path, "ID": id])
        )
        #expect(output.status == 0, "\(output.stderr)")
        // The failed record's line, a native journal entry with the record's metadata as fields.
        var entries: [[String: Any]] = []
        for _ in 0..<50 where entries.isEmpty {
            let found = try await ChildProcess.run(
                journalctl,
                ["-o", "json", "-a", "--no-pager", "ITEM_IDENTIFIER=\(id)"],
                stdin: nil,
                environment: [:]
            )
            entries = found.stdoutLines.compactMap { try? ChildProcess.jsonObject($0) }
            if entries.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        let failure = try #require(entries.first { $0["MESSAGE"] as? String == "record failed" }, "\(entries)")
        #expect(failure["PRIORITY"] as? String == "3")
        #expect(failure["EVENT_SOURCE"] as? String == "aws:sqs")
    }

    // MARK: - Spool directory

    /// Drops `event` into the spool's `incoming/` as a host would: written under a hidden name, then renamed in.
    static func drop(_ event: String, named name: String, into spool: String) throws {
        let hidden = spool + "/." + name + ".tmp"
        try Data(event.utf8).write(to: URL(fileURLWithPath: hidden))
        try FileManager.default.moveItem(atPath: hidden, toPath: spool + "/incoming/" + name)
    }

    /// The files of a spool folder.
    static func files(_ spool: String, _ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + folder)) ?? []).sorted()
    }

    @Test("--spool: events dropped into incoming/ are answered into done/ or failed/; SIGTERM exits 0")
    func spool() async throws {
        let folder = IdempotencyProcessTests.Folder()
        let spool = folder.path + "/spool"
        // Left by a worker that stopped abruptly (its folder's lock is free): taken up again.
        let abandoned = spool + "/processing/host-1-2"
        try FileManager.default.createDirectory(atPath: abandoned, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: abandoned + ".lock"))
        try Data(Self.event(["left-1"]).utf8).write(to: URL(fileURLWithPath: abandoned + "/0-left.json"))
        let worker = try Worker(["--spool", spool, "--spool-poll-ms", "20", "--fail", "b-2", "--log-level", "error"])
        try Self.drop(Self.event(["a-1", "a-2"]), named: "1-a.json", into: spool)
        try Self.drop(Self.event(["b-1", "b-2"]), named: "2-b.json", into: spool)
        try Self.drop("{not an event", named: "3-c.json", into: spool)
        try await waitUntil("eight files in done/ and failed/", checkingEvery: .milliseconds(20)) {
            Self.files(spool, "done").count + Self.files(spool, "failed").count >= 8
        }
        worker.signal(SIGTERM)
        #expect(await worker.exitStatus(within: .seconds(30)) == 0)
        #expect(
            Self.files(spool, "done") == [
                "0-left.json", "0-left.json.response.json", "1-a.json", "1-a.json.response.json", "2-b.json",
                "2-b.json.response.json",
            ]
        )
        #expect(Self.files(spool, "failed") == ["3-c.json", "3-c.json.response.json"])
        #expect(Self.files(spool, "incoming").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: abandoned), "the abandoned folder was taken up")
        func answer(_ path: String) throws -> String {
            try String(contentsOfFile: spool + "/" + path, encoding: .utf8)
        }
        #expect(try answer("done/0-left.json.response.json") == #"{"batchItemFailures":[]}"# + "\n")
        #expect(
            try answer("done/2-b.json.response.json") == #"{"batchItemFailures":[{"itemIdentifier":"b-2"}]}"# + "\n"
        )
        #expect(try answer("failed/3-c.json.response.json").contains("BatchProcessingError.malformedEvent"))
        // The log lines about an event name its file.
        let logs = try worker.logLines()
        let failed = logs.filter { $0.contains("record failed") }
        #expect(failed.count == 1 && failed.allSatisfy { $0.contains(#""event_file":"2-b.json""#) }, "\(logs)")
        let malformed = logs.filter { $0.contains("malformed") || $0.contains("3-c.json") }
        #expect(malformed.contains { $0.contains(#""event_file":"3-c.json""#) }, "\(logs)")
        // The worker read no standard input: its stdout stays empty.
        #expect(try worker.answers().isEmpty)
    }

    @Test("An event named like another's answer never overwrites it: it is kept with .event added")
    func spoolAnswerNames() async throws {
        let folder = IdempotencyProcessTests.Folder()
        let spool = folder.path + "/spool"
        let worker = try Worker(["--spool", spool, "--spool-poll-ms", "20", "--fail", "a-2", "--log-level", "error"])
        try await waitUntil("the spool's folders") { FileManager.default.fileExists(atPath: spool + "/incoming") }
        try Self.drop(Self.event(["a-1", "a-2"]), named: "a.json", into: spool)
        try await waitUntil("the answer of a.json") { Self.files(spool, "done").count >= 2 }
        // An event whose name is a.json's answer, then one named like an error note.
        try Self.drop(Self.event(["b-1"]), named: "a.json.response.json", into: spool)
        try Self.drop(Self.event(["c-1"]), named: "c.error.txt", into: spool)
        try await waitUntil("six files in done/") { Self.files(spool, "done").count >= 6 }
        worker.signal(SIGTERM)
        #expect(await worker.exitStatus(within: .seconds(30)) == 0)
        #expect(
            Self.files(spool, "done") == [
                "a.json", "a.json.response.json", "a.json.response.json.event",
                "a.json.response.json.event.response.json", "c.error.txt.event", "c.error.txt.event.response.json",
            ]
        )
        let first = try String(contentsOfFile: spool + "/done/a.json.response.json", encoding: .utf8)
        #expect(first == #"{"batchItemFailures":[{"itemIdentifier":"a-2"}]}"# + "\n", "a.json's answer kept")
        let second = try String(contentsOfFile: spool + "/done/a.json.response.json.event", encoding: .utf8)
        #expect(second.contains("b-1"), "the second event kept whole")
    }

    @Test("Two workers on one spool: every event is taken once")
    func sharedSpool() async throws {
        let folder = IdempotencyProcessTests.Folder()
        let spool = folder.path + "/spool"
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        let workers = try (0..<2).map { index in
            try Worker(["--spool", spool, "--spool-poll-ms", "5", "--effect-log", folder.path + "/effects-\(index)"])
        }
        // A worker's lock file in processing/ says it is set up, SIGTERM handling included.
        try await waitUntil("both workers' lock files in processing/", checkingEvery: .milliseconds(20)) {
            Self.files(spool, "processing").filter { $0.hasSuffix(".lock") }.count == 2
        }
        let count = 40
        for index in 0..<count {
            try Self.drop(Self.event(["e\(index)"]), named: String(format: "%03d.json", index), into: spool)
        }
        try await waitUntil("\(2 * count) files in done/", checkingEvery: .milliseconds(20)) {
            Self.files(spool, "done").count >= 2 * count
        }
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { #expect(await worker.exitStatus(within: .seconds(30)) == 0) }
        let ran = (0..<2).flatMap { index in
            ((try? String(contentsOfFile: folder.path + "/effects-\(index)", encoding: .utf8)) ?? "")
                .split(separator: "\n").map(String.init)
        }
        #expect(ran.count == count, "\(ran.count) runs")
        #expect(Set(ran) == Set((0..<count).map { "e\($0)" }))
        #expect(Self.files(spool, "done").count == 2 * count)
    }
}
