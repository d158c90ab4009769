/// Reads the YAML of a chain file (and JSON, which YAML reads too) into a ``ConfigValue``, with no library: block
/// mappings and sequences (an indentless sequence under a key included), flow collections over any number of lines,
/// plain, single- and double-quoted scalars, literal and folded block scalars, plain values continued on more
/// indented lines, comments, and `---` / `...` around one document. Anchors, aliases, tags, `?` keys and directives
/// are refused with a message saying so: a chain file has no use for them.
///
/// Plain scalars are typed as the YAML core schema types them (`null`, `~`, `true`, `false` in three spellings, and
/// numbers); quoted ones are text. Every error says the line and column.
///
/// Why not Yams: it links Foundation, and with it ICU's data, into every program (about 30 MB of a static Lambda
/// bootstrap and milliseconds of its cold start), for a file of a few dozen lines.
struct YAMLReader {
    /// What is wrong, and where (1-based line and column).
    struct Failure: Error, CustomStringConvertible {
        var line: Int
        var column: Int
        var message: String

        var description: String { "line \(line), column \(column): \(message)" }
    }

    private let bytes: [UInt8]
    /// Where each line starts, and ends (before its line break).
    private var lines: [(start: Int, end: Int)] = []
    /// The line being read, and the offset where reading it goes on (past an item's dash, a key's colon).
    private var line = 0

    /// Reads `text`, one document.
    static func read(_ text: String) throws(Failure) -> ConfigValue {
        var reader = YAMLReader(text)
        return try reader.document()
    }

    private init(_ text: String) {
        bytes = Array(text.utf8)
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            let end = index > start && bytes[index - 1] == UInt8(ascii: "\r") ? index - 1 : index
            lines.append((start, end))
            start = index + 1
        }
        if start < bytes.count { lines.append((start, bytes.count)) }
    }

    // MARK: - Lines

    private func failure(_ message: String, at offset: Int) -> Failure {
        var number = lines.lastIndex { $0.start <= offset } ?? 0
        if lines.isEmpty { number = 0 }
        let start = lines.isEmpty ? 0 : lines[number].start
        let column = String(decoding: bytes[start..<min(max(offset, start), bytes.count)], as: UTF8.self).count + 1
        return Failure(line: number + 1, column: column, message: message)
    }

    /// The indentation of line `index` (spaces), or `nil` for a blank or comment-only line.
    private func indent(of index: Int) throws(Failure) -> Int? {
        let (start, end) = lines[index]
        var offset = start
        while offset < end, bytes[offset] == UInt8(ascii: " ") { offset += 1 }
        if offset == end || bytes[offset] == UInt8(ascii: "#") { return nil }
        if bytes[offset] == UInt8(ascii: "\t") {
            throw failure("a tab in the indentation; YAML indents with spaces", at: offset)
        }
        return offset - start
    }

    /// The next line at or after `index` with content, and its indentation; a document marker (`---`, `...`) ends
    /// the content unless `markers` asks for them too.
    private func nextContent(from index: Int, markers: Bool = false) throws(Failure) -> (line: Int, indent: Int)? {
        var index = index
        while index < lines.count {
            if let indent = try indent(of: index) {
                if !markers, indent == 0, isDocumentEnd(index) || isDocumentStart(index) { return nil }
                return (index, indent)
            }
            index += 1
        }
        return nil
    }

    private func text(of index: Int, from offset: Int? = nil) -> ArraySlice<UInt8> {
        bytes[(offset ?? lines[index].start)..<lines[index].end]
    }

    private func isDocumentEnd(_ index: Int) -> Bool {
        let text = text(of: index)
        return text.starts(with: Array("...".utf8)) && (text.count == 3 || text[text.startIndex + 3] == 32)
    }

    private func isDocumentStart(_ index: Int) -> Bool {
        let text = text(of: index)
        return text.starts(with: Array("---".utf8)) && (text.count == 3 || text[text.startIndex + 3] == 32)
    }

    // MARK: - Document and blocks

    private mutating func document() throws(Failure) -> ConfigValue {
        guard var first = try nextContent(from: 0, markers: true) else { return .null }
        let firstText = text(of: first.line)
        if firstText.first == UInt8(ascii: "%") {
            throw failure("YAML directives (%) are not supported in the configuration", at: lines[first.line].start)
        }
        if isDocumentStart(first.line) {
            let rest = lines[first.line].start + 3
            guard try restIsEmpty(from: rest, line: first.line) else {
                throw failure("write the document on the lines after ---", at: rest)
            }
            guard let next = try nextContent(from: first.line + 1) else { return .null }
            first = next
        }
        guard !isDocumentEnd(first.line) else { return .null }
        line = first.line
        let value = try block(indent: first.indent, offset: lines[line].start + first.indent)
        guard var extra = try nextContent(from: line, markers: true) else { return value }
        if extra.indent == 0, isDocumentEnd(extra.line) {
            guard let after = try nextContent(from: extra.line + 1, markers: true) else { return value }
            extra = after
        }
        let offset = lines[extra.line].start + extra.indent
        throw failure(
            extra.indent == 0 && isDocumentStart(extra.line)
                ? "a second document; the configuration is one document"
                : "this line is outside the structure above it (check its indentation)",
            at: offset
        )
    }

    /// A block node starting at `offset` of the current line, whose items sit at column `indent`: a sequence, a
    /// mapping, or a value on the line. Leaves `line` after it.
    private mutating func block(indent: Int, offset: Int) throws(Failure) -> ConfigValue {
        if isSequenceEntry(at: offset) { return try sequence(indent: indent, offset: offset) }
        if try mappingKey(at: offset, line: line) != nil { return try mapping(indent: indent, offset: offset) }
        return try inlineValue(at: offset, blockIndent: indent - 1)
    }

    private func isSequenceEntry(at offset: Int) -> Bool {
        isSequenceEntry(atLine: line, offset: offset)
    }

    private mutating func sequence(indent: Int, offset: Int) throws(Failure) -> ConfigValue {
        var items: [ConfigValue] = []
        var offset = offset
        while true {
            // Past the dash and the spaces after it.
            var item = offset + 1
            while item < lines[line].end, bytes[item] == 32 { item += 1 }
            if try restIsEmpty(from: item, line: line) {
                // The item is on the lines below, more indented, or empty.
                if let next = try nextContent(from: line + 1), next.indent > indent {
                    line = next.line
                    items.append(try block(indent: next.indent, offset: lines[line].start + next.indent))
                } else {
                    items.append(.null)
                    line += 1
                }
            } else {
                // The item starts on this line; a compact mapping's further keys sit at its column.
                items.append(try block(indent: item - lines[line].start, offset: item))
            }
            // The list goes on while items follow at its column (a key there ends an indentless list).
            guard let next = try nextContent(from: line), next.indent == indent,
                isSequenceEntry(atLine: next.line, offset: lines[next.line].start + indent)
            else { break }
            line = next.line
            offset = lines[line].start + indent
        }
        return .array(items)
    }

    /// The key at `offset`, and where its value starts (past the colon), when the line holds `key:` there.
    private func mappingKey(at offset: Int, line index: Int) throws(Failure) -> (key: String, value: Int)? {
        let end = lines[index].end
        guard offset < end else { return nil }
        let first = bytes[offset]
        if first == UInt8(ascii: "?") && (offset + 1 == end || bytes[offset + 1] == 32) {
            throw failure("'?' keys are not supported in the configuration", at: offset)
        }
        if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
            var scanner = FlowScanner(bytes: bytes, offset: offset, limit: end)
            guard case .string(let key) = try scanner.quoted(reader: self) else { return nil }
            var after = scanner.offset
            while after < end, bytes[after] == 32 { after += 1 }
            guard after < end, bytes[after] == UInt8(ascii: ":"), after + 1 == end || bytes[after + 1] == 32 else {
                return nil
            }
            return (key, after + 1)
        }
        if first == UInt8(ascii: "[") || first == UInt8(ascii: "{") || first == UInt8(ascii: "#") { return nil }
        var index = offset
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "#"), index > offset, bytes[index - 1] == 32 { return nil }
            if byte == UInt8(ascii: ":"), index + 1 == end || bytes[index + 1] == 32 {
                var keyEnd = index
                while keyEnd > offset, bytes[keyEnd - 1] == 32 { keyEnd -= 1 }
                return (String(decoding: bytes[offset..<keyEnd], as: UTF8.self), index + 1)
            }
            index += 1
        }
        return nil
    }

    private mutating func mapping(indent: Int, offset: Int) throws(Failure) -> ConfigValue {
        var pairs: [(String, ConfigValue)] = []
        var offset = offset
        while true {
            guard let (key, valueStart) = try mappingKey(at: offset, line: line) else {
                throw failure("expected 'key: value' at this indentation", at: offset)
            }
            try checkNotSpecial(key, at: offset)
            var value = valueStart
            while value < lines[line].end, bytes[value] == 32 { value += 1 }
            if try restIsEmpty(from: value, line: line) {
                if let next = try nextContent(from: line + 1), next.indent > indent {
                    line = next.line
                    pairs.append((key, try block(indent: next.indent, offset: lines[line].start + next.indent)))
                } else if let next = try nextContent(from: line + 1), next.indent == indent,
                    isSequenceEntry(atLine: next.line, offset: lines[next.line].start + indent)
                {
                    // An indentless list: its dashes at the key's column.
                    line = next.line
                    pairs.append((key, try sequence(indent: indent, offset: lines[line].start + indent)))
                } else {
                    pairs.append((key, .null))
                    line += 1
                }
            } else {
                pairs.append((key, try inlineValue(at: value, blockIndent: indent)))
            }
            guard let next = try nextContent(from: line), next.indent == indent else { break }
            line = next.line
            offset = lines[line].start + indent
            if isSequenceEntry(at: offset) { break }
        }
        return .object(pairs)
    }

    private func checkNotSpecial(_ text: String, at offset: Int) throws(Failure) {
        guard let first = text.utf8.first else { return }
        if first == UInt8(ascii: "&") || first == UInt8(ascii: "*") {
            throw failure("YAML anchors and aliases (& and *) are not supported in the configuration", at: offset)
        }
        if first == UInt8(ascii: "!") {
            throw failure("YAML tags (!) are not supported in the configuration", at: offset)
        }
    }

    // MARK: - Values on a line

    /// A value starting at `offset` on the current line: a flow collection (which may go on over further lines), a
    /// quoted scalar, a block scalar (`|` or `>`, on the lines below, indented past `blockIndent`), or a plain
    /// scalar (continued on more indented lines). Leaves `line` after it.
    private mutating func inlineValue(at offset: Int, blockIndent: Int) throws(Failure) -> ConfigValue {
        let first = bytes[offset]
        if first == UInt8(ascii: "&") || first == UInt8(ascii: "*") || first == UInt8(ascii: "!") {
            try checkNotSpecial(String(decoding: [first], as: UTF8.self), at: offset)
        }
        if first == UInt8(ascii: "|") || first == UInt8(ascii: ">") {
            return try blockScalar(at: offset, blockIndent: blockIndent)
        }
        if first == UInt8(ascii: "[") || first == UInt8(ascii: "{") || first == UInt8(ascii: "\"")
            || first == UInt8(ascii: "'")
        {
            var scanner = FlowScanner(bytes: bytes, offset: offset, limit: bytes.count)
            let value = try scanner.value(reader: self, inFlow: false)
            // The rest of the line where the value ended must be empty.
            line = lines.lastIndex { $0.start <= scanner.offset } ?? line
            guard try restIsEmpty(from: scanner.offset, line: line) else {
                throw failure("unexpected text after the value", at: scanner.offset)
            }
            line += 1
            return value
        }
        // A plain scalar: to the end of the line or a comment, and on more indented lines below.
        var words = [plainText(from: offset, line: line)]
        line += 1
        while let next = try nextContent(from: line), next.indent > blockIndent {
            let start = lines[next.line].start + next.indent
            let isKey = try mappingKey(at: start, line: next.line) != nil
            if isSequenceEntry(atLine: next.line, offset: start) || isKey {
                throw failure("this line is more indented than the structure it is in", at: start)
            }
            words.append(plainText(from: start, line: next.line))
            line = next.line + 1
        }
        let text = words.joined(separator: " ")
        if words.count == 1, text.contains(": ") {
            throw failure("a plain value cannot hold ': '; quote it", at: offset)
        }
        return ConfigValue.plain(text)
    }

    private func isSequenceEntry(atLine index: Int, offset: Int) -> Bool {
        let end = lines[index].end
        return offset < end && bytes[offset] == UInt8(ascii: "-") && (offset + 1 == end || bytes[offset + 1] == 32)
    }

    /// The text of a plain scalar from `offset` to the end of the line or a ` #` comment, trailing spaces cut.
    private func plainText(from offset: Int, line index: Int) -> String {
        var end = lines[index].end
        var position = offset
        while position < end {
            if bytes[position] == UInt8(ascii: "#"), position > offset, bytes[position - 1] == 32 {
                end = position
                break
            }
            position += 1
        }
        while end > offset, bytes[end - 1] == 32 { end -= 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    /// Whether line `index` holds nothing but spaces and maybe a comment from `offset` on.
    private func restIsEmpty(from offset: Int, line index: Int) throws(Failure) -> Bool {
        var position = offset
        while position < lines[index].end, bytes[position] == 32 { position += 1 }
        return position == lines[index].end || bytes[position] == UInt8(ascii: "#")
    }

    /// A literal (`|`) or folded (`>`) block scalar, with an optional chomping indicator (`-` strips the last line
    /// break, `+` keeps every trailing one).
    private mutating func blockScalar(at offset: Int, blockIndent: Int) throws(Failure) -> ConfigValue {
        let literal = bytes[offset] == UInt8(ascii: "|")
        var position = offset + 1
        var chomping: UInt8?
        if position < lines[line].end, bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
            chomping = bytes[position]
            position += 1
        }
        guard try restIsEmpty(from: position, line: line) else {
            throw failure("a block scalar's indicator (| or >) ends its line", at: position)
        }
        line += 1
        var contentIndent: Int?
        var texts: [String] = []
        while line < lines.count {
            let (start, end) = lines[line]
            var spaces = 0
            while start + spaces < end, bytes[start + spaces] == 32 { spaces += 1 }
            if start + spaces == end {
                texts.append("")
                line += 1
                continue
            }
            if contentIndent == nil {
                guard spaces > blockIndent else { break }
                contentIndent = spaces
            }
            guard let indent = contentIndent, spaces >= indent else { break }
            texts.append(String(decoding: bytes[(start + indent)..<end], as: UTF8.self))
            line += 1
        }
        // Blank lines after the last one with text are trailing, not part of the scalar's lines.
        var trailing = 0
        while let last = texts.last, last.isEmpty {
            texts.removeLast()
            trailing += 1
        }
        var text: String
        if literal {
            text = texts.joined(separator: "\n")
        } else {
            // Folded: lines joined by a space; each empty line between two stands for one line break.
            text = ""
            var previousEmpty = false
            for (index, piece) in texts.enumerated() {
                if piece.isEmpty {
                    text += "\n"
                    previousEmpty = true
                    continue
                }
                if index > 0 && !previousEmpty { text += " " }
                text += piece
                previousEmpty = false
            }
        }
        switch chomping {
        case UInt8(ascii: "-"): break
        case UInt8(ascii: "+"): text += String(repeating: "\n", count: texts.isEmpty ? trailing : trailing + 1)
        default: if !texts.isEmpty { text += "\n" }
        }
        return .string(text)
    }

    fileprivate func error(_ message: String, at offset: Int) -> Failure { failure(message, at: offset) }
}

/// Scans flow collections and quoted scalars, which may run over several lines.
private struct FlowScanner {
    let bytes: [UInt8]
    var offset: Int
    let limit: Int

    init(bytes: [UInt8], offset: Int, limit: Int) {
        self.bytes = bytes
        self.offset = offset
        self.limit = limit
    }

    /// Skips spaces, line breaks and comments.
    mutating func skipSpace() {
        while offset < limit {
            let byte = bytes[offset]
            if byte == 32 || byte == 9 || byte == 10 || byte == 13 {
                offset += 1
            } else if byte == UInt8(ascii: "#"), offset == 0 || [32, 9, 10, 13].contains(bytes[offset - 1]) {
                while offset < limit, bytes[offset] != 10 { offset += 1 }
            } else {
                return
            }
        }
    }

    mutating func value(reader: YAMLReader, inFlow: Bool) throws(YAMLReader.Failure) -> ConfigValue {
        skipSpace()
        guard offset < limit else { throw reader.error("a value is missing", at: offset) }
        switch bytes[offset] {
        case UInt8(ascii: "["):
            offset += 1
            var items: [ConfigValue] = []
            while true {
                skipSpace()
                guard offset < limit else { throw reader.error("the list is not closed with ']'", at: offset) }
                if bytes[offset] == UInt8(ascii: "]") {
                    offset += 1
                    return .array(items)
                }
                items.append(try value(reader: reader, inFlow: true))
                try separator(closing: UInt8(ascii: "]"), reader: reader, what: "list")
            }
        case UInt8(ascii: "{"):
            offset += 1
            var pairs: [(String, ConfigValue)] = []
            while true {
                skipSpace()
                guard offset < limit else { throw reader.error("the object is not closed with '}'", at: offset) }
                if bytes[offset] == UInt8(ascii: "}") {
                    offset += 1
                    return .object(pairs)
                }
                let keyStart = offset
                let key: String
                switch try value(reader: reader, inFlow: true) {
                case .string(let text): key = text
                case .null: key = ""
                case .bool(let flag): key = String(flag)
                case .number: key = String(decoding: bytes[keyStart..<offset], as: UTF8.self)
                default: throw reader.error("a key must be text", at: keyStart)
                }
                skipSpace()
                guard offset < limit, bytes[offset] == UInt8(ascii: ":") else {
                    throw reader.error("expected ':' after the key \"\(key)\"", at: offset)
                }
                offset += 1
                skipSpace()
                if offset < limit, bytes[offset] == UInt8(ascii: ",") || bytes[offset] == UInt8(ascii: "}") {
                    pairs.append((key, .null))
                } else {
                    pairs.append((key, try value(reader: reader, inFlow: true)))
                }
                try separator(closing: UInt8(ascii: "}"), reader: reader, what: "object")
            }
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return try quoted(reader: reader)
        case UInt8(ascii: "&"), UInt8(ascii: "*"):
            throw reader.error("YAML anchors and aliases (& and *) are not supported in the configuration", at: offset)
        case UInt8(ascii: "!"):
            throw reader.error("YAML tags (!) are not supported in the configuration", at: offset)
        default:
            return try plain(reader: reader, inFlow: inFlow)
        }
    }

    /// After an item: a comma (then maybe the closing bracket), or the closing bracket.
    private mutating func separator(closing: UInt8, reader: YAMLReader, what: String) throws(YAMLReader.Failure) {
        skipSpace()
        guard offset < limit else {
            throw reader.error("the \(what) is not closed with '\(Character(Unicode.Scalar(closing)))'", at: offset)
        }
        if bytes[offset] == UInt8(ascii: ",") {
            offset += 1
        } else if bytes[offset] != closing {
            throw reader.error(
                "expected ',' or '\(Character(Unicode.Scalar(closing)))' in the \(what)",
                at: offset
            )
        }
    }

    /// A plain scalar in a flow collection: up to `,`, `]`, `}`, `: `, a comment or the line's end.
    private mutating func plain(reader: YAMLReader, inFlow: Bool) throws(YAMLReader.Failure) -> ConfigValue {
        let start = offset
        while offset < limit {
            let byte = bytes[offset]
            if byte == 10 || byte == 13 { break }
            if inFlow, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { break }
            if byte == UInt8(ascii: ":"),
                offset + 1 == limit
                    || [
                        32, 9, 10, 13, UInt8(ascii: ","), UInt8(ascii: "]"),
                        UInt8(ascii: "}"),
                    ].contains(bytes[offset + 1])
            {
                break
            }
            if byte == UInt8(ascii: "#"), offset > start, bytes[offset - 1] == 32 { break }
            offset += 1
        }
        var end = offset
        while end > start, bytes[end - 1] == 32 || bytes[end - 1] == 9 { end -= 1 }
        guard end > start else { throw reader.error("a value is missing", at: start) }
        return ConfigValue.plain(String(decoding: bytes[start..<end], as: UTF8.self))
    }

    /// A single- or double-quoted scalar, on one line.
    mutating func quoted(reader: YAMLReader) throws(YAMLReader.Failure) -> ConfigValue {
        let quote = bytes[offset]
        let start = offset
        offset += 1
        var text: [UInt8] = []
        while true {
            guard offset < limit, bytes[offset] != 10 else {
                throw reader.error("the quoted text is not closed on its line", at: start)
            }
            let byte = bytes[offset]
            if byte == quote {
                if quote == UInt8(ascii: "'"), offset + 1 < limit, bytes[offset + 1] == quote {
                    text.append(quote)
                    offset += 2
                    continue
                }
                offset += 1
                return .string(String(decoding: text, as: UTF8.self))
            }
            if quote == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") {
                try escape(into: &text, reader: reader)
                continue
            }
            text.append(byte)
            offset += 1
        }
    }

    /// A double-quoted scalar's escape at `offset` (a backslash).
    private mutating func escape(into text: inout [UInt8], reader: YAMLReader) throws(YAMLReader.Failure) {
        let start = offset
        guard offset + 1 < limit else { throw reader.error("an escape is cut short", at: start) }
        let letter = bytes[offset + 1]
        offset += 2
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "0"): 0, UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "t"): 9, 9: 9,
            UInt8(ascii: "n"): 10, UInt8(ascii: "v"): 11, UInt8(ascii: "f"): 12, UInt8(ascii: "r"): 13,
            UInt8(ascii: "e"): 27, 32: 32, UInt8(ascii: "\""): 34, UInt8(ascii: "/"): 47, UInt8(ascii: "\\"): 92,
        ]
        if let byte = simple[letter] {
            text.append(byte)
            return
        }
        let digits: Int
        switch letter {
        case UInt8(ascii: "x"): digits = 2
        case UInt8(ascii: "u"): digits = 4
        case UInt8(ascii: "U"): digits = 8
        case UInt8(ascii: "N"): text += Array("\u{85}".utf8); return
        case UInt8(ascii: "_"): text += Array("\u{A0}".utf8); return
        case UInt8(ascii: "L"): text += Array("\u{2028}".utf8); return
        case UInt8(ascii: "P"): text += Array("\u{2029}".utf8); return
        default: throw reader.error("an unknown escape \\\(Character(Unicode.Scalar(letter)))", at: start)
        }
        guard offset + digits <= limit,
            let code = UInt32(String(decoding: bytes[offset..<offset + digits], as: UTF8.self), radix: 16),
            let scalar = Unicode.Scalar(code)
        else { throw reader.error("an escape is not \(digits) hexadecimal digits of a character", at: start) }
        offset += digits
        text += Array(String(Character(scalar)).utf8)
    }
}

extension ConfigValue {
    /// A plain scalar, typed as the YAML core schema types it.
    static func plain(_ text: String) -> ConfigValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default:
            if let number = Double(text),
                text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true
            {
                return .number(number)
            }
            return .string(text)
        }
    }
}
