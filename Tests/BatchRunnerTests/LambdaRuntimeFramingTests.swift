import Testing

@testable import BatchRunner

/// The Runtime API client's framing of an HTTP answer, byte by byte, without a server: when an answer is whole,
/// when it is not yet, and when what arrived can never be one.
@Suite("Lambda Runtime API client: framing an answer")
struct LambdaRuntimeFramingTests {
    typealias Client = LambdaRuntimeClient

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// True when `bytes` are not a whole answer yet (the connection still open).
    static func pending(_ bytes: [UInt8]) -> Bool { Client.parse(bytes, atEnd: false) == nil }

    static let nextAnswer = bytes(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-1\r\n"
            + "Lambda-Runtime-Deadline-Ms: 1700000000000\r\nContent-Length: 13\r\n\r\n{\"Records\":1}"
    )

    @Test("A Content-Length answer is whole once its body is, with headers in lower case")
    func contentLength() throws {
        let response = try #require(try Client.parse(Self.nextAnswer, atEnd: false)?.get())
        #expect(response.status == 200)
        #expect(response.headers["lambda-runtime-aws-request-id"] == "req-1")
        #expect(response.headers["lambda-runtime-deadline-ms"] == "1700000000000")
        #expect(response.body == Self.bytes(#"{"Records":1}"#))
    }

    @Test("Every prefix of an answer is not whole yet while the connection is open, and an error once it closed")
    func prefixes() {
        for cut in 0..<Self.nextAnswer.count {
            let prefix = Array(Self.nextAnswer.prefix(cut))
            #expect(Self.pending(prefix), "cut at \(cut)")
            guard case .failure = Client.parse(prefix, atEnd: true) else {
                Issue.record("a closed connection after \(cut) bytes is not an answer")
                continue
            }
        }
    }

    @Test("Bytes after the announced body (a server keeping the connection) are not part of it")
    func trailingBytes() throws {
        let response = try #require(try Client.parse(Self.nextAnswer + Self.bytes("HTTP/1.1 200"), atEnd: false)?.get())
        #expect(response.body == Self.bytes(#"{"Records":1}"#))
    }

    @Test("A cut-short body says how much of it came")
    func cutShortBody() throws {
        let answer = Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        guard case .failure(let failure) = Client.parse(answer, atEnd: true) else {
            Issue.record("a body of 3 of 10 bytes was taken")
            return
        }
        #expect(failure.description == "the answer's body has 3 of its 10 bytes")
    }

    @Test("A chunked answer is whole at its last chunk, and its chunks are joined")
    func chunked() throws {
        let head = "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
        let partial = Self.bytes(head + "4\r\nabcd\r\n3;ext=1\r\nefg\r\n")
        #expect(Self.pending(partial))
        let response = try #require(try Client.parse(partial + Self.bytes("0\r\n\r\n"), atEnd: false)?.get())
        #expect(response.status == 202)
        #expect(response.body == Self.bytes("abcdefg"))
        guard case .failure(let failure) = Client.parse(partial, atEnd: true) else {
            Issue.record("a chunked body without its last chunk was taken")
            return
        }
        #expect(failure.description.contains("chunked body of the answer is cut short or malformed"))
    }

    @Test("Without Content-Length or chunks, the body is what came before the connection closed")
    func untilClose() throws {
        let answer = Self.bytes("HTTP/1.1 200 OK\r\n\r\nbody")
        #expect(Self.pending(answer))
        let response = try #require(try Client.parse(answer, atEnd: true)?.get())
        #expect(response.body == Self.bytes("body"))
    }

    @Test("What is not HTTP/1.1 is refused at once, open connection or not")
    func notHTTP() {
        for atEnd in [false, true] {
            guard case .failure(let failure) = Client.parse(Self.bytes("SSH-2.0-OpenSSH\r\n\r\n"), atEnd: atEnd) else {
                Issue.record("a non-HTTP answer was taken")
                continue
            }
            #expect(failure.description == "the answer is not HTTP/1.1")
        }
    }

    @Test("Malformed chunk sizes are refused, not read past")
    func malformedChunks() {
        #expect(Client.dechunk(Self.bytes("zz\r\nabc\r\n0\r\n\r\n")) == nil)
        #expect(Client.dechunk(Self.bytes("10\r\nabc\r\n")) == nil)
        #expect(Client.dechunk(Self.bytes("3\r\nabc\r\n0\r\n\r\n")) == Self.bytes("abc"))
    }
}
