public import JSONLogging
import Synchronization

/// Collects lines written through a ``LineWriter``.
public final class LineCollector: Sendable {
    private final class Store: Sendable {
        let lines = Mutex<[String]>([])
    }

    private let store = Store()
    public let writer: LineWriter

    public init() {
        let store = self.store
        writer = LineWriter { bytes in
            var text = String(decoding: bytes, as: UTF8.self)
            if text.hasSuffix("\n") { text.removeLast() }
            store.lines.withLock { $0.append(text) }
        }
    }

    public var all: [String] { store.lines.withLock { $0 } }

    /// Every line parsed as a JSON object.
    public func objects() throws -> [[String: Any]] {
        try all.map { try ChildProcess.jsonObject($0) }
    }
}
