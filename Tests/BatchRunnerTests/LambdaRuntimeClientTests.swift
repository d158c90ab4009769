import Foundation
import Synchronization
import Testing

@testable import BatchRunner

#if canImport(Glibc)
import Glibc
#endif

/// A Runtime API on loopback for the client's tests: it answers each request with the next scripted answer and
/// counts the connections it accepted. With `closesAfterEachAnswer` it closes every connection after answering
/// (without saying so), as a server that drops idle connections does.
final class ScriptedRuntimeAPI: @unchecked Sendable {
    struct Answer {
        var status: Int
        var headers: [String: String] = [:]
        var body = ""
    }

    let port: UInt16
    private let listener: Int32
    private let state = Mutex<(answers: [Answer], requests: [String], connections: Int)>(([], [], 0))

    struct SetupFailed: Error {}

    init(_ answers: [Answer], closesAfterEachAnswer: Bool = false) throws {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, length) }
        }
        guard bound == 0, listen(socketDescriptor, 8) == 0 else { throw SetupFailed() }
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socketDescriptor, $0, &length) }
        }
        listener = socketDescriptor
        port = UInt16(bigEndian: address.sin_port)
        state.withLock { $0.answers = answers }
        // Weakly held: when the test lets the server go, deinit closes the listener and this thread ends.
        let thread = Thread { [weak self] in
            while true {
                let connection = accept(socketDescriptor, nil, nil)
                guard connection >= 0, let server = self else { return }
                server.state.withLock { $0.connections += 1 }
                // Held by the connection's thread until the client closes it: a connection is always answered.
                Thread { server.serve(connection, closing: closesAfterEachAnswer) }.start()
            }
        }
        thread.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    var endpoint: String { "127.0.0.1:\(port)" }
    var requests: [String] { state.withLock { $0.requests } }
    var connections: Int { state.withLock { $0.connections } }

    private func serve(_ connection: Int32, closing: Bool) {
        defer { close(connection) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            // One request: its head, then the body its Content-Length announces.
            var head: Range<Int>?
            while head == nil {
                head = buffer.firstRange(of: [13, 10, 13, 10])
                if head != nil { break }
                let count = read(connection, &chunk, chunk.count)
                guard count > 0 else { return }
                buffer += chunk[0..<count]
            }
            let text = String(decoding: buffer[..<head!.lowerBound], as: UTF8.self)
            let length =
                text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            while buffer.count < head!.upperBound + length {
                let count = read(connection, &chunk, chunk.count)
                guard count > 0 else { return }
                buffer += chunk[0..<count]
            }
            buffer.removeFirst(head!.upperBound + length)
            let answer: Answer? = state.withLock { state in
                state.requests.append(String(text.split(separator: "\r\n")[0]))
                return state.answers.isEmpty ? nil : state.answers.removeFirst()
            }
            guard let answer else { return }
            var response = "HTTP/1.1 \(answer.status) Status\r\nContent-Length: \(answer.body.utf8.count)\r\n"
            for (name, value) in answer.headers { response += "\(name): \(value)\r\n" }
            response += "\r\n" + answer.body
            let bytes = Array(response.utf8)
            _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if closing { return }
        }
    }
}

@Suite("Lambda Runtime API client: one kept-alive connection, and the API's answers as documented")
struct LambdaRuntimeClientTests {
    static let invocation = ScriptedRuntimeAPI.Answer(
        status: 200,
        headers: ["Lambda-Runtime-Aws-Request-Id": "req-1", "Lambda-Runtime-Deadline-Ms": "1700000000000"],
        body: #"{"Records":[]}"#
    )
    static let accepted = ScriptedRuntimeAPI.Answer(status: 202, body: #"{"status":"OK"}"#)

    @Test("Invocations and answers go over one connection, kept alive")
    func keptAlive() async throws {
        let api = try ScriptedRuntimeAPI([Self.invocation, Self.accepted, Self.invocation, Self.accepted])
        let client = LambdaRuntimeClient(endpoint: api.endpoint)
        defer { withExtendedLifetime(api) {} }
        for _ in 0..<2 {
            let next = try await client.next()
            #expect(next.requestID == "req-1" && next.deadlineMilliseconds == 1_700_000_000_000)
            #expect(next.event == Array(#"{"Records":[]}"#.utf8))
            #expect(try await client.respond(to: next.requestID, with: Array("{}".utf8)) == .accepted)
        }
        #expect(api.connections == 1)
        #expect(
            api.requests == [
                "GET /2018-06-01/runtime/invocation/next HTTP/1.1",
                "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1",
                "GET /2018-06-01/runtime/invocation/next HTTP/1.1",
                "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1",
            ]
        )
    }

    @Test("A connection the server closed while idle is made again, and the call goes through")
    func reconnects() async throws {
        let api = try ScriptedRuntimeAPI(
            [Self.invocation, Self.accepted, Self.invocation],
            closesAfterEachAnswer: true
        )
        let client = LambdaRuntimeClient(endpoint: api.endpoint)
        defer { withExtendedLifetime(api) {} }
        let next = try await client.next()
        #expect(try await client.respond(to: next.requestID, with: Array("{}".utf8)) == .accepted)
        #expect(try await client.next().requestID == "req-1")
        #expect(api.connections == 3)
    }

    @Test("An answer refused (413) is that invocation's matter; a 500 is a state the runtime cannot go on from")
    func refusals() async throws {
        let api = try ScriptedRuntimeAPI([
            .init(status: 413, body: "Payload Too Large"), .init(status: 403, body: "Forbidden"),
            .init(status: 500, body: "container error"), .init(status: 500),
        ])
        let client = LambdaRuntimeClient(endpoint: api.endpoint)
        defer { withExtendedLifetime(api) {} }
        #expect(
            try await client.respond(to: "req-1", with: Array("{}".utf8))
                == .refused(status: 413, body: "Payload Too Large")
        )
        #expect(
            try await client.fail("req-1", errorJSON: [], errorType: "X") == .refused(status: 403, body: "Forbidden")
        )
        let fatal = await #expect(throws: LambdaRuntimeClient.Failure.self) {
            try await client.respond(to: "req-2", with: [])
        }
        #expect(fatal?.description.contains("HTTP 500 (a container error: the runtime cannot go on)") == true)
        let next = await #expect(throws: LambdaRuntimeClient.Failure.self) { try await client.next() }
        #expect(next?.description.contains("the next invocation answered HTTP 500") == true)
    }

    @Test("Nothing listening: the call fails saying where it tried")
    func nothingListening() async throws {
        // Port 1 (below the ephemeral range, so a connection cannot meet itself) has no server on loopback.
        let client = LambdaRuntimeClient(endpoint: "127.0.0.1:1")
        let failure = await #expect(throws: LambdaRuntimeClient.Failure.self) { try await client.next() }
        #expect(
            failure?.description.contains("cannot connect to 127.0.0.1:1") == true,
            "\(String(describing: failure))"
        )
    }
}
