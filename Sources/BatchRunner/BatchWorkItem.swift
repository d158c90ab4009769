/// One event for a ``BatchWorker``: its JSON, and where its answer goes.
public struct BatchWorkItem: Sendable {
    /// The event, as JSON bytes.
    public var event: [UInt8]
    /// Delivers the answer: the partial batch response, or Lambda's error shape when `failedAsWhole`. Returns false
    /// when it could not, which stops the worker (``BatchWorkerOutputFailed``).
    public var answer: @Sendable (_ answer: String, _ failedAsWhole: Bool) -> Bool
    /// Where the event came from, for the log lines about it (the `event_file` metadata): a spool event's file
    /// name; `nil` when it has none (a line of standard input).
    public var name: String?

    /// The metadata key that carries ``name`` on the log lines about the item's event.
    public static let nameMetadataKey = "event_file"

    /// Creates an item.
    public init(
        event: [UInt8],
        name: String? = nil,
        answer: @escaping @Sendable (_ answer: String, _ failedAsWhole: Bool) -> Bool
    ) {
        self.event = event
        self.name = name
        self.answer = answer
    }
}

extension LineInput {
    /// Each line as a work item whose answer is one line written with `output` (false when it could not be).
    public func answering(with output: @escaping @Sendable (String) -> Bool) -> LineWorkItems {
        LineWorkItems(lines: self, output: output)
    }
}

/// The lines of a ``LineInput`` as work items answered line by line (``LineInput/answering(with:)``).
public struct LineWorkItems: AsyncSequence, Sendable {
    public typealias Element = BatchWorkItem
    let lines: LineInput
    let output: @Sendable (String) -> Bool

    public func makeAsyncIterator() -> Iterator {
        Iterator(lines: lines.makeAsyncIterator(), output: output)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var lines: LineInput.Iterator
        let output: @Sendable (String) -> Bool

        public mutating func next() async -> BatchWorkItem? {
            guard let line = await lines.next() else { return nil }
            let output = self.output
            // A file written on Windows ends its lines with a carriage return too.
            let event = line.last == 0x0D ? Array(line.dropLast()) : line
            return BatchWorkItem(event: event) { answer, _ in output(answer) }
        }
    }
}
