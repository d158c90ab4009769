import Foundation
import Testing
import Yams

@testable import BatchRunner

/// A value as text, for comparing: objects keep their keys' order.
func canonical(_ value: ConfigValue) -> String {
    switch value {
    case .null: "null"
    case .bool(let flag): String(flag)
    case .number(let number): "n:\(number)"
    case .string(let text): "s:" + text.debugDescription
    case .array(let items): "[" + items.map(canonical).joined(separator: ", ") + "]"
    case .object(let pairs):
        "{" + pairs.map { $0.0.debugDescription + ": " + canonical($0.1) }.joined(separator: ", ") + "}"
    }
}

/// What Yams (libyaml) reads `text` as, typed by the same rules: the reference.
func yamsValue(_ text: String) throws -> ConfigValue {
    func convert(_ node: Node) throws -> ConfigValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return .string(scalar.string) }
            if scalar.style == .literal || scalar.style == .folded { return .string(scalar.string) }
            return ConfigValue.plain(scalar.string)
        case .sequence(let sequence):
            return .array(try sequence.map(convert))
        case .mapping(let mapping):
            return .object(try mapping.map { key, value in (key.string ?? "", try convert(value)) })
        case .alias:
            struct Alias: Error {}
            throw Alias()
        }
    }
    guard let node = try Yams.compose(yaml: text) else { return .null }
    return try convert(node)
}

/// Documents the reader must read as libyaml does.
let yamlDocuments: [String] = [
    "processor: { policy: skip-group, maxConcurrency: 4 }\nmiddleware:\n  - retry: { maxAttempts: 3 }\n",
    "a:\n- 1\n- 2\nb: x\n",
    "- - a\n  - b\n- - c\n",
    "- name: one\n  value: 1\n- name: two\n  nested:\n    deep: [1, 2, {x: y}]\n",
    "key with spaces: value with spaces  # a comment\n'quoted key': \"quoted \\\"value\\\" \\u00e9\\n\"\n",
    "url: postgres://user:pw@db.example:5432/orders?sslmode=require\nratio: 0.25\nneg: -3\nexp: 1e3\n",
    "empty:\nnull1: ~\nnull2: null\nyes: true\nno: FALSE\nsingle: 'it''s'\n",
    "---\n# a document\nlist: [\n  a, b,\n  c\n]\nobject: {\n  k: v,\n  \"j\": [1, 2]\n}\n...\n",
    "{\n  \"processor\": {\"policy\": \"auto\", \"maxConcurrency\": 2},\n  \"middleware\": [{\"timeout\": {\"seconds\": 5}}]\n}\n",
    "literal: |\n  line one\n    indented\n  line three\nfolded: >-\n  a b\n  c\n\n  d\nnext: 1\n",
    "plain: a long value\n  continued here\nafter: 2\n",
    "crlf: 1\r\nlist:\r\n  - x\r\n",
    "deep:\n  deeper:\n    deepest:\n      - 1\n      -\n        k: v\n      - [x]\n",
    "flow: {a: 1, b: , c: [], d: {}}\n",
]

@Suite("The chain file's YAML reader, against libyaml (Yams)")
struct YAMLReaderTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("Every document reads as libyaml reads it", arguments: yamlDocuments)
    func documents(text: String) throws {
        #expect(canonical(try YAMLReader.read(text)) == canonical(try yamsValue(text)), "\(text)")
    }

    @Test("Every chain file of the repository reads as libyaml reads it")
    func chainFiles() throws {
        let files = [
            "Examples/SQSOrders/orders.yaml", "Examples/SQSOrders/orders-fifo.yaml",
            "Examples/KinesisClickstream/clickstream.yaml", "Examples/MSKInventory/inventory.yaml",
            "Examples/DynamoDBCustomers/customers.yaml", "Examples/batchproc/orders.yaml",
            "Examples/batchproc/orders.json",
        ]
        for file in files {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            #expect(canonical(try YAMLReader.read(text)) == canonical(try yamsValue(text)), "\(file)")
        }
    }

    @Test(
        "What the reader does not take is an error that says what and where",
        arguments: [
            ("a:\n\tb: 1\n", "line 2, column 1: a tab in the indentation"),
            ("a: &anchor 1\n", "line 1, column 4: YAML anchors and aliases"),
            ("a: *anchor\n", "line 1, column 4: YAML anchors and aliases"),
            ("a: !!str 1\n", "line 1, column 4: YAML tags (!)"),
            ("a: [1, 2\n", "the list is not closed with ']'"),
            ("a: {b: 1\nc: 2\n", "expected ',' or '}' in the object"),
            ("a: \"open\n", "line 1, column 4: the quoted text is not closed on its line"),
            ("a: 1\n b: 2\n", "line 2, column 2: this line is more indented than the structure it is in"),
            ("a: 1\n---\nb: 2\n", "line 2, column 1: a second document"),
            ("? a\n: b\n", "'?' keys are not supported"),
            ("%YAML 1.2\n---\na: 1\n", "YAML directives (%) are not supported"),
            ("a: b: c\n", "line 1, column 4: a plain value cannot hold ': '"),
            ("- a\nb: 1\n", "line 2, column 1: this line is outside the structure above it"),
            ("a: \"\\q\"\n", "an unknown escape \\q"),
        ]
    )
    func refused(text: String, message: String) {
        #expect {
            try YAMLReader.read(text)
        } throws: { error in
            (error as? YAMLReader.Failure)?.description.contains(message) == true
        }
    }

    @Test("An empty file and a comment-only file are null")
    func empty() throws {
        #expect(canonical(try YAMLReader.read("")) == "null")
        #expect(canonical(try YAMLReader.read("# nothing\n\n")) == "null")
        #expect(canonical(try YAMLReader.read("---\n")) == "null")
    }
}
