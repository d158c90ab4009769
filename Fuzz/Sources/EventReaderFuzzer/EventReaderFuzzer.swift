import BatchProcessing
import FuzzSupport

/// libFuzzer's entry point: every input is an event. Reading it must end in records or a `BatchProcessingError`,
/// never a crash, a hang or a sanitizer report; so must reading every field a handler may ask for.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Mostly detection, as Lambda's events come; now and then a forced source, as `batchproc process --source`.
    let sources: [BatchEventSource?] = [nil, nil, nil, .sqs, .kinesis, .dynamoDB, .kafka]
    let source = sources[size % sources.count]
    if let batch = try? RawBatch(eventJSON: bytes, source: source) {
        for record in batch.records { touch(record) }
    }
    return 0
}

/// Reads what a handler may read, deferred fields included.
private func touch(_ record: AnyBatchRecord) {
    _ = record.itemIdentifier.description
    _ = record.orderingKey
    _ = record.payloadDescription
    switch record {
    case .sqs(let message):
        _ = message.body
        _ = message.receiptHandle
        _ = message.attributes.values
        _ = message.attributes.messageGroupId
        for attribute in message.messageAttributes.values { _ = try? attribute.value }
    case .kinesis(let record):
        _ = try? record.kinesis.data
    case .dynamoDB(let record):
        // Kept in the event's bytes until read: building them must not fail or crash.
        _ = record.dynamodb.newImage?.count
        _ = record.dynamodb.oldImage?.count
        _ = record.orderingKey
        _ = record.payloadDescription
    case .kafka(let record):
        _ = try? record.keyBytes
        _ = try? record.valueBytes
        _ = try? record.headerStrings
    }
}

@_cdecl("EventReaderFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzEventReader)
}
