import BatchProcessingJSONSupport

/// The one place where event JSON becomes models. Everything the processor reads from bytes goes through here: one
/// pass over the bytes with ``JSONScanner`` and the hand-written readers of each source (`SQSEvent+Reading.swift`,
/// `KinesisEvent+Reading.swift`, `DynamoDBEvent+Reading.swift`, `KafkaEvent+Reading.swift`). The source detection
/// rules are in `SourceDetection.swift`, the translation of the reader's errors in `EventDecoding+Errors.swift`.
enum EventDecoding {
    /// Runs `read` over `bytes`, which must hold one JSON value and nothing after it, and turns the reader's errors
    /// into ``BatchProcessingError``s that name the byte offset, the record and the field.
    static func read<T>(
        _ bytes: [UInt8],
        source: BatchEventSource?,
        _ read: (inout JSONScanner) throws(JSONReadError) -> T
    ) throws(BatchProcessingError) -> T {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw .malformedEvent("the event is empty; expected a JSON object with a \"Records\" array")
        }
        let result: Result<T, JSONReadError> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer, source: bytes)
            do throws(JSONReadError) {
                let value = try read(&scanner)
                try scanner.expectEnd()
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw translate(error, source: source)
        }
    }

    /// Decodes the records of an event, detecting the source from the records' `eventSource` (or a Kafka event's)
    /// unless one is forced. An empty batch gives no records, and a source only when the event names one.
    static func decodeRecords(
        from bytes: [UInt8],
        source forcedSource: BatchEventSource?
    ) throws(BatchProcessingError) -> (records: [AnyBatchRecord], source: BatchEventSource?) {
        if let forcedSource, !forcedSource.isReadableRaw {
            throw .invalidConfiguration(
                "the raw API reads \(BatchEventSource.all.map(\.name).joined(separator: ", ")) events, not "
                    + "\(forcedSource.name); decode \(forcedSource.name) records yourself and pass them to process(_:)"
            )
        }
        let body = try readEvent(bytes, source: forcedSource, wrapped: true)
        return try RawEvent(body: body).records(forcedSource: forcedSource)
    }

    /// Reads a whole event, of `source` when given; on failure, says so when the event names another source.
    static func readEvent(
        _ bytes: [UInt8],
        source: BatchEventSource?,
        wrapped: Bool = false
    ) throws(BatchProcessingError) -> RawEvent.Body {
        do throws(BatchProcessingError) {
            return try read(bytes, source: source) { scanner throws(JSONReadError) in
                try RawEvent(reading: &scanner, forcedSource: source, wrapped: wrapped).body
            }
        } catch {
            // With a forced source, a record that says it comes from elsewhere fails on a field its real source
            // does not have: say what it really is. (Only on failure, so the happy path reads the event once.)
            if let source, let mismatch = mismatchedSource(in: bytes, forced: source) {
                throw mismatch.error
            }
            throw error
        }
    }
}

/// An event of a `Records` array (SQS, Kinesis, DynamoDB Streams), read by its public `init(jsonBytes:)`.
protocol RecordsEvent {
    associatedtype Record
    /// The source its events are read as.
    static var source: BatchEventSource { get }
    /// Its records, when `body` is an event of its source.
    static func records(in body: RawEvent.Body) -> [Record]?
}

extension RecordsEvent {
    /// The records of the event in `bytes`, read as this source's.
    static func readRecords(_ bytes: [UInt8]) throws(BatchProcessingError) -> [Record] {
        let body = try EventDecoding.readEvent(bytes, source: source)
        if case .empty = body { return [] }
        guard let records = records(in: body) else {
            throw .malformedEvent("the event has no \"Records\" array", field: "Records")
        }
        return records
    }
}

// MARK: - A whole event, one pass

/// An event as the raw API reads it: SQS, Kinesis or DynamoDB records (a `Records` array), or a Kafka event.
struct RawEvent {
    enum Body {
        case sqs([SQSEvent.Message])
        case kinesis([KinesisEvent.Record])
        case dynamoDB([DynamoDBEvent.Record])
        /// Records of any of the three, already wrapped for the raw API (read so, they are not copied to wrap them).
        case wrapped([AnyBatchRecord], BatchEventSource)
        /// A `Records` array with no records: the source stays unknown unless forced.
        case empty
        case kafka(KafkaEvent)
    }

    var body: Body

    init(body: Body) {
        self.body = body
    }

    /// Checks the root is an object, with a message that says what an event is when it is another JSON value.
    static func beginEvent(_ scanner: inout JSONScanner) throws(JSONReadError) {
        let start = scanner.offset
        if try scanner.peek() != UInt8(ascii: "{") {
            // Valid JSON of another type is a shape error; anything else, the syntax error it is.
            try scanner.skipValue()
            try scanner.expectEnd()
            throw scanner.shapeError(
                "is not a JSON object; it must be one, with a \"Records\" array (SQS, Kinesis, DynamoDB Streams) or a "
                    + "\"records\" object (Kafka)",
                at: start
            )
        }
        try scanner.beginObject()
    }

    static func noRecords(_ scanner: JSONScanner, at position: Int) -> JSONReadError {
        scanner.shapeError(
            "has neither a \"Records\" array (SQS, Kinesis, DynamoDB Streams) nor a \"records\" object (Kafka)",
            at: position
        )
    }

    /// A record's `eventSource`, read ahead without moving the scanner; `nil` when the record has none. Throws
    /// when the record is not an object, or its syntax is wrong before the `eventSource` member.
    static func peekEventSource(_ scanner: inout JSONScanner) throws(JSONReadError) -> String? {
        var ahead = scanner
        try ahead.beginObject()
        var first = true
        while let key = try ahead.nextKey(first: &first) {
            if key.matches("eventSource") {
                return try ahead.optionalString("eventSource")
            }
            try ahead.skipValue()
        }
        return nil
    }

    /// - Parameter wrapped: read SQS, Kinesis and DynamoDB records as ``AnyBatchRecord``s (``Body/wrapped(_:_:)``).
    init(
        reading scanner: inout JSONScanner,
        forcedSource: BatchEventSource?,
        wrapped: Bool = false
    )
        throws(JSONReadError)
    {
        let start = scanner.offset
        try Self.beginEvent(&scanner)
        var first = true
        var seen = SeenKeys(in: &scanner)
        var records: Body?
        var kafka: KafkaEvent?
        var kafkaProblem: JSONReadError?
        var eventSource: String?
        var eventSourceArn: String?
        var bootstrapServers: String?
        while true {
            let position = scanner.offset
            guard let key = try scanner.nextKey(first: &first) else { break }
            if key.matches("Records") {
                try seen.insert(0, "Records", at: position, in: scanner)
                records = try scanner.member("Records") { (scanner: inout JSONScanner) throws(JSONReadError) -> Body? in
                    if forcedSource?.isKafka == true {
                        // Not this event's shape: the error below names what is missing.
                        try scanner.skipValue()
                        return nil
                    }
                    return try Self.readRecords(&scanner, forcedSource: forcedSource, wrapped: wrapped)
                }
            } else if key.matches("records") {
                try seen.insert(1, "records", at: position, in: scanner)
                let valueStart = scanner.mark
                do throws(JSONReadError) {
                    kafka = try scanner.member("records") {
                        (scanner: inout JSONScanner) throws(JSONReadError) -> KafkaEvent? in
                        if let forcedSource, !forcedSource.isKafka {
                            // Not this event's shape: the error below names what is missing.
                            try scanner.skipValue()
                            return nil
                        }
                        if try scanner.takeNull() { return nil }
                        return KafkaEvent(partitions: try KafkaEvent.readPartitions(&scanner))
                    }
                } catch  where error.kind == .shape {
                    // The reference reads a `Records` array first when there is one: keep a shape error for when
                    // there is not, and go on checking the syntax.
                    kafkaProblem = error
                    scanner.rewind(to: valueStart)
                    try scanner.skipValue()
                }
            } else if key.matches("eventSource") {
                try seen.insert(2, "eventSource", at: position, in: scanner)
                eventSource = try scanner.optionalString("eventSource")
            } else if key.matches("eventSourceArn") {
                try seen.insert(3, "eventSourceArn", at: position, in: scanner)
                eventSourceArn = try scanner.optionalString("eventSourceArn")
            } else if key.matches("bootstrapServers") {
                try seen.insert(4, "bootstrapServers", at: position, in: scanner)
                bootstrapServers = try scanner.optionalString("bootstrapServers")
            } else {
                try seen.insertOther(key, at: position, in: &scanner)
                try scanner.skipValue()
            }
        }
        seen.finish(in: &scanner)
        if let records {
            body = records
            return
        }
        if let forcedSource, !forcedSource.isKafka {
            throw scanner.missing("Records", at: scanner.offset &- 1)
        }
        if let kafkaProblem { throw kafkaProblem }
        guard var kafka else {
            if forcedSource?.isKafka == true {
                throw scanner.missing("records", at: scanner.offset &- 1)
            }
            throw Self.noRecords(scanner, at: start)
        }
        kafka.eventSource = eventSource
        kafka.eventSourceArn = eventSourceArn
        kafka.bootstrapServers = bootstrapServers
        body = .kafka(kafka)
    }

    /// The `Records` array, each record read with its source's reader: the forced source's, or the one the first
    /// record's `eventSource` names (the others must name the same).
    private static func readRecords(
        _ scanner: inout JSONScanner,
        forcedSource: BatchEventSource?,
        wrapped: Bool
    ) throws(JSONReadError) -> Body? {
        if try scanner.takeNull() { return nil }
        try scanner.beginArray()
        var more = true
        guard try scanner.nextElement(first: &more) else { return .empty }
        let source: BatchEventSource
        if let forcedSource {
            source = forcedSource
        } else {
            let named: String?
            do throws(JSONReadError) {
                named = try peekEventSource(&scanner)
            } catch {
                throw error.at(.index(0))
            }
            do throws(DetectionFailure) {
                source = try EventDecoding.recordSource(named: named, index: 0, detected: nil)
            } catch {
                throw JSONReadError(detection: error)
            }
        }
        let check = forcedSource == nil
        do throws(JSONReadError) {
            return try readEach(&scanner, as: source, check: check, wrapped: wrapped)
        } catch {
            var error = error
            error.source = error.source ?? source
            throw error
        }
    }

    private static func readEach(
        _ scanner: inout JSONScanner,
        as source: BatchEventSource,
        check: Bool,
        wrapped: Bool
    ) throws(JSONReadError) -> Body {
        switch (source, wrapped) {
        case (.kinesis, false):
            return .kinesis(try readEach(&scanner, source: source, check: check, KinesisEvent.Record.init) { $0 })
        case (.kinesis, true):
            return .wrapped(
                try readEach(&scanner, source: source, check: check, KinesisEvent.Record.init, AnyBatchRecord.kinesis),
                source
            )
        case (.dynamoDB, false):
            return .dynamoDB(try readEach(&scanner, source: source, check: check, DynamoDBEvent.Record.init) { $0 })
        case (.dynamoDB, true):
            return .wrapped(
                try readEach(
                    &scanner,
                    source: source,
                    check: check,
                    DynamoDBEvent.Record.init,
                    AnyBatchRecord.dynamoDB
                ),
                source
            )
        case (_, false):
            return .sqs(try readEach(&scanner, source: source, check: check, SQSEvent.Message.init) { $0 })
        case (_, true):
            return .wrapped(
                try readEach(&scanner, source: source, check: check, SQSEvent.Message.init, AnyBatchRecord.sqs),
                source
            )
        }
    }

    /// Reads the records of an array whose first element is next, checking each names `source` when `check`.
    private static func readEach<Record: SourceNamingRecord, Element>(
        _ scanner: inout JSONScanner,
        source: BatchEventSource,
        check: Bool,
        _ read: (inout JSONScanner) throws(JSONReadError) -> Record,
        _ wrap: (Record) -> Element
    ) throws(JSONReadError) -> [Element] {
        var records: [Element] = []
        var more = false
        repeat {
            let index = records.count
            let record: Record
            let start = scanner.offset
            do throws(JSONReadError) {
                record = try read(&scanner)
            } catch {
                throw error.at(.index(index))
            }
            if index == 0 {
                // Records of one batch are alike: guess the count from the first one's size, so that the array
                // is not copied as it grows; at most Lambda's largest batch (10,000), so a wrong guess costs
                // little.
                let size = max(scanner.offset - start, 1)
                records.reserveCapacity(min((scanner.bytes.count - start) / size + 16, 10_000))
            }
            // Record 0's `eventSource` chose `source` (it was read ahead): the others must name the same.
            if check && index > 0 {
                do throws(DetectionFailure) {
                    _ = try EventDecoding.recordSource(named: record.eventSource, index: index, detected: source)
                } catch {
                    throw JSONReadError(detection: error)
                }
            }
            records.append(wrap(record))
        } while try scanner.nextElement(first: &more)
        return records
    }

    /// The records and the source, by the detection rules.
    func records(
        forcedSource: BatchEventSource?
    ) throws(BatchProcessingError) -> (records: [AnyBatchRecord], source: BatchEventSource?) {
        switch body {
        case .empty: return ([], forcedSource)
        case .wrapped(let records, let source): return (records, forcedSource ?? source)
        case .sqs(let messages): return (messages.map(AnyBatchRecord.sqs), forcedSource ?? .sqs)
        case .kinesis(let records): return (records.map(AnyBatchRecord.kinesis), forcedSource ?? .kinesis)
        case .dynamoDB(let records): return (records.map(AnyBatchRecord.dynamoDB), forcedSource ?? .dynamoDB)
        case .kafka(let event):
            let source: BatchEventSource
            if let forcedSource {
                // A forced `kafka` reads either flavour; the event says which.
                let named = event.eventSource.flatMap { BatchEventSource(eventSourceField: $0) }
                source = named?.isKafka == true ? event.source : forcedSource
            } else {
                do throws(DetectionFailure) {
                    source = try EventDecoding.kafkaSource(named: event.eventSource)
                } catch {
                    throw error.error
                }
            }
            return (event.wrappedRecords(source: source), source)
        }
    }
}
