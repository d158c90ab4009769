package import ArgumentParser
package import BatchProcessing
package import JSONLogging
package import Logging

/// The options every runner command that processes batches takes (`invoke`, `replay`, `serve` and `lambda` of a
/// ``BatchProgram``, and `batchproc`'s commands): the event source, the policy and concurrency, the chain file, and
/// the logs. Each is parsed once, by ArgumentParser, into its type; ``RunnerSettings`` then puts them over the
/// variables, the chain file and the program's defaults.
package struct RunnerOptions: ParsableArguments, Sendable {
    /// The variable that names the chain file when `--config` is not given (for a Lambda function, whose
    /// arguments cannot be set).
    package static let configVariable = "BATCH_PROCESSING_CONFIG"

    @Option(help: "The event source; auto reads it from each event's eventSource.")
    package var source: SourceChoice = .auto

    @Option(
        help:
            "The failure policy; auto: stop-on-first-failure for a FIFO queue, skip-key for Kafka, continue otherwise."
    )
    package var policy: PolicyChoice?

    @Option(parsing: .unconditional, help: "How many records may run at once (at least 1).")
    package var concurrency: Int?

    @Flag(help: "Answer with a response listing every record instead of failing when all records fail.")
    package var noThrowOnFullBatchFailure = false

    @Option(help: "Log level, in any case.")
    package var logLevel: LogLevelChoice = LogLevelChoice(.info)

    @Option(help: "Log format on standard error.")
    package var logFormat: LogFormatChoice = LogFormatChoice(.json)

    @Flag(help: "Add each failed record's payload to its log line.")
    package var logPayloads = false

    @Option(
        help: ArgumentHelp(
            "The processor and its middleware chain, from a JSON or YAML file (see the README); flags for the policy, concurrency and throwing still win. Default: the file BATCH_PROCESSING_CONFIG names, if set.",
            valueName: "file"
        )
    )
    package var config: String?

    package init() {}

    package func validate() throws {
        if let concurrency, concurrency < 1 {
            throw ValidationError("--concurrency must be a whole number of at least 1, not '\(concurrency)'")
        }
    }
}

/// `--source`: a source, or `auto` to read it from each event.
package enum SourceChoice: ExpressibleByArgument, Sendable, Equatable {
    case auto
    case source(BatchEventSource)

    /// The source events are read as, or `nil` to detect it.
    package var source: BatchEventSource? {
        if case .source(let source) = self { source } else { nil }
    }

    package init?(argument: String) {
        if argument.lowercased() == "auto" {
            self = .auto
        } else if let source = BatchEventSource(name: argument) {
            self = .source(source)
        } else {
            return nil
        }
    }

    package static var allValueStrings: [String] { ["auto"] + BatchEventSource.all.map(\.name) }
    package var defaultValueDescription: String { source?.name ?? "auto" }
}

/// `--log-level`: a swift-log level, named in any case (`warn` and `fatal` too).
package struct LogLevelChoice: ExpressibleByArgument, Sendable, Equatable {
    package var level: Logger.Level

    package init(_ level: Logger.Level) {
        self.level = level
    }

    package init?(argument: String) {
        guard let level = JSONLogHandler.Configuration.parseLevel(argument) else { return nil }
        self.level = level
    }

    package static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }
    package var defaultValueDescription: String { level.rawValue }
}

/// `--policy`: a failure policy by its name.
package struct PolicyChoice: ExpressibleByArgument, Sendable, Equatable {
    package var policy: FailurePolicy

    package init?(argument: String) {
        guard let policy = FailurePolicy(name: argument) else { return nil }
        self.policy = policy
    }

    package static var allValueStrings: [String] { FailurePolicy.all.map(\.name) }
    package var defaultValueDescription: String { policy.name }
}

/// `--log-format`: `json` or `text`, in any case.
package struct LogFormatChoice: ExpressibleByArgument, Sendable, Equatable {
    package var format: JSONLogHandler.Configuration.Format

    package init(_ format: JSONLogHandler.Configuration.Format) {
        self.format = format
    }

    package init?(argument: String) {
        guard let format = JSONLogHandler.Configuration.Format(rawValue: argument.lowercased()) else { return nil }
        self.format = format
    }

    package static var allValueStrings: [String] { ["json", "text"] }
    package var defaultValueDescription: String { format.rawValue }
}

/// The arguments of a `replay` command: the event files and directories, and the report.
package struct ReplayOptions: ParsableArguments, Sendable {
    /// The help text of a `replay` command.
    package static let discussion = """
        Each argument is an event file or a directory, whose *.json files are replayed in name order. Every event \
        runs through the same processor, one after another, so an idempotency store sees them in order. On a \
        terminal a progress line is shown on standard error. At the end the summary table (per event source and in \
        total: events, records, succeeded, failed, skipped, replays, whole failures, time) is printed on standard \
        output, and with --report a self-contained HTML page (no network) is written with the same figures, the \
        outcomes per source, a histogram of record durations, the failures by error type and the slowest records.

        Exits 0 when every event was answered with a partial batch response (partial failures included), 1 when \
        an event failed as a whole (not valid, or every record failed), 2 on a usage error (an unreadable file or \
        directory).
        """

    @Argument(help: "Event files, or directories of *.json event files.")
    package var paths: [String]

    @Option(help: "Write the HTML report to this file.")
    package var report: String?

    package init() {}
}

/// The options of a `serve` command: the spool directory, if any, and how often to look into it.
package struct ServeOptions: ParsableArguments, Sendable {
    /// The help text of a `serve` command.
    package static let discussion = """
        For each line of standard input, writes exactly one line on standard output, in order: the partial batch \
        response, or Lambda's error shape {"errorType":…,"errorMessage":…} for a line that is not a valid event \
        (or whose batch failed as a whole); the worker goes on either way. It exits 0 at the end of the input, and \
        on SIGTERM or SIGINT: the records running finish, the records of the batch in flight that had not started \
        are reported in its answer (so Lambda, or whoever feeds the worker, delivers them again), and no further \
        line is read. When an answer cannot be written it exits 74.

        With --spool DIR the events are files instead: dropped into DIR/incoming (written elsewhere and renamed \
        in), taken one at a time by an atomic rename into DIR/processing, and moved with their answer \
        (NAME.response.json) to DIR/done, or to DIR/failed when the event was not valid or its batch failed as a \
        whole. Standard input is not read then, and the worker runs until SIGTERM.

        The options apply to every batch. Logs and EMF metrics go to standard error, or to the journal when run \
        as a systemd service (for programs that link it).
        """

    @Option(help: "Take the events from this spool directory instead of standard input.")
    package var spool: String?

    @Option(parsing: .unconditional, help: "How often to look into an empty spool, in milliseconds (at least 1).")
    package var spoolPollMs: Int = 200

    package init() {}

    /// `--spool-poll-ms` as a duration.
    package var pollInterval: Duration { .milliseconds(spoolPollMs) }

    package func validate() throws {
        guard spoolPollMs >= 1 else {
            throw ValidationError(
                "--spool-poll-ms must be a whole number of milliseconds, at least 1, not '\(spoolPollMs)'"
            )
        }
    }
}
