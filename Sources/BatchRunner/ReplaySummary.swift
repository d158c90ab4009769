public import BatchProcessing

/// What a replay of many events did: per event and per source, the records and their outcomes, the durations, the
/// failures by error type and the slowest records. `batchproc replay` prints ``table()`` and writes
/// ``ReplayReport/html(_:title:)``.
public struct ReplaySummary: Sendable {
    /// One event's run.
    public struct EventRun: Sendable {
        /// The event's file (or any name the caller gives).
        public var name: String
        /// The event's source, when it could be told.
        public var source: BatchEventSource?
        public var records: Int
        public var succeeded: Int
        public var failed: Int
        public var skipped: Int
        /// Records answered by the idempotency middleware without running the handler.
        public var replays: Int
        /// How long the batch took.
        public var duration: Duration
        /// Lambda's error type when the invocation failed as a whole (`BatchProcessingError.malformedEvent`…).
        public var wholeFailure: String?
    }

    /// One record that ran, for the slowest-records table.
    public struct RecordTiming: Sendable {
        public var event: String
        public var index: Int
        public var itemIdentifier: String
        public var outcome: String
        public var duration: Duration
    }

    /// One row of the summary table: a source, or the total.
    public struct Row: Sendable, Equatable {
        public var source: String
        public var events = 0
        public var records = 0
        public var succeeded = 0
        public var failed = 0
        public var skipped = 0
        public var replays = 0
        public var wholeFailures = 0
        public var duration = Duration.zero
    }

    /// Every event, in the order replayed.
    public private(set) var events: [EventRun] = []
    /// The duration of every record that ran.
    public private(set) var recordDurations: [Duration] = []
    /// Failed records by the type of their error.
    public private(set) var failuresByType: [String: Int] = [:]
    /// The slowest records, slowest first (at most ``slowestKept``).
    public private(set) var slowest: [RecordTiming] = []
    /// How many slowest records are kept.
    public static let slowestKept = 10

    /// An empty summary.
    public init() {}

    /// Adds one event: its result, or the whole-batch failure (which carries the result when there was one). A
    /// succeeded record whose `RecordOutcome.replay` is set counts as a replay.
    public mutating func add(
        name: String,
        result: BatchResult?,
        failure: BatchProcessingError?,
        duration: Duration
    ) {
        let result = result ?? failure?.result
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
    public var rows: [Row] {
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
    public static let columns = [
        "source", "events", "records", "succeeded", "failed", "skipped", "replays", "whole failures", "time",
    ]

    /// The summary as a plain-text table, one row per source and the total.
    public func table() -> String {
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
