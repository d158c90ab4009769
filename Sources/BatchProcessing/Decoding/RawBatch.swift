/// The records of an event given as JSON bytes, read the way the processor's raw API reads them: one pass over the
/// bytes, the source detected from the records' `eventSource` (or the Kafka event's) unless you name it.
///
/// ```swift
/// let batch = try RawBatch(eventJSON: bytes)
/// print(batch.source?.name ?? "empty", batch.records.count)
/// ```
///
/// Use it to look at an event without processing it; ``BatchProcessor/process(eventJSON:source:context:handler:)``
/// reads events the same way.
public struct RawBatch: Sendable {
    /// The records, in the order Lambda delivered them (Kafka: partition by partition, as the event lists them).
    public let records: [AnyBatchRecord]
    /// The source the event names, or the one given; `nil` for an empty batch that names none.
    public let source: BatchEventSource?

    /// Reads an event.
    ///
    /// - Parameters:
    ///   - eventJSON: the event, as JSON bytes.
    ///   - source: the event's source, or `nil` (the default) to detect it.
    /// - Throws: ``BatchProcessingError`` (``BatchProcessingError/Code/malformedEvent``) naming the byte offset, the
    ///   record and the field; ``BatchProcessingError/Code/invalidConfiguration`` for a source the raw API does not
    ///   read.
    public init(eventJSON: [UInt8], source: BatchEventSource? = nil) throws(BatchProcessingError) {
        (records, self.source) = try EventDecoding.decodeRecords(from: eventJSON, source: source)
    }
}
