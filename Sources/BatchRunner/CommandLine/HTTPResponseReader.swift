/// Reads HTTP/1.1 responses from the bytes of a kept-alive connection as they arrive, in one pass: each byte is
/// looked at once to find the end of the head, once more if it is a chunk-size line, and copied once into the body.
/// The body's end is its `Content-Length`, the last chunk of a chunked body, or, without either, the connection's
/// end. Bytes that arrive after a whole response stay for the next one.
struct HTTPResponseReader {
    /// A whole response.
    struct Response: Equatable {
        var status: Int
        /// Header names in lower case; a header sent twice keeps its last value.
        var headers: [String: String]
        var body: [UInt8]
    }

    /// What arrived can never be a response: it says what is wrong.
    struct Failure: Error, CustomStringConvertible, Equatable {
        var description: String
    }

    private enum State {
        /// Before the blank line that ends the head; `searched` bytes of `buffer` hold no end yet.
        case head(searched: Int)
        /// A body of known length: `remaining` bytes to come.
        case body(remaining: Int)
        /// A chunked body, at a chunk-size line.
        case chunkSize
        /// Inside a chunk: `remaining` bytes of it, then its CRLF.
        case chunkData(remaining: Int)
        /// After the last chunk: trailer lines until an empty one.
        case trailer
        /// A body that ends with the connection.
        case untilClose
    }

    private var buffer: [UInt8] = []
    /// Where the unread part of `buffer` starts.
    private var cursor = 0
    private var state = State.head(searched: 0)
    private var status = 0
    private var headers: [String: String] = [:]
    private var body: [UInt8] = []

    /// A reader for the responses of one connection.
    init() {}

    /// Adds bytes that arrived; gives the response once it is whole, `nil` while it is not.
    ///
    /// - Throws: ``Failure`` for a head or a chunk framing that is not HTTP/1.1.
    mutating func feed(_ bytes: ArraySlice<UInt8>) throws(Failure) -> Response? {
        if cursor > 0 && cursor == buffer.count {
            // Everything read: start the buffer afresh (positions in it start afresh too).
            buffer.removeAll(keepingCapacity: true)
            cursor = 0
            if case .head = state { state = .head(searched: 0) }
        }
        buffer.append(contentsOf: bytes)
        return try advance()
    }

    /// The connection ended: the response when its body runs to the connection's end, else what was missing.
    mutating func finish() throws(Failure) -> Response {
        switch state {
        case .untilClose:
            body.append(contentsOf: buffer[cursor...])
            cursor = buffer.count
            return take()
        case .head:
            throw Failure(description: "the connection closed before the answer's headers were whole")
        case .body(let remaining):
            throw Failure(description: "the connection closed \(remaining) bytes before the end of the answer's body")
        case .chunkSize, .chunkData, .trailer:
            throw Failure(description: "the connection closed before the last chunk of the answer's body")
        }
    }

    /// Whether bytes of a next response are waiting (a server that answered more than was asked).
    var hasUnreadBytes: Bool { cursor < buffer.count }

    private mutating func advance() throws(Failure) -> Response? {
        while true {
            switch state {
            case .head(let searched):
                // The blank line may straddle what came before: look again from three bytes back.
                var index = max(cursor, searched - 3)
                var end: Int?
                while index + 3 < buffer.count {
                    if buffer[index] == 13, buffer[index + 1] == 10, buffer[index + 2] == 13, buffer[index + 3] == 10 {
                        end = index
                        break
                    }
                    index += 1
                }
                guard let end else {
                    state = .head(searched: buffer.count)
                    return nil
                }
                try readHead(buffer[cursor..<end])
                cursor = end + 4
            case .body(let remaining):
                let count = min(remaining, buffer.count - cursor)
                body.append(contentsOf: buffer[cursor..<cursor + count])
                cursor += count
                guard remaining == count else {
                    state = .body(remaining: remaining - count)
                    return nil
                }
                return take()
            case .chunkSize:
                guard let line = nextLine() else { return nil }
                let digits = line.prefix { $0 != UInt8(ascii: ";") }.drop { $0 == 32 || $0 == 9 }
                guard let size = Int(String(decoding: digits, as: UTF8.self).trimmingSpaces, radix: 16), size >= 0
                else {
                    throw Failure(
                        description:
                            "a chunk of the answer's body has no size: '\(String(decoding: line, as: UTF8.self))'"
                    )
                }
                state = size == 0 ? .trailer : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let count = min(remaining, buffer.count - cursor)
                body.append(contentsOf: buffer[cursor..<cursor + count])
                cursor += count
                guard remaining == count else {
                    state = .chunkData(remaining: remaining - count)
                    return nil
                }
                // The chunk's CRLF.
                guard buffer.count - cursor >= 2 else {
                    state = .chunkData(remaining: 0)
                    return nil
                }
                guard buffer[cursor] == 13, buffer[cursor + 1] == 10 else {
                    throw Failure(description: "a chunk of the answer's body is longer than its size says")
                }
                cursor += 2
                state = .chunkSize
            case .trailer:
                guard let line = nextLine() else { return nil }
                if line.isEmpty { return take() }
            case .untilClose:
                body.append(contentsOf: buffer[cursor...])
                cursor = buffer.count
                return nil
            }
        }
    }

    /// The status line and the headers, and the framing of the body they announce.
    private mutating func readHead(_ head: ArraySlice<UInt8>) throws(Failure) {
        var lines = head.split(separator: [13, 10], omittingEmptySubsequences: false)[...]
        guard let statusLine = lines.popFirst() else { throw Failure(description: "the answer has no status line") }
        let words = statusLine.split(separator: 32, maxSplits: 2)
        guard words.count >= 2, words[0].starts(with: Array("HTTP/1.".utf8)),
            let code = Int(String(decoding: words[1], as: UTF8.self)), (100...999).contains(code)
        else {
            throw Failure(
                description: "the answer is not HTTP/1.1: '\(String(decoding: statusLine.prefix(80), as: UTF8.self))'"
            )
        }
        status = code
        headers = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            headers[name] = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces
        }
        body = []
        if (100..<200).contains(code) || code == 204 || code == 304 {
            state = .body(remaining: 0)
        } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            state = .chunkSize
        } else if let text = headers["content-length"] {
            guard let length = Int(text), length >= 0 else {
                throw Failure(description: "the answer's Content-Length is not a length: '\(text)'")
            }
            state = .body(remaining: length)
        } else {
            state = .untilClose
        }
    }

    /// The next CRLF-ended line (without its CRLF), or `nil` while it has not all arrived.
    private mutating func nextLine() -> ArraySlice<UInt8>? {
        var index = cursor
        while index + 1 < buffer.count {
            if buffer[index] == 13, buffer[index + 1] == 10 {
                let line = buffer[cursor..<index]
                cursor = index + 2
                return line
            }
            index += 1
        }
        return nil
    }

    private mutating func take() -> Response {
        let response = Response(status: status, headers: headers, body: body)
        state = .head(searched: cursor)
        body = []
        headers = [:]
        return response
    }
}

extension String {
    /// The text without spaces and tabs at either end.
    fileprivate var trimmingSpaces: String {
        let utf8 = self.utf8
        let start = utf8.firstIndex { $0 != 32 && $0 != 9 } ?? utf8.endIndex
        let end = utf8.lastIndex { $0 != 32 && $0 != 9 }.map { utf8.index(after: $0) } ?? start
        return String(self[start..<end])
    }
}
