import ArgumentParser
import BatchProcessing
import BatchRunner
import Foundation
import JSONLogging
import Logging
import Testing

@Suite("Runner settings: flag over variable over chain file over the program's default, each with its origin")
struct RunnerSettingsTests {
    /// A chain file in a folder of its own.
    struct ChainFile {
        let path: String

        init(_ text: String) throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            path = folder.appendingPathComponent("chain.yaml").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
    }

    static let chain = """
        processor: { policy: skip-group, maxConcurrency: 3, deadlineMarginMs: 250 }
        middleware:
          - retry: { maxAttempts: 2 }
        """

    @Test("Each layer wins over the ones below it, and says so")
    func layers() throws {
        let file = try ChainFile(Self.chain)
        var defaults = BatchProcessor.Configuration()
        defaults.policy = .stopOnFirstFailure
        defaults.maxConcurrency = 7
        defaults.throwsOnFullBatchFailure = true
        let settings = try RunnerSettings.resolve(
            try RunnerOptions.parse(["--config", file.path, "--concurrency", "5"]),
            defaults: defaults,
            environment: ["BATCH_PROCESSING_DEADLINE_MARGIN_MS": "900", "BATCH_PROCESSING_MAX_CONCURRENCY": "oops"]
        )
        #expect(settings.processor.policy == .skipGroup)
        #expect(settings.origins[.policy] == .chainFile(path: file.path, key: "processor.policy"))
        #expect(settings.processor.maxConcurrency == 5)
        #expect(settings.origins[.maxConcurrency] == .flag("--concurrency"))
        #expect(settings.processor.deadlineMargin == .milliseconds(900))
        #expect(settings.origins[.deadlineMargin] == .environment("BATCH_PROCESSING_DEADLINE_MARGIN_MS"))
        #expect(settings.processor.throwsOnFullBatchFailure)
        #expect(settings.origins[.throwsOnFullBatchFailure] == .programDefault)
        #expect(settings.chain?.middleware.count == 1)
        #expect(settings.chainFile?.origin == .flag("--config"))
        #expect(settings.described["policy"] == "skip-group (\(file.path): processor.policy)")
        #expect(settings.described["max_concurrency"] == "5 (--concurrency)")
        #expect(settings.described["deadline_margin"] == "900.0 ms (BATCH_PROCESSING_DEADLINE_MARGIN_MS)")
        #expect(settings.described["throw_on_full_batch_failure"] == "true (default)")
        #expect(settings.described["chain_file"] == "\(file.path) (--config)")
    }

    @Test("Without a chain file: the variable names the file, or the variables alone change the defaults")
    func variables() throws {
        let file = try ChainFile(Self.chain)
        let fromVariable = try RunnerSettings.resolve(
            try RunnerOptions.parse([]),
            environment: ["BATCH_PROCESSING_CONFIG": file.path, "BATCH_PROCESSING_POLICY": "continue"]
        )
        #expect(fromVariable.chainFile?.origin == .environment("BATCH_PROCESSING_CONFIG"))
        #expect(fromVariable.processor.policy == .continueOnFailure)
        #expect(fromVariable.origins[.policy] == .environment("BATCH_PROCESSING_POLICY"))
        #expect(fromVariable.processor.maxConcurrency == 3)

        let none = try RunnerSettings.resolve(
            try RunnerOptions.parse(["--source", "Kinesis", "--log-level", "WARN", "--log-format", "Text"]),
            source: .sqs,
            environment: ["BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE": "no"]
        )
        #expect(none.chain == nil && none.chainFile == nil)
        #expect(none.source == .kinesis, "--source wins over the program's source")
        #expect(none.logLevel == .warning && none.logFormat == .text)
        #expect(!none.processor.throwsOnFullBatchFailure)
        #expect(none.origins[.throwsOnFullBatchFailure] == .environment("BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE"))
        #expect(none.origins[.policy] == .programDefault)
        let auto = try RunnerSettings.resolve(try RunnerOptions.parse([]), source: .sqs, environment: [:])
        #expect(auto.source == .sqs, "--source auto keeps the program's source")
    }

    @Test("A bad variable is an error naming it, unless its flag is given; a bad file names the file and the key")
    func errors() throws {
        let bad = #expect(throws: UsageError.self) {
            try RunnerSettings.resolve(
                try RunnerOptions.parse([]),
                environment: ["BATCH_PROCESSING_MAX_CONCURRENCY": "many"]
            )
        }
        #expect(bad?.code == .invalidConfiguration)
        #expect(bad?.message.contains("BATCH_PROCESSING_MAX_CONCURRENCY=many") == true, "\(String(describing: bad))")

        let replaced = try RunnerSettings.resolve(
            try RunnerOptions.parse(["--policy", "skip-key", "--no-throw-on-full-batch-failure"]),
            environment: ["BATCH_PROCESSING_POLICY": "sometimes", "BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE": "??"]
        )
        #expect(replaced.processor.policy == .skipKey)
        #expect(replaced.origins[.throwsOnFullBatchFailure] == .flag("--no-throw-on-full-batch-failure"))

        let file = try ChainFile("processor: { maxConcurrency: 0 }")
        let badFile = #expect(throws: UsageError.self) {
            try RunnerSettings.resolve(try RunnerOptions.parse(["--config", file.path]), environment: [:])
        }
        #expect(
            badFile?.message == "\(file.path): processor.maxConcurrency must be a whole number of at least 1, not 0"
        )
        #expect(throws: (any Error).self) { try RunnerOptions.parse(["--concurrency", "0"]) }
        #expect(throws: (any Error).self) { try RunnerOptions.parse(["--policy", "sometimes"]) }
    }
}

@Suite("One answer per invocation, whichever way the event came")
struct InvocationAnswerTests {
    @Test("A batch that ran answers its partial batch response; a malformed event, Lambda's error shape")
    func answers() async throws {
        let processor = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: true))
        let event = Array(
            #"{"Records":[{"messageId":"a","body":"x","eventSource":"aws:sqs"},{"messageId":"b","body":"y","eventSource":"aws:sqs"}]}"#
                .utf8
        )
        let partial = await processor.answer(eventJSON: event) { record, _ in
            if record.itemIdentifier.description == "b" { throw CancellationError() }
        }
        #expect(!partial.failedAsWhole && partial.failure == nil)
        #expect(partial.text == #"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#)
        #expect(partial.result?.outcomes.count == 2)

        let allFailed = await processor.answer(eventJSON: event) { _, _ in throw CancellationError() }
        #expect(allFailed.failedAsWhole)
        #expect(allFailed.result?.outcomes.count == 2, "a whole failure that ran keeps its result")
        #expect(allFailed.text.hasPrefix(#"{"errorType":"BatchProcessingError."#), "\(allFailed.text)")

        let malformed = await processor.answer(eventJSON: Array("{\"Records\":[".utf8)) { _, _ in }
        #expect(malformed.failure?.code == .malformedEvent)
        #expect(malformed.result == nil)
        let shape = try JSONSerialization.jsonObject(with: Data(malformed.json)) as? [String: String]
        #expect(shape?["errorType"] == "BatchProcessingError.malformedEvent")
        #expect(shape?["errorMessage"]?.isEmpty == false)
    }
}
