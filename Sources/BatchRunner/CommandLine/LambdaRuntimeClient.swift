import BatchProcessingSystemSupport
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few calls of the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`) a custom runtime needs: take the next
/// invocation, answer it, report an invocation's or the start-up's error. HTTP/1.1 over a local TCP connection, one
/// connection per call (`Connection: close`), blocking calls made on a thread of their own so that no thread of the
/// concurrency pool waits for the next invocation.
///
/// This is the whole of what the packaged `bootstrap` of an example needs on `provided.al2023`; a program that
/// already uses swift-aws-lambda-runtime calls the processor from its handler instead (see the examples' READMEs).
struct LambdaRuntimeClient: Sendable {
    /// `host:port` of the Runtime API.
    let endpoint: String

    /// An invocation, as the Runtime API hands it over.
    struct Invocation: Sendable {
        var requestID: String
        /// Milliseconds since 1970 when the function times out.
        var deadlineMilliseconds: Int64?
        var functionARN: String?
        var traceID: String?
        var event: [UInt8]
    }

    /// A call that failed: the connection, or an answer that was not what the API gives.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Waits for the next invocation.
    func next() async throws(Failure) -> Invocation {
        let response = try await call("GET", "/2018-06-01/runtime/invocation/next", body: [])
        guard response.status == 200 else {
            throw Failure(description: "the next invocation answered HTTP \(response.status)")
        }
        guard let requestID = response.headers["lambda-runtime-aws-request-id"], !requestID.isEmpty else {
            throw Failure(description: "the next invocation has no Lambda-Runtime-Aws-Request-Id header")
        }
        return Invocation(
            requestID: requestID,
            deadlineMilliseconds: response.headers["lambda-runtime-deadline-ms"].flatMap { Int64($0) },
            functionARN: response.headers["lambda-runtime-invoked-function-arn"],
            traceID: response.headers["lambda-runtime-trace-id"],
            event: response.body
        )
    }

    /// Answers an invocation with its response.
    func respond(to requestID: String, with body: [UInt8]) async throws(Failure) {
        try await expectAccepted("POST", "/2018-06-01/runtime/invocation/\(requestID)/response", body: body)
    }

    /// Fails an invocation as a whole (Lambda retries the batch, or sends it to the failure destination).
    func fail(_ requestID: String, errorJSON: [UInt8], errorType: String) async throws(Failure) {
        try await expectAccepted(
            "POST",
            "/2018-06-01/runtime/invocation/\(requestID)/error",
            body: errorJSON,
            headers: ["Lambda-Runtime-Function-Error-Type": errorType]
        )
    }

    /// Reports that the function could not start (Lambda then fails the invocation and restarts the runtime).
    func failStart(errorJSON: [UInt8], errorType: String) async throws(Failure) {
        try await expectAccepted(
            "POST",
            "/2018-06-01/runtime/init/error",
            body: errorJSON,
            headers: ["Lambda-Runtime-Function-Error-Type": errorType]
        )
    }

    private func expectAccepted(
        _ method: String,
        _ path: String,
        body: [UInt8],
        headers: [String: String] = [:]
    ) async throws(Failure) {
        let response = try await call(method, path, body: body, headers: headers)
        guard (200..<300).contains(response.status) else {
            let text = String(decoding: response.body.prefix(300), as: UTF8.self)
            throw Failure(description: "\(method) \(path) answered HTTP \(response.status): \(text)")
        }
    }

    // MARK: - HTTP

    struct Response {
        var status: Int
        /// Header names in lower case.
        var headers: [String: String]
        var body: [UInt8]
    }

    private func call(
        _ method: String,
        _ path: String,
        body: [UInt8],
        headers: [String: String] = [:]
    ) async throws(Failure) -> Response {
        let endpoint = self.endpoint
        let result: Result<Response, Failure> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Self.blockingCall(endpoint, method, path, body, headers))
            }
            thread.name = "LambdaRuntimeClient"
            thread.start()
        }
        return try result.get()
    }

    private static func blockingCall(
        _ endpoint: String,
        _ method: String,
        _ path: String,
        _ body: [UInt8],
        _ headers: [String: String]
    ) -> Result<Response, Failure> {
        let descriptor: Int32
        switch connect(endpoint) {
        case .success(let value): descriptor = value
        case .failure(let failure): return .failure(failure)
        }
        defer { close(descriptor) }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nUser-Agent: swift-batch-processing\r\n"
        request += "Connection: close\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        do {
            try SystemIO.send(Array(request.utf8) + body, on: descriptor)
        } catch {
            return .failure(Failure(description: "cannot send \(method) \(path): \(error)"))
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var answer: Result<Response, Failure>?
        while answer == nil {
            let count: Int
            do {
                count = try SystemIO.read(descriptor, into: &chunk)
            } catch {
                return .failure(Failure(description: "cannot read the answer to \(method) \(path): \(error)"))
            }
            if count > 0 {
                received.append(contentsOf: chunk[0..<count])
                // Taken as soon as it is whole: a server may keep the connection open despite `Connection: close`.
                answer = parse(received, atEnd: false)
            } else {
                answer = parse(received, atEnd: true)
            }
        }
        return (answer ?? .failure(Failure(description: "no answer"))).mapError {
            Failure(description: "\(method) \(path): \($0.description)")
        }
    }

    /// The response in `bytes`, or `nil` while it is not whole: the headers, then all of the body that
    /// `Content-Length` announces or a chunked body's last chunk (without either, the body ends with the
    /// connection). With `atEnd` (the server closed the connection) what is there is all there will be, and a part
    /// that is missing is a failure.
    static func parse(_ bytes: [UInt8], atEnd: Bool) -> Result<Response, Failure>? {
        func cutShort(_ description: String) -> Result<Response, Failure>? {
            atEnd ? .failure(Failure(description: description)) : nil
        }
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else {
            return cutShort("the answer ended before its headers did")
        }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            return .failure(Failure(description: "the answer is not HTTP/1.1"))
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(bytes[end.upperBound...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            guard let decoded = dechunk(body) else {
                return cutShort("the chunked body of the answer is cut short or malformed")
            }
            body = decoded
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            guard body.count >= length else {
                return cutShort("the answer's body has \(body.count) of its \(length) bytes")
            }
            body = Array(body.prefix(length))
        } else if !atEnd {
            return nil
        }
        return .success(Response(status: status, headers: headers, body: body))
    }

    /// The bytes of a chunked body, or `nil` when it is malformed or cut short.
    static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
        var result: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = bytes[index...].firstRange(of: [13, 10]) else { return nil }
            let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else { return nil }
            index = lineEnd.upperBound
            if size == 0 { return result }
            guard index + size <= bytes.count else { return nil }
            result.append(contentsOf: bytes[index..<index + size])
            index += size + 2
        }
    }

    private static func connect(_ endpoint: String) -> Result<Int32, Failure> {
        guard let colon = endpoint.lastIndex(of: ":"), let port = UInt16(endpoint[endpoint.index(after: colon)...])
        else {
            return .failure(Failure(description: "AWS_LAMBDA_RUNTIME_API is not host:port: '\(endpoint)'"))
        }
        let host = String(endpoint[..<colon])
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let found = getaddrinfo(host, String(port), &hints, &list)
        guard found == 0, let first = list else {
            return .failure(Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(found)))"))
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            let descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            if descriptor >= 0 {
                do throws(SystemCallError) {
                    try SystemIO.connect(
                        descriptor,
                        to: address.pointee.ai_addr,
                        length: Int(address.pointee.ai_addrlen)
                    )
                    return .success(descriptor)
                } catch {
                    lastError = error.code
                    close(descriptor)
                }
            } else {
                lastError = errno
            }
            entry = address.pointee.ai_next
        }
        return .failure(Failure(description: "cannot connect to \(endpoint): \(SystemIO.describe(lastError))"))
    }
}
