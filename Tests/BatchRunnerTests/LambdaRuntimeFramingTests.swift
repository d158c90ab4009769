import Testing

@testable import BatchRunner

/// The Runtime API client's framing of HTTP answers, without a server: whole answers in pieces of any size, chunked
/// bodies split anywhere, answers back to back on one connection, and what can never be an answer.
@Suite("Lambda Runtime API client: framing answers")
struct LambdaRuntimeFramingTests {
    typealias Reader = HTTPResponseReader

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let nextAnswer = bytes(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-1\r\n"
            + "lambda-runtime-DEADLINE-ms: 1700000000000\r\nContent-Length: 13\r\n\r\n{\"Records\":1}"
    )

    static let chunkedAnswer = bytes(
        "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\nA\r\n0123456789\r\n"
            + "0\r\nX-Trailer: 1\r\n\r\n"
    )

    /// Feeds `bytes` in pieces of `size` bytes; the responses that came whole, in order.
    static func read(_ bytes: [UInt8], pieces size: Int, reader: inout Reader) throws -> [Reader.Response] {
        var responses: [Reader.Response] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            if let response = try reader.feed(bytes[start..<end]) { responses.append(response) }
            // A piece may end one response and start the next: what is left is read on the next feed.
            while reader.hasUnreadBytes, let more = try reader.feed([]) { responses.append(more) }
            start = end
        }
        return responses
    }

    @Test("A Content-Length answer is whole once its body is, in pieces of any size; header names in any case")
    func contentLength() throws {
        for size in 1...Self.nextAnswer.count {
            var reader = Reader()
            let responses = try Self.read(Self.nextAnswer, pieces: size, reader: &reader)
            try #require(responses.count == 1, "pieces of \(size)")
            #expect(responses[0].status == 200)
            #expect(responses[0].headers["lambda-runtime-aws-request-id"] == "req-1")
            #expect(responses[0].headers["lambda-runtime-deadline-ms"] == "1700000000000")
            #expect(responses[0].body == Self.bytes(#"{"Records":1}"#))
        }
    }

    @Test("A chunked answer is whole at its last chunk and trailer, split anywhere; its chunks are joined")
    func chunked() throws {
        for size in 1...Self.chunkedAnswer.count {
            var reader = Reader()
            let responses = try Self.read(Self.chunkedAnswer, pieces: size, reader: &reader)
            try #require(responses.count == 1, "pieces of \(size)")
            #expect(responses[0].status == 202)
            #expect(responses[0].body == Self.bytes("abcdefg0123456789"))
        }
    }

    @Test("Answers back to back on one kept-alive connection are read one after the other")
    func backToBack() throws {
        let stream =
            Self.nextAnswer + Self.chunkedAnswer + Self.bytes("HTTP/1.1 204 No Content\r\n\r\n") + Self.nextAnswer
        for size in [1, 7, 64, stream.count] {
            var reader = Reader()
            let responses = try Self.read(stream, pieces: size, reader: &reader)
            #expect(responses.map(\.status) == [200, 202, 204, 200], "pieces of \(size)")
            #expect(responses.last?.body == Self.bytes(#"{"Records":1}"#))
        }
    }

    @Test("Every prefix of an answer is not whole yet, and an error saying what was missing once the connection ends")
    func prefixes() throws {
        for cut in 0..<Self.nextAnswer.count {
            var reader = Reader()
            #expect(try reader.feed(Self.nextAnswer[..<cut]) == nil, "cut at \(cut)")
            #expect(throws: Reader.Failure.self, "cut at \(cut)") { try reader.finish() }
        }
        var reader = Reader()
        _ = try reader.feed(Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")[...])
        let failure = #expect(throws: Reader.Failure.self) { try reader.finish() }
        #expect(failure?.description == "the connection closed 7 bytes before the end of the answer's body")
        var chunked = Reader()
        _ = try chunked.feed(Self.chunkedAnswer.prefix(60))
        let cut = #expect(throws: Reader.Failure.self) { try chunked.finish() }
        #expect(cut?.description == "the connection closed before the last chunk of the answer's body")
    }

    @Test("Without Content-Length or chunks, the body is what came before the connection closed")
    func untilClose() throws {
        var reader = Reader()
        #expect(try reader.feed(Self.bytes("HTTP/1.1 200 OK\r\n\r\nbo")[...]) == nil)
        #expect(try reader.feed(Self.bytes("dy")[...]) == nil)
        #expect(try reader.finish().body == Self.bytes("body"))
    }

    @Test("What is not HTTP/1.1, a bad length or a bad chunk is refused at once, not read past")
    func malformed() {
        func failure(_ text: String) -> String? {
            var reader = Reader()
            do {
                _ = try reader.feed(Self.bytes(text)[...])
                return nil
            } catch {
                return error.description
            }
        }
        #expect(failure("SSH-2.0-OpenSSH\r\n\r\n") == "the answer is not HTTP/1.1: 'SSH-2.0-OpenSSH'")
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n")?.contains("Content-Length is not") == true)
        #expect(failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")?.contains("no size") == true)
        #expect(
            failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n")?.contains("longer than")
                == true
        )
    }

    @Test("Request ids that could not stand in a path as they are are refused")
    func requestIDs() {
        #expect(LambdaRuntimeClient.isPathSafe("8476a536-e9f4-11e8-9739-2dfe598c3fcd"))
        for bad in ["", "a/b", "a b", "a\r\nHost: x", "a?b", "a%2F", "é"] {
            #expect(!LambdaRuntimeClient.isPathSafe(bad), "\(bad)")
        }
    }
}
