import BatchProcessing
import Foundation
import Testing

/// The one-pass event reader, held to RFC 8259 through the public API: values are placed where an event has them
/// (an SQS body, a DynamoDB `SizeBytes`, an unknown member the reader skips) and read back or refused.
@Suite("Event reader: JSON as RFC 8259 says")
struct JSONReaderTests {
    /// An SQS event whose one message has `body` written as `bodyJSON` (raw JSON text).
    static func sqs(body bodyJSON: String, extra: String = "") -> [UInt8] {
        Array(#"{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":\#(bodyJSON)\#(extra)}]}"#.utf8)
    }

    static func body(_ bodyJSON: String) throws(BatchProcessingError) -> String {
        try SQSEvent(jsonBytes: sqs(body: bodyJSON)).records[0].body
    }

    static func refusal(_ bytes: [UInt8]) -> BatchProcessingError? {
        do {
            _ = try SQSEvent(jsonBytes: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test(
        "Every escape reads as the character it stands for",
        arguments: [
            (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"), (#""caf\u00e9""#, "café"),
            (#""\u00E9t\u00e9""#, "été"),
            (#""\ud83d\ude00 ok""#, "😀 ok"), (#""\uD834\uDD1E""#, "𝄞"), (#""nul:\u0000.""#, "nul:\u{0}."),
            (#""plain""#, "plain"), (#""""#, ""), (#""中文 é 😀""#, "中文 é 😀"),
            (
                #""a\"b\"c and a long run of text past eight bytes \n then more""#,
                "a\"b\"c and a long run of text past eight bytes \n then more"
            ),
        ]
    )
    func escapes(json: String, expected: String) throws {
        #expect(try Self.body(json) == expected)
    }

    /// The scanner looks at eight bytes at a time and trusts the lowest byte it flags; bytes that only look special
    /// next to a real one (`#` after a quote, `]` after a backslash, a space after a control character) must change
    /// nothing, wherever they fall against the eight-byte words.
    @Test("Escapes and look-alike bytes read right at every position in a word")
    func escapesAtEveryAlignment() throws {
        let pieces: [(json: String, text: String)] = [
            (##"\"#"##, ##""#"##), (#"\\]"#, #"\]"#), (#"\/"#, "/"), (#"\n!"#, "\n!"), (#"\u0041#"#, "A#"),
            (#"é\\"#, #"é\"#), (#"\t "#, "\t "),
        ]
        for (json, text) in pieces {
            for padding in 0..<17 {
                let pad = String(repeating: "x", count: padding)
                let body = pad + json + pad + json + "tail past a word"
                let expected = pad + text + pad + text + "tail past a word"
                #expect(try Self.body("\"" + body + "\"") == expected, "padding \(padding): \(json)")
            }
        }
        let prefix = Array(#"{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":""#.utf8)
        for padding in 0..<17 {
            let pad = String(repeating: "x", count: padding)
            let error = try #require(Self.refusal(Self.sqs(body: "\"" + pad + "\u{01} tail of the string\"")))
            #expect(
                error.message.contains("at byte \(prefix.count + padding) "),
                "padding \(padding): \(error.message)"
            )
        }
    }

    @Test(
        "Lone surrogates, bad escapes and raw control characters are refused, saying why and at which byte",
        arguments: [
            (#""\ud800""#, "high surrogate without the low surrogate"),
            (#""\ud800\u0041""#, "not by a low surrogate"),
            (#""\udc00x""#, "low surrogate without the high surrogate"),
            (#""\x41""#, "is not a JSON escape"),
            (#""\u12G4""#, "four hexadecimal digits"),
            ("\"tab\there\"", "control character"),
            (#""unterminated"#, "ends inside a string"),
        ]
    )
    func badStrings(json: String, reason: String) throws {
        let error = try #require(Self.refusal(Self.sqs(body: json)))
        #expect(error.code == .malformedEvent)
        #expect(error.message.contains(reason), "\(error.message)")
        #expect(error.message.contains("not valid JSON at byte "), "\(error.message)")
        #expect(error.recordIndex == 0)
    }

    @Test(
        "Invalid UTF-8 is refused at the byte where it goes wrong",
        arguments: [
            [0xFF], [0xC3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        ] as [[UInt8]]
    )
    func badUTF8(sequence: [UInt8]) throws {
        let prefix = Array(#"{"Records":[{"messageId":"m1","body":"ok "#.utf8)
        let bytes = prefix + sequence + Array(#" end"}]}"#.utf8)
        let error = try #require(Self.refusal(bytes))
        #expect(error.message.contains("invalid UTF-8"), "\(error.message)")
        // The byte named is the one that cannot start or continue a character: in the sequence or just after it.
        let named = (prefix.count...(prefix.count + sequence.count)).filter { error.message.contains("at byte \($0) ") }
        #expect(named.count == 1, "\(error.message)")
        // The same bytes where the reader only skips (an unknown member) are refused too.
        let skipped = Array(#"{"Records":[{"messageId":"m1","other":"ok "#.utf8) + sequence + Array(#""}]}"#.utf8)
        #expect(Self.refusal(skipped)?.message.contains("invalid UTF-8") == true)
    }

    @Test("Valid multi-byte UTF-8, raw or escaped, in keys and values, reads back")
    func validUTF8() throws {
        let bytes = Array(#"{"Records":[{"messageId":"ключ-😀","attributes":{"ĉefo":"valoro","\u00e9":"e"}}]}"#.utf8)
        let message = try SQSEvent(jsonBytes: bytes).records[0]
        #expect(message.messageId == "ключ-😀")
        #expect(message.attributes["ĉefo"] == "valoro" && message.attributes["é"] == "e")
    }

    static func sizeBytes(_ number: String) throws(BatchProcessingError) -> Int? {
        let json =
            #"{"Records":[{"eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"1","SizeBytes":\#(number)}}]}"#
        return try DynamoDBEvent(jsonBytes: Array(json.utf8)).records[0].dynamodb.sizeBytes
    }

    @Test(
        "Integers: whole numbers in any JSON form are read, as Foundation does",
        arguments: [
            ("26", 26), ("26.0", 26), ("2.6e1", 26), ("1E2", 100), ("-0", 0), ("0", 0),
            ("9223372036854775807", Int.max), ("-9223372036854775808", Int.min), ("null", nil),
        ] as [(String, Int?)]
    )
    func integers(text: String, expected: Int?) throws {
        #expect(try Self.sizeBytes(text) == expected)
    }

    @Test(
        "Numbers outside JSON's grammar or an integer's range are refused, saying why",
        arguments: [
            ("01", "cannot start with 0"), ("1.", "digit after its decimal point"), ("1e", "digit in its exponent"),
            ("-", "digit after '-'"), (".5", "does not start a JSON value"), ("+1", "does not start a JSON value"),
            ("1.5", "expected an integer"), ("9223372036854775808", "out of range"), ("\"26\"", "wrong type"),
            ("0x1A", "expected ',' or '}'"), ("NaN", "does not start a JSON value"),
        ]
    )
    func badNumbers(text: String, reason: String) throws {
        #expect {
            try Self.sizeBytes(text)
        } throws: { error in
            guard let error = error as? BatchProcessingError else { return false }
            return error.message.contains(reason) && error.recordIndex == 0
        }
    }

    @Test("A floating-point number too large for a Double is refused; others read exactly")
    func doubles() throws {
        func arrival(_ text: String) throws -> Double? {
            let json =
                #"{"Records":[{"eventSource":"aws:kinesis","kinesis":{"sequenceNumber":"1","approximateArrivalTimestamp":\#(text)}}]}"#
            return try KinesisEvent(jsonBytes: Array(json.utf8)).records[0].kinesis.approximateArrivalTimestamp
        }
        #expect(try arrival("1545084650.987") == 1_545_084_650.987)
        #expect(try arrival("-0.0") == 0 && (try arrival("-0.0"))?.sign == .minus)
        #expect(try arrival("1E+2") == 100)
        #expect(throws: BatchProcessingError.self) { try arrival("1e400") }
    }

    @Test(
        "Structure: trailing commas, missing separators, trailing content and bare values are refused",
        arguments: [
            (#"{"Records":[{"messageId":"a",}]}"#, "trailing commas"),
            (#"{"Records":[{"messageId":"a"},]}"#, "trailing commas"),
            (#"{"Records":[{"messageId":"a"}]} x"#, "after the end of the event's JSON value"),
            (#"{"Records":[{"messageId":"a"}]}{}"#, "after the end of the event's JSON value"),
            (#"{"Records":[{"messageId" "a"}]}"#, "expected ':'"),
            (#"{"Records":[{"messageId":"a" "body":"b"}]}"#, "expected ',' or '}'"),
            (#"{"Records":[{"messageId":"a"} {"messageId":"b"}]}"#, "expected ',' or ']'"),
            (#"{"Records":[{messageId:"a"}]}"#, "member name in double quotes"),
            (#"{"Records":[{"messageId":"a","x":tru}]}"#, "expected 'true'"),
            (#"{"Records":[{"messageId":"a"}"#, "ends in the middle"),
        ]
    )
    func structure(json: String, reason: String) throws {
        let error = try #require(Self.refusal(Array(json.utf8)))
        #expect(error.message.contains(reason), "\(error.message)")
        #expect(error.message.contains("not valid JSON at byte"), "\(error.message)")
    }

    @Test(
        "A key twice in one object is refused, wherever it is: the event, a record, a map, a skipped value",
        arguments: [
            #"{"Records":[{"messageId":"a"}],"Records":[{"messageId":"b"}]}"#,
            #"{"Records":[{"messageId":"a","messageId":"b"}]}"#,
            #"{"Records":[{"messageId":"a","body":null,"body":"x"}]}"#,
            #"{"Records":[{"messageId":"a","attributes":{"SenderId":"1","SenderId":"2"}}]}"#,
            #"{"Records":[{"messageId":"a","attributes":{"SenderId":null,"SenderId":"2"}}]}"#,
            #"{"Records":[{"messageId":"a","unknown":1,"unknown":2}]}"#,
            #"{"Records":[{"messageId":"a","unknown":{"deep":[{"k":1,"k":1}]}}]}"#,
            #"{"Records":[{"messageId":"a","messageAttributes":{"n":{"dataType":"String","dataType":"Number"}}}]}"#,
            #"{"Records":[{"messageId":"a","mess\u0061geId":"b"}]}"#,
        ]
    )
    func duplicateKeys(json: String) throws {
        let error = try #require(Self.refusal(Array(json.utf8)))
        #expect(error.message.contains("appears twice in one object"), "\(error.message)")
    }

    /// Keys of skipped objects and DynamoDB maps are compared as the event's bytes while few, then as text: every
    /// way a key can come back (escaped or not, early or late, past the switch to text) is caught, and the same key
    /// in different objects is not a duplicate.
    @Test("Duplicate keys in objects of any size, escaped or not, nested or not")
    func duplicateKeysAnySize() throws {
        func unknownObject(_ members: [String]) -> [UInt8] {
            Array((#"{"Records":[{"messageId":"a","unknown":{"# + members.joined(separator: ",") + "}}]}").utf8)
        }
        func image(_ members: [String]) -> [UInt8] {
            Array(
                (#"{"Records":[{"eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"1","NewImage":{"#
                    + members.joined(separator: ",") + "}}}]}").utf8
            )
        }
        for count in [1, 2, 15, 16, 17, 40] {
            let plain = (0..<count).map { #""k\#($0)":1"# }
            let attributes = (0..<count).map { #""k\#($0)":{"N":"1"}"# }
            #expect(Self.refusal(unknownObject(plain)) == nil, "\(count) distinct keys")
            #expect((try? DynamoDBEvent(jsonBytes: image(attributes))) != nil, "\(count) distinct attributes")
            for repeated in Set([0, count / 2, count - 1]) {
                for name in [#""k\#(repeated)""#, #""\u006b\#(repeated)""#] {
                    let error = Self.refusal(unknownObject(plain + [name + ":2"]))
                    #expect(error?.message.contains("appears twice") == true, "\(count) keys, \(name)")
                    let imageError = Self.refusal(image(attributes + [name + #":{"N":"2"}"#]))
                    #expect(imageError?.message.contains("appears twice") == true, "\(count) attributes, \(name)")
                }
            }
            // An escaped key first, the plain one after.
            let escapedFirst = [#""\u006bx":1"#] + plain + [#""kx":1"#]
            #expect(Self.refusal(unknownObject(escapedFirst))?.message.contains("appears twice") == true)
        }
        // The same key at different levels, and in sibling objects, is fine.
        let nested = [#""k":{"k":{"k":1},"j":{"k":2}}"#, #""j":[{"k":1},{"k":1}]"#]
        #expect(Self.refusal(unknownObject(nested)) == nil)
        let nestedImage = [
            #""k":{"M":{"k":{"M":{"k":{"N":"1"}}},"j":{"L":[{"M":{"k":{"S":"x"}}},{"M":{"k":{"S":"y"}}}]}}}"#
        ]
        #expect((try? DynamoDBEvent(jsonBytes: image(nestedImage))) != nil)
    }

    @Test("Nesting: 512 levels are read, 513 are refused with their own message")
    func depth() throws {
        // The event's object, the Records array and the record are 3 levels; the rest nest in an unknown member.
        func event(levels: Int) -> [UInt8] {
            let inner = levels - 3
            return Array(
                (#"{"Records":[{"messageId":"a","deep":"# + String(repeating: "[", count: inner)
                    + String(repeating: "]", count: inner) + "}]}").utf8
            )
        }
        #expect(Self.refusal(event(levels: 512)) == nil)
        let error = try #require(Self.refusal(event(levels: 513)))
        #expect(error.message.contains("nests deeper than 512"), "\(error.message)")
        // Deep DynamoDB maps are read, not just skipped, within the same limit.
        var value = #"{"S":"leaf"}"#
        for _ in 0..<200 { value = #"{"M":{"k":\#(value)}}"# }
        let json =
            #"{"Records":[{"eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"1","NewImage":{"a":\#(value)}}}]}"#
        #expect(try DynamoDBEvent(jsonBytes: Array(json.utf8)).records[0].dynamodb.newImage?["a"] != nil)
    }

    @Test("A UTF-8 byte order mark and any JSON whitespace around tokens are accepted")
    func whitespace() throws {
        let json = " \t\r\n{ \"Records\" :\n[ { \"messageId\" : \"a\" , \"body\" : \"b\" } ] }\n "
        #expect(try SQSEvent(jsonBytes: [0xEF, 0xBB, 0xBF] + Array(json.utf8)).records[0].body == "b")
    }

    @Test("A syntax error inside a record names the record, the field and the byte")
    func locatedSyntaxError() throws {
        let json = #"{"Records":[{"messageId":"a","eventSource":"aws:sqs"},{"messageId":"b","body":"x\u12"}]}"#
        let error = try #require(Self.refusal(Array(json.utf8)))
        // The error names the escape's backslash.
        let backslash = try #require(Array(json.utf8).firstIndex(of: UInt8(ascii: "\\")))
        #expect(error.recordIndex == 1 && error.field == "body")
        #expect(
            error.message.contains("not valid JSON at byte \(backslash) (record 1, field body)"),
            "\(error.message)"
        )
    }
}

@Suite("RawBatch: an event's records without processing them")
struct RawBatchTests {
    @Test("Detects each sample's source and reads its records in delivered order")
    func samples() throws {
        let sqs = try RawBatch(eventJSON: Fixture.bytes("sam-sqs.json"))
        let messages = try SQSEvent(jsonBytes: Fixture.bytes("sam-sqs.json")).records
        #expect(sqs.source == .sqs && sqs.records == messages.map(AnyBatchRecord.sqs) && !messages.isEmpty)
        let kafka = try RawBatch(eventJSON: Fixture.bytes("aws-msk.json"))
        #expect(kafka.source == .kafka)
        let reference = try KafkaEvent(jsonBytes: Fixture.bytes("aws-msk.json"))
        #expect(kafka.records.map(\.itemIdentifier) == reference.records.map(\.itemIdentifier))
        let selfManaged = try RawBatch(eventJSON: Fixture.bytes("aws-self-managed-kafka.json"), source: .kafka)
        #expect(selfManaged.source == .selfManagedKafka)
    }

    @Test("An empty batch has no source unless one is given; a forced source of another shape says what it is")
    func emptyAndForced() throws {
        #expect(try RawBatch(eventJSON: Array(#"{"Records":[]}"#.utf8)).source == nil)
        #expect(try RawBatch(eventJSON: Array(#"{"Records":[]}"#.utf8), source: .kinesis).source == .kinesis)
        #expect {
            try RawBatch(eventJSON: Fixture.bytes("sam-kinesis.json"), source: .sqs)
        } throws: { error in
            (error as? BatchProcessingError)?.message.contains("it is a kinesis event") == true
        }
    }
}
