public import BatchProcessing

/// The error the handlers of ``TestHandlers`` throw for a record they fail.
public struct TestHandlerFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The failed record's item identifier.
    public let itemIdentifier: ItemIdentifier

    /// Creates the error.
    public init(itemIdentifier: ItemIdentifier) {
        self.itemIdentifier = itemIdentifier
    }

    public var description: String { "test handler failed record \(itemIdentifier)" }
}

/// Handlers for tests of a processor's configuration.
public enum TestHandlers {
    /// A handler that throws ``TestHandlerFailure`` for records with these identifiers and succeeds otherwise.
    public static func failing<Record: BatchRecord>(_ identifiers: Set<ItemIdentifier>) -> RecordHandler<Record> {
        { record, _ in
            let identifier = record.itemIdentifier
            if identifiers.contains(identifier) { throw TestHandlerFailure(itemIdentifier: identifier) }
        }
    }

    /// A handler that throws ``TestHandlerFailure`` for the records at these 0-based positions.
    public static func failing<Record: BatchRecord>(indices: Set<Int>) -> RecordHandler<Record> {
        { record, context in
            if indices.contains(context.index) { throw TestHandlerFailure(itemIdentifier: record.itemIdentifier) }
        }
    }

    /// A handler that succeeds for every record.
    public static func succeeding<Record: BatchRecord>() -> RecordHandler<Record> {
        { _, _ in }
    }
}
