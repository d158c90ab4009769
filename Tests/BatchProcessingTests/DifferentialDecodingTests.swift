import BatchProcessing
import Foundation
import Testing

/// The one-pass reader against Foundation's `JSONDecoder` (the models' `Decodable` conformances, the reference):
/// on every fixture and example event, on generated events, and on corrupted ones, both must agree on every value
/// and on accepting or refusing, but where the reader is documented to be stricter (a duplicate key, a trailing
/// comma, and any JSON error in a value the models do not read, which `JSONDecoder` does not check).
@Suite("Event reader against Foundation's JSONDecoder")
struct DifferentialDecodingTests {
    enum Shape: CaseIterable {
        case sqs, kinesis, dynamoDB, kafka
    }

    /// Both decoders on `bytes` as `shape`: `nil` for a refusal, else the decoded event for comparison.
    static func both(
        _ bytes: [UInt8],
        as shape: Shape
    ) -> (fast: Result<AnyEquatable, any Error>, reference: Result<AnyEquatable, any Error>) {
        func run<T: Equatable>(
            _ fast: () throws -> T,
            _ reference: () throws -> T
        ) -> (Result<AnyEquatable, any Error>, Result<AnyEquatable, any Error>) {
            (Result { AnyEquatable(try fast()) }, Result { AnyEquatable(try reference()) })
        }
        let data = Data(bytes)
        switch shape {
        case .sqs:
            return run({ try SQSEvent(jsonBytes: bytes) }, { try JSONDecoder().decode(SQSEvent.self, from: data) })
        case .kinesis:
            return run(
                { try KinesisEvent(jsonBytes: bytes) },
                { try JSONDecoder().decode(KinesisEvent.self, from: data) }
            )
        case .dynamoDB:
            return run(
                { try DynamoDBEvent(jsonBytes: bytes) },
                { try JSONDecoder().decode(DynamoDBEvent.self, from: data) }
            )
        case .kafka:
            // Foundation does not keep the order of an object's keys: compare partitions in one order.
            func sorted(_ event: KafkaEvent) -> KafkaEvent {
                var event = event
                event.partitions.sort { $0.key < $1.key }
                return event
            }
            return run(
                { sorted(try KafkaEvent(jsonBytes: bytes)) },
                { sorted(try JSONDecoder().decode(KafkaEvent.self, from: data)) }
            )
        }
    }

    /// Where the reader may refuse what `JSONDecoder` accepts, on purpose: JSON that is not valid, as
    /// `JSONSerialization` (which reads every value) confirms, in a value the models do not read (`JSONDecoder` checks
    /// only what it decodes), and the two points where both Foundation readers are lenient, as the message says.
    static func refusedOnPurpose(_ bytes: [UInt8], message: String) -> Bool {
        if message.contains("appears twice in one object") || message.contains("trailing commas are not JSON") {
            return true
        }
        return (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) == nil
    }

    static func expectAgreement(
        _ bytes: [UInt8],
        as shape: Shape,
        _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let (fast, reference) = both(bytes, as: shape)
        switch (fast, reference) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "\(label): the readers disagree on a value", sourceLocation: sourceLocation)
            return a == b
        case (.failure, .failure):
            return true
        case (.failure(let error), .success):
            let message = "\(error)"
            let explained = refusedOnPurpose(bytes, message: message)
            #expect(explained, "\(label): refused only by the fast reader: \(message)", sourceLocation: sourceLocation)
            return explained
        case (.success, .failure(let error)):
            Issue.record(
                "\(label): accepted only by the fast reader; Foundation says \(error)",
                sourceLocation: sourceLocation
            )
            return false
        }
    }

    static func corpus() throws -> [(name: String, bytes: [UInt8], shape: Shape)] {
        let examples = Fixture.directory.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/batchproc/events")
        var files: [URL] = try FileManager.default.contentsOfDirectory(
            at: Fixture.directory,
            includingPropertiesForKeys: nil
        )
        files += (try? FileManager.default.contentsOfDirectory(at: examples, includingPropertiesForKeys: nil)) ?? []
        return try files.filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }.map { url in
            let bytes = Array(try Data(contentsOf: url))
            let text = String(decoding: bytes, as: UTF8.self)
            let shape: Shape =
                text.contains("\"aws:kinesis\"")
                ? .kinesis
                : text.contains("\"aws:dynamodb\"")
                    ? .dynamoDB
                    : text.contains("\"records\"") ? .kafka : .sqs
            return (url.lastPathComponent, bytes, shape)
        }
    }

    @Test("Every fixture and example event decodes to the same values both ways")
    func samples() throws {
        let corpus = try Self.corpus()
        #expect(corpus.count >= 15)
        for sample in corpus {
            let (fast, reference) = Self.both(sample.bytes, as: sample.shape)
            let a = try fast.get()
            #expect(a == (try reference.get()), "\(sample.name)")
        }
    }

    @Test("Generated events (random escapes, unicode, absent and null fields) decode to the same values both ways")
    func generated() throws {
        var generator = EventGenerator(seed: 20_261_129)
        for round in 0..<400 {
            let shape = Shape.allCases[round % 4]
            let (json, identifiers) = generator.event(shape)
            let bytes = Array(json.utf8)
            if !Self.expectAgreement(bytes, as: shape, "round \(round) (\(shape))") {
                Issue.record("the event: \(json)")
            }
            // The identifiers written, with their random escapes, come back as they were generated.
            let decoded: [String]? =
                switch shape {
                case .sqs: try? SQSEvent(jsonBytes: bytes).records.map(\.messageId)
                case .kinesis: try? KinesisEvent(jsonBytes: bytes).records.map(\.kinesis.sequenceNumber)
                case .dynamoDB: try? DynamoDBEvent(jsonBytes: bytes).records.map(\.dynamodb.sequenceNumber)
                case .kafka: []
                }
            #expect(decoded == identifiers, "round \(round)")
        }
    }

    @Test("Corrupted events are accepted or refused alike, and decode alike when accepted")
    func corrupted() throws {
        var random = SeededRandom(seed: 7)
        let corpus = try Self.corpus()
        var refused = 0
        for round in 0..<1500 {
            let sample = corpus[round % corpus.count]
            var bytes = sample.bytes
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[index] = Array(#"{}[],:"\ 0n"#.utf8).randomElement(using: &random) ?? 0
                case 2: bytes.remove(at: index)
                default: bytes.insert(Array(#",}]"\"#.utf8).randomElement(using: &random) ?? 0, at: index)
                }
            }
            if case .failure = Self.both(bytes, as: sample.shape).fast { refused += 1 }
            let agreed = Self.expectAgreement(bytes, as: sample.shape, "round \(round) (\(sample.name))")
            if !agreed { Issue.record("the bytes: \(String(decoding: bytes, as: UTF8.self).debugDescription)") }
        }
        // The corruption must actually produce refusals for the comparison to mean something.
        #expect(refused > 300)
    }
}

/// An `Equatable` value of any type, for comparing the decoders' results.
struct AnyEquatable: Equatable, CustomStringConvertible {
    let value: Any
    private let equals: (Any) -> Bool

    init<T: Equatable>(_ value: T) {
        self.value = value
        equals = { ($0 as? T) == value }
    }

    static func == (lhs: AnyEquatable, rhs: AnyEquatable) -> Bool { lhs.equals(rhs.value) }

    var description: String { "\(value)" }
}

/// A deterministic generator (SplitMix64), so that a failure can be replayed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes random events as JSON text, choosing for each character whether to write it raw or escaped.
struct EventGenerator {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    static let alphabet: [Unicode.Scalar] =
        Array("abcXYZ 019-_.:/\"\\{}[],".unicodeScalars) + [
            "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}", "\u{7F}", "é", "ß", "中", "😀", "𝄞",
            "\u{2028}", "\u{FEFF}", "\u{FFFD}",
        ]

    mutating func text() -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...24, using: &random) {
            scalars.append(Self.alphabet.randomElement(using: &random) ?? "a")
        }
        return String(scalars)
    }

    private static func hex(_ unit: UInt16, upper: Bool) -> String {
        let digits = String(unit, radix: 16, uppercase: upper)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// `text` as a JSON string literal, each character raw or escaped at random (always escaped where JSON says).
    mutating func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            let escape = Bool.random(using: &random)
            let upper = Bool.random(using: &random)
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n" where escape: out += "\\n"
            case "\t" where escape: out += "\\t"
            case "/" where escape: out += "\\/"
            case _ where scalar.value < 0x20 || escape:
                for unit in String(scalar).utf16 { out += "\\u" + Self.hex(unit, upper: upper) }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A member `"name": value` with the value a random string, `null`, or left out (an empty string).
    mutating func optionalMember(_ name: String) -> String? {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return nil
        case 1: return "\"\(name)\":null"
        default: return "\"\(name)\":" + literal(text())
        }
    }

    mutating func object(_ members: [String?]) -> String {
        var present = members.compactMap { $0 }
        present.shuffle(using: &random)
        return "{" + present.joined(separator: ",") + "}"
    }

    mutating func stringMap(_ count: Int) -> String {
        var members: [String] = []
        var used: Set<String> = []
        for index in 0..<count {
            let key = text() + "#\(index)"
            guard used.insert(key).inserted else { continue }
            members.append(literal(key) + ":" + (Bool.random(using: &random) ? literal(text()) : "\(index)"))
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    mutating func attributeValue(depth: Int) -> String {
        switch Int.random(in: 0..<(depth > 2 ? 6 : 8), using: &random) {
        case 0: return "{\"S\":" + literal(text()) + "}"
        case 1: return "{\"N\":\"\(Int.random(in: -1000...1000, using: &random)).5\"}"
        case 2: return "{\"B\":\"aGVsbG8=\"}"
        case 3: return "{\"SS\":[" + literal(text()) + "," + literal(text()) + "]}"
        case 4: return "{\"BOOL\":\(Bool.random(using: &random))}"
        case 5: return "{\"NULL\":true}"
        case 6:
            return "{\"M\":{" + literal("k" + text()) + ":" + attributeValue(depth: depth + 1) + "}}"
        default:
            return "{\"L\":[" + attributeValue(depth: depth + 1) + "," + attributeValue(depth: depth + 1) + "]}"
        }
    }

    /// A random event of `shape` and its records' identifiers (none for Kafka).
    mutating func event(_ shape: DifferentialDecodingTests.Shape) -> (String, [String]) {
        var records: [String] = []
        var identifiers: [String] = []
        let count = Int.random(in: 0...4, using: &random)
        switch shape {
        case .sqs:
            for _ in 0..<count {
                identifiers.append(text())
                records.append(
                    object([
                        "\"messageId\":" + literal(identifiers[identifiers.count - 1]), optionalMember("receiptHandle"),
                        optionalMember("body"),
                        optionalMember("md5OfBody"), "\"eventSource\":\"aws:sqs\"", optionalMember("eventSourceARN"),
                        optionalMember("awsRegion"),
                        Bool.random(using: &random)
                            ? "\"attributes\":" + stringMap(Int.random(in: 0...3, using: &random)) : nil,
                        Bool.random(using: &random)
                            ? "\"messageAttributes\":{" + literal(text()) + ":"
                                + object([optionalMember("dataType"), optionalMember("stringValue")]) + "}" : nil,
                    ])
                )
            }
            return ("{\"Records\":[" + records.joined(separator: ",") + "]}", identifiers)
        case .kinesis:
            for _ in 0..<count {
                identifiers.append(text())
                let payload = object([
                    "\"sequenceNumber\":" + literal(identifiers[identifiers.count - 1]), optionalMember("partitionKey"),
                    "\"data\":\"aGVsbG8=\"",
                    Bool.random(using: &random) ? "\"approximateArrivalTimestamp\":1545084650.987" : nil,
                    optionalMember("encryptionType"),
                ])
                records.append(
                    object([
                        "\"kinesis\":" + payload, "\"eventSource\":\"aws:kinesis\"", optionalMember("eventID"),
                        optionalMember("eventName"), optionalMember("invokeIdentityArn"),
                    ])
                )
            }
            return ("{\"Records\":[" + records.joined(separator: ",") + "]}", identifiers)
        case .dynamoDB:
            for _ in 0..<count {
                identifiers.append(text())
                let stream = object([
                    "\"SequenceNumber\":" + literal(identifiers[identifiers.count - 1]),
                    "\"Keys\":{\"Id\":" + attributeValue(depth: 0) + "}",
                    Bool.random(using: &random) ? "\"NewImage\":{\"a\":" + attributeValue(depth: 0) + "}" : nil,
                    Bool.random(using: &random) ? "\"SizeBytes\":\(Int.random(in: 0...500, using: &random))" : nil,
                    optionalMember("StreamViewType"),
                ])
                records.append(
                    object([
                        "\"dynamodb\":" + stream, "\"eventSource\":\"aws:dynamodb\"", optionalMember("eventID"),
                        optionalMember("eventName"), optionalMember("eventSourceARN"),
                    ])
                )
            }
            return ("{\"Records\":[" + records.joined(separator: ",") + "]}", identifiers)
        case .kafka:
            var partitions: [String] = []
            for partition in 0..<count {
                let topic =
                    "topic"
                    + String(
                        text().unicodeScalars.filter { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 }
                    )
                var list: [String] = []
                for offset in 0..<Int.random(in: 1...3, using: &random) {
                    list.append(
                        object([
                            "\"offset\":\(offset)", "\"partition\":\(partition)", optionalMember("key"),
                            optionalMember("value"), optionalMember("timestampType"),
                            Bool.random(using: &random) ? "\"timestamp\":1545084650987" : nil,
                            Bool.random(using: &random)
                                ? "\"headers\":[{" + literal(text()) + ":[104,-1,255]}]" : nil,
                        ])
                    )
                }
                partitions.append(literal("\(topic)-\(partition)") + ":[" + list.joined(separator: ",") + "]")
            }
            let members = [
                "\"eventSource\":\"aws:kafka\"", optionalMember("bootstrapServers"),
                "\"records\":{" + partitions.joined(separator: ",") + "}",
            ]
            return (object(members), [])
        }
    }
}
