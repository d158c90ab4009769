/// A string field of an event kept as its place in the event's JSON until someone reads it, so that a body the
/// handler never reads costs no copy and no allocation. The text was checked when the event was read, so turning
/// it into a `String` cannot fail. Equal when the strings are.
struct DeferredString: Sendable, Equatable {
    private enum Storage: Sendable {
        case string(String)
        /// The event's bytes (shared by every record, not copied) and where the text is in them.
        case json([UInt8], JSONScanner.StringText)
    }

    private let storage: Storage

    init(_ string: String) {
        storage = .string(string)
    }

    init(json: [UInt8], text: JSONScanner.StringText) {
        storage = .json(json, text)
    }

    var string: String {
        switch storage {
        case .string(let string): string
        case .json(let bytes, let text): bytes.withUnsafeBufferPointer { JSONScanner.decode($0, text) }
        }
    }

    static func == (lhs: DeferredString, rhs: DeferredString) -> Bool { lhs.string == rhs.string }
}

extension Optional where Wrapped == DeferredString {
    /// The string, or `nil`.
    var string: String? { self?.string }
}

/// A DynamoDB image (or key) kept as its place in the event's JSON until someone reads it. The text was checked
/// against the attribute-value rules when the event was read, so building it cannot fail.
struct DeferredImage: Sendable {
    private enum Storage: Sendable {
        case image([String: DynamoDBEvent.AttributeValue])
        /// The event's bytes (shared by every record, not copied) and where the image's object is in them.
        case json([UInt8], Range<Int>)
    }

    private let storage: Storage

    init(_ image: [String: DynamoDBEvent.AttributeValue]) {
        storage = .image(image)
    }

    init(json: [UInt8], range: Range<Int>) {
        storage = .json(json, range)
    }

    var image: [String: DynamoDBEvent.AttributeValue] {
        switch storage {
        case .image(let image): return image
        case .json(let bytes, let range):
            return bytes.withUnsafeBufferPointer { buffer in
                var scanner = JSONScanner(UnsafeBufferPointer(rebasing: buffer[range]))
                // Checked when the event was read; should building fail all the same, the image reads as empty
                // rather than trap.
                return (try? DynamoDBEvent.AttributeValue.readMap(&scanner)) ?? [:]
            }
        }
    }
}

/// A Kafka record's headers kept as their place in the event's JSON until someone reads them. The text was checked
/// when the event was read, so building them cannot fail. Equal when the headers are.
struct DeferredHeaders: Sendable, Equatable {
    private enum Storage: Sendable {
        case headers([KafkaEvent.Header])
        /// The event's bytes (shared by every record, not copied) and where the headers' array is in them.
        case json([UInt8], Range<Int>)
    }

    private let storage: Storage

    init(_ headers: [KafkaEvent.Header]) {
        storage = .headers(headers)
    }

    init(json: [UInt8], range: Range<Int>) {
        storage = .json(json, range)
    }

    var headers: [KafkaEvent.Header] {
        switch storage {
        case .headers(let headers): return headers
        case .json(let bytes, let range):
            return bytes.withUnsafeBufferPointer { buffer in
                var scanner = JSONScanner(UnsafeBufferPointer(rebasing: buffer[range]))
                // Checked when the event was read; should building fail all the same, there are no headers rather
                // than a trap.
                return (try? KafkaEvent.Header.readList(&scanner)) ?? []
            }
        }
    }

    static func == (lhs: DeferredHeaders, rhs: DeferredHeaders) -> Bool { lhs.headers == rhs.headers }
}
