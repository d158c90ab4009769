import ArgumentParser
import BatchProcessing
import BatchRunner
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif

/// `batchproc replay`: many events through one processor, with a summary table and an HTML report.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run many event files through the processor; print a summary table, optionally an HTML report.",
        discussion: """
            Each argument is an event file or a directory, whose *.json files are replayed in name order. Every \
            event runs through the same processor (the options are those of `batchproc process`), one after \
            another, so an idempotency store sees them in order. On a terminal a progress line is shown on \
            standard error. At the end the summary table (per event source and in total: events, records, \
            succeeded, failed, skipped, replays, whole failures, time) is printed on standard output, and with \
            --report a self-contained HTML page (no network) is written with the same figures, the outcomes per \
            source, a histogram of record durations, the failures by error type and the slowest records.

            Exits 0 when every event was answered with a partial batch response (partial failures included), 1 \
            when an event failed as a whole (not valid, or every record failed), 2 on a usage error (an unreadable \
            file or directory).
            """
    )

    @Argument(help: "Event files, or directories of *.json event files.")
    var paths: [String]

    @Option(help: "Write the HTML report to this file.")
    var report: String?

    @OptionGroup
    var options: ProcessingOptions

    /// The event files the arguments name, directories expanded to their `*.json` files in name order.
    static func eventFiles(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw UsageError(message: "\(path) does not exist")
            }
            if isDirectory.boolValue {
                let names: [String]
                do {
                    names = try FileManager.default.contentsOfDirectory(atPath: path)
                } catch {
                    throw UsageError(message: "cannot read the directory \(path): \(error.localizedDescription)")
                }
                files += names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        guard !files.isEmpty else { throw UsageError(message: "no event file in \(paths.joined(separator: ", "))") }
        return files
    }

    func run() async throws {
        let files = try Self.eventFiles(paths)
        let (settings, logger, stores, processor, handler) = try options.prepare()
        // Which records of the current batch reached the handler: a succeeded record that did not was a replay.
        let ran = Mutex<Set<Int>>([])
        let noting: RecordHandler<AnyBatchRecord> = { record, context in
            ran.withLock { _ = $0.insert(context.index) }
            try await handler(record, context)
        }
        let progress = isatty(2) == 1
        var summary = ReplaySummary()
        let clock = ContinuousClock()
        for (number, file) in files.enumerated() {
            if progress { Self.showProgress(number, of: files.count, file: file) }
            let event = try EventInput.read(file)
            ran.withLock { $0 = [] }
            let start = clock.now
            var result: BatchResult?
            var failure: BatchProcessingError?
            do {
                result = try await processor.process(
                    eventJSON: event,
                    source: settings.source,
                    context: InvocationContext(requestID: "replay-\(number)", logger: logger),
                    handler: noting
                )
            } catch {
                failure = error
            }
            summary.add(
                name: file,
                result: result,
                failure: failure,
                handlerRan: ran.withLock { $0 },
                duration: start.duration(to: clock.now)
            )
        }
        if progress { Self.showProgress(files.count, of: files.count, file: nil) }
        await stores.closeAll()
        if let report {
            let page = ReplayReport.html(summary, title: "Replay of \(files.count) events")
            guard FileManager.default.createFile(atPath: report, contents: Data(page.utf8)) else {
                throw UsageError(message: "cannot write the report to \(report)")
            }
        }
        guard StandardStreams.output(String(summary.table().dropLast())) else {
            StandardStreams.error("batchproc: error: cannot write the summary to standard output")
            throw ExitCode(ExitStatus.outputFailed)
        }
        if summary.events.contains(where: { $0.wholeFailure != nil }) { throw ExitCode(ExitStatus.invocationFailed) }
    }

    /// `replaying 3/40 events (name)` over the previous line of a terminal; a line break after the last.
    static func showProgress(_ done: Int, of total: Int, file: String?) {
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var line = "\r\u{1B}[K[\(bar)] \(done)/\(total) events"
        if let file { line += " " + (file.split(separator: "/").last.map(String.init) ?? file) }
        if done == total { line += "\n" }
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
