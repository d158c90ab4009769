package import BatchProcessing

/// What a replay of many events did: per event and per source, the records and their outcomes, the durations, the
/// failures by error type and the slowest records. `batchproc replay` prints ``table()`` and writes
/// ``ReplayReport/html(_:title:)``.
package struct ReplaySummary: Sendable {
    /// One event's run.
    package struct EventRun: Sendable {
        /// The event's file (or any name the caller gives).
        package var name: String
        /// The event's source, when it could be told.
        package var source: BatchEventSource?
        package var records: Int
        package var succeeded: Int
        package var failed: Int
        package var skipped: Int
        /// Records answered by the idempotency middleware without running the handler.
        package var replays: Int
        /// How long the batch took.
        package var duration: Duration
        /// Lambda's error type when the invocation failed as a whole (`BatchProcessingError.malformedEvent`…).
        package var wholeFailure: String?
    }

    /// One record that ran, for the slowest-records table.
    package struct RecordTiming: Sendable {
        package var event: String
        package var index: Int
        package var itemIdentifier: String
        package var outcome: String
        package var duration: Duration
    }

    /// One row of the summary table: a source, or the total.
    package struct Row: Sendable, Equatable {
        package var source: String
        package var events = 0
        package var records = 0
        package var succeeded = 0
        package var failed = 0
        package var skipped = 0
        package var replays = 0
        package var wholeFailures = 0
        package var duration = Duration.zero
    }

    /// Every event, in the order replayed.
    package private(set) var events: [EventRun] = []
    /// The duration of every record that ran.
    package private(set) var recordDurations: [Duration] = []
    /// Failed records by the type of their error.
    package private(set) var failuresByType: [String: Int] = [:]
    /// The slowest records, slowest first (at most ``slowestKept``).
    package private(set) var slowest: [RecordTiming] = []
    /// How many slowest records are kept.
    package static let slowestKept = 10

    /// An empty summary.
    package init() {}

    /// Adds one event's answer: its result (also of a whole failure that has one) and its whole failure, if any.
    /// A succeeded record whose `RecordOutcome.replay` is set counts as a replay.
    package mutating func add(name: String, answer: InvocationAnswer, duration: Duration) {
        let result = answer.result
        let failure = answer.failure
        var run = EventRun(
            name: name,
            source: result?.eventSource ?? failure?.eventSource,
            records: result?.outcomes.count ?? 0,
            succeeded: 0,
            failed: 0,
            skipped: 0,
            replays: 0,
            duration: duration,
            wholeFailure: failure?.errorType
        )
        for outcome in result?.outcomes ?? [] {
            switch outcome.status {
            case .succeeded:
                run.succeeded += 1
                if outcome.replay != nil { run.replays += 1 }
            case .failed(let error):
                run.failed += 1
                failuresByType[String(reflecting: type(of: error)), default: 0] += 1
            case .skipped:
                run.skipped += 1
            }
            if let recordDuration = outcome.duration {
                recordDurations.append(recordDuration)
                note(
                    RecordTiming(
                        event: name,
                        index: outcome.index,
                        itemIdentifier: outcome.itemIdentifier.description,
                        outcome: outcome.succeeded ? "succeeded" : outcome.error != nil ? "failed" : "skipped",
                        duration: recordDuration
                    )
                )
            }
        }
        events.append(run)
    }

    private mutating func note(_ timing: RecordTiming) {
        guard slowest.count < Self.slowestKept || timing.duration > (slowest.last?.duration ?? .zero) else { return }
        let position = slowest.firstIndex { $0.duration < timing.duration } ?? slowest.endIndex
        slowest.insert(timing, at: position)
        if slowest.count > Self.slowestKept { slowest.removeLast() }
    }

    /// One row per source (in the order first seen; events whose source could not be told under `unknown`), then
    /// the total.
    package var rows: [Row] {
        var order: [String] = []
        var bySource: [String: Row] = [:]
        var total = Row(source: "total")
        for event in events {
            let source = event.source?.rawValue ?? "unknown"
            if bySource[source] == nil { order.append(source) }
            bySource[source, default: Row(source: source)].add(event)
            total.add(event)
        }
        return order.compactMap { bySource[$0] } + [total]
    }

    /// The columns of ``table()`` and the report's summary, in order.
    package static let columns = [
        "source", "events", "records", "succeeded", "failed", "skipped", "replays", "whole failures", "time",
    ]

    /// The summary as a plain-text table, one row per source and the total.
    package func table() -> String {
        let cells = rows.map { row in
            [
                row.source, "\(row.events)", "\(row.records)", "\(row.succeeded)", "\(row.failed)", "\(row.skipped)",
                "\(row.replays)", "\(row.wholeFailures)", Self.milliseconds(row.duration),
            ]
        }
        let all = [Self.columns] + cells
        let widths = Self.columns.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { line in
            line.enumerated().map { column, text in
                let padding = String(repeating: " ", count: widths[column] - text.count)
                return column == 0 ? text + padding : padding + text
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// `12.345 ms`.
    static func milliseconds(_ duration: Duration) -> String {
        "\((ReplayReport.milliseconds(duration) * 1000).rounded() / 1000) ms"
    }
}

extension ReplaySummary.Row {
    fileprivate mutating func add(_ event: ReplaySummary.EventRun) {
        events += 1
        records += event.records
        succeeded += event.succeeded
        failed += event.failed
        skipped += event.skipped
        replays += event.replays
        wholeFailures += event.wholeFailure == nil ? 0 : 1
        duration += event.duration
    }
}
