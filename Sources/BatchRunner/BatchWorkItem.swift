/// One event for a ``BatchWorker``: its JSON, and where its answer goes.
public struct BatchWorkItem: Sendable {
    /// The event, as JSON bytes.
    public var event: [UInt8]
    /// Delivers the answer (the partial batch response, or Lambda's error shape when the invocation failed as a
    /// whole). Returns false when it could not, which stops the worker (``BatchWorkerOutputFailed``).
    public var answer: @Sendable (InvocationAnswer) -> Bool
    /// Where the event came from, for the log lines about it (the `event_file` metadata): a spool event's file
    /// name; `nil` when it has none (a line of standard input).
    public var name: String?

    /// The metadata key that carries ``name`` on the log lines about the item's event.
    public static let nameMetadataKey = "event_file"

    /// Creates an item.
    public init(
        event: [UInt8],
        name: String? = nil,
        answer: @escaping @Sendable (InvocationAnswer) -> Bool
    ) {
        self.event = event
        self.name = name
        self.answer = answer
    }
}

extension LineInput {
    /// Each line as a work item whose answer is one line written with `output` (false when it could not be).
    package func answering(with output: @escaping @Sendable ([UInt8]) -> Bool) -> LineWorkItems {
        LineWorkItems(lines: self, output: output)
    }
}

/// The lines of a ``LineInput`` as work items answered line by line (``LineInput/answering(with:)``).
package struct LineWorkItems: AsyncSequence, Sendable {
    package typealias Element = BatchWorkItem
    let lines: LineInput
    let output: @Sendable ([UInt8]) -> Bool

    package func makeAsyncIterator() -> Iterator {
        Iterator(lines: lines.makeAsyncIterator(), output: output)
    }

    package struct Iterator: AsyncIteratorProtocol {
        var lines: LineInput.Iterator
        let output: @Sendable ([UInt8]) -> Bool

        package mutating func next() async -> BatchWorkItem? {
            guard let line = await lines.next() else { return nil }
            let output = self.output
            // A file written on Windows ends its lines with a carriage return too.
            let event = line.last == 0x0D ? Array(line.dropLast()) : line
            return BatchWorkItem(event: event) { answer in output(answer.json) }
        }
    }
}
