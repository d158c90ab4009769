import CoreMetrics
import Logging

extension BatchProcessor {
    /// Logs one line per failed record and a summary, and counts the batch.
    func report<Record: BatchRecord>(_ result: BatchResult, records: [Record], duration: Duration, logger: Logger) {
        for outcome in result.outcomes {
            switch outcome.status {
            case .failed(let error):
                var metadata: Logger.Metadata = [
                    "record_index": .stringConvertible(outcome.index),
                    "item_identifier": .string(outcome.itemIdentifier.description),
                    "event_source": .string(result.eventSource?.rawValue ?? "unknown"),
                    "attempt": .stringConvertible(outcome.attempts),
                    "policy": .string(result.policy.name),
                    "error_type": .string(String(reflecting: type(of: error))),
                ]
                for (key, value) in records[outcome.index].recordLogMetadata { metadata[key] = .string(value) }
                if configuration.instrumentation.logsRecordPayloads,
                    let payload = records[outcome.index].payloadDescription
                {
                    metadata["payload"] = .string(configuration.instrumentation.loggedPayload(payload))
                }
                logger.error("record failed", error: error, metadata: metadata)
            case .skipped(let reason):
                logger.debug(
                    "record skipped",
                    metadata: [
                        "record_index": .stringConvertible(outcome.index),
                        "item_identifier": .string(outcome.itemIdentifier.description),
                        "reason": .string(reason.description),
                    ]
                )
            case .succeeded:
                break
            }
        }

        let retries = result.outcomes.reduce(0) { $0 + max($1.attempts - 1, 0) }
        let replays = result.replayedCount
        let reported = result.response.batchItemFailures.count
        var summary: Logger.Metadata = [
            "event_source": .string(result.eventSource?.rawValue ?? "none"),
            "policy": .string(result.policy.name),
            "records": .stringConvertible(result.outcomes.count),
            "succeeded": .stringConvertible(result.succeededCount),
            "failed": .stringConvertible(result.failedCount),
            "skipped": .stringConvertible(result.skippedCount),
            "reported": .stringConvertible(reported),
            "retries": .stringConvertible(retries),
            "duration_ms": .stringConvertible(Self.milliseconds(duration)),
        ]
        if replays > 0 { summary["replayed"] = .stringConvertible(replays) }
        if reported > 0 {
            logger.warning("batch processed with failures", metadata: summary)
        } else {
            logger.info("batch processed", metadata: summary)
        }

        guard let source = result.eventSource else { return }
        let instruments = self.instruments.forSource(source)
        instruments.received.increment(by: result.outcomes.count)
        instruments.succeeded.increment(by: result.succeededCount)
        instruments.failed.increment(by: result.failedCount)
        instruments.skipped.increment(by: result.skippedCount)
        instruments.reported.increment(by: reported)
        instruments.retries.increment(by: retries)
        // Only batches with a replay write the metric, so that a chain without idempotency adds nothing to its EMF.
        if replays > 0 { instruments.replayed.increment(by: replays) }
        for outcome in result.outcomes {
            if let duration = outcome.duration { instruments.recordDuration.recordInterval(duration) }
        }
        instruments.batchDuration.recordInterval(duration)
    }

    /// Logs and counts an invocation that fails as a whole.
    func reportFailure(_ error: BatchProcessingError, source: BatchEventSource?, logger: Logger) {
        logger.error(
            "batch failed as a whole",
            metadata: [
                "error_type": .string(error.errorType),
                "error": .string(error.message),
                "event_source": .string(source?.rawValue ?? "unknown"),
            ]
        )
        if let source {
            instruments.forSource(source).batchFailures.increment()
        } else {
            instruments.batchFailuresOfUnknownSource.increment()
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return (Double(seconds) * 1e3 + Double(attoseconds) / 1e15).rounded(toPlaces: 3)
    }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}

extension Timer {
    /// Records a `Duration` as nanoseconds.
    fileprivate func recordInterval(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
