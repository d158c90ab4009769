import BatchProcessingSystemSupport
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The calls of the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`) a custom runtime needs: take the next invocation,
/// answer it, report an invocation's or the start-up's error.
///
/// HTTP/1.1 over one kept-alive TCP connection, made on first use and made again when the server closed it; each
/// answer framed in one pass (``HTTPResponseReader``). A long-polled `/next` blocks on a serial dispatch queue of the
/// client's own (so that no thread of the concurrency pool waits through it, and no thread is started per call); an
/// answer or an error, which the Runtime API takes at once, is sent from the calling thread. One client serves one
/// invocation loop; Lambda Managed Instances' loops each have their own.
///
/// What the Runtime API's answers mean (its OpenAPI description, 2018-06-01): `/next` answers 200 with an
/// invocation; anything else (403, or 500: "container error, non-recoverable state, runtime should exit promptly")
/// leaves the runtime nothing to do, so ``next()`` throws and the program exits, and Lambda starts a new
/// environment. An answer or an error `POST` is accepted with 202; a 500 there is the same non-recoverable state
/// (``Failure``); any other refusal (400, 403, 413 for a response too large) concerns that invocation only:
/// ``Delivery/refused(status:body:)``, which the loop logs with the request id before taking the next invocation.
final class LambdaRuntimeClient: Sendable {
    /// `host:port` of the Runtime API.
    let endpoint: String
    private let queue: DispatchQueue
    private let connection: Connection

    init(endpoint: String) {
        self.endpoint = endpoint
        queue = DispatchQueue(label: "lambda-runtime-api")
        connection = Connection(endpoint: endpoint)
    }

    /// An invocation, as the Runtime API hands it over.
    struct Invocation: Sendable {
        var requestID: String
        /// Milliseconds since 1970 when the function times out.
        var deadlineMilliseconds: Int64?
        var functionARN: String?
        var traceID: String?
        var event: [UInt8]
    }

    /// What became of an answer or an error sent for an invocation.
    enum Delivery: Sendable, Equatable {
        case accepted
        /// Refused for this invocation only (400, 403, 413…): the loop goes on.
        case refused(status: Int, body: String)
    }

    /// A call that failed: the connection, an answer that is not HTTP, or a state the runtime cannot go on from.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Waits for the next invocation (as long as it takes: Lambda may freeze the process meanwhile).
    func next() async throws(Failure) -> Invocation {
        let response = try await call("GET", "/2018-06-01/runtime/invocation/next", body: [])
        guard response.status == 200 else {
            throw Failure(
                description: "the next invocation answered HTTP \(response.status)"
                    + (response.status == 500 ? " (a container error: the runtime cannot go on)" : "")
                    + Self.excerpt(response.body)
            )
        }
        guard let requestID = response.headers["lambda-runtime-aws-request-id"], Self.isPathSafe(requestID) else {
            throw Failure(
                description: "the next invocation has no usable Lambda-Runtime-Aws-Request-Id header ("
                    + "\(response.headers["lambda-runtime-aws-request-id"].map { "'\($0)'" } ?? "none"))"
            )
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
    func respond(to requestID: String, with body: [UInt8]) async throws(Failure) -> Delivery {
        try await deliver("POST", "/2018-06-01/runtime/invocation/\(requestID)/response", body: body)
    }

    /// Fails an invocation as a whole (Lambda retries the batch, or sends it to the failure destination).
    func fail(_ requestID: String, errorJSON: [UInt8], errorType: String) async throws(Failure) -> Delivery {
        try await deliver(
            "POST",
            "/2018-06-01/runtime/invocation/\(requestID)/error",
            body: errorJSON,
            headers: ["Lambda-Runtime-Function-Error-Type": errorType]
        )
    }

    /// Reports that the function could not start (Lambda then fails the invocation and restarts the runtime).
    func failStart(errorJSON: [UInt8], errorType: String) async throws(Failure) -> Delivery {
        try await deliver(
            "POST",
            "/2018-06-01/runtime/init/error",
            body: errorJSON,
            headers: ["Lambda-Runtime-Function-Error-Type": errorType]
        )
    }

    private func deliver(
        _ method: String,
        _ path: String,
        body: [UInt8],
        headers: [String: String] = [:]
    ) async throws(Failure) -> Delivery {
        let response = try await call(method, path, body: body, headers: headers)
        if (200..<300).contains(response.status) { return .accepted }
        if response.status == 500 {
            throw Failure(
                description: "\(method) \(path) answered HTTP 500 (a container error: the runtime cannot go on)"
                    + Self.excerpt(response.body)
            )
        }
        return .refused(status: response.status, body: String(decoding: response.body.prefix(300), as: UTF8.self))
    }

    private static func excerpt(_ body: [UInt8]) -> String {
        body.isEmpty ? "" : ": " + String(decoding: body.prefix(300), as: UTF8.self)
    }

    /// A request id that can stand in a path as it is (Lambda's are UUIDs).
    static func isPathSafe(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy {
                $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#")
                    && $0 != UInt8(ascii: "%")
            }
    }

    /// Sends a request and reads its answer. A `/next`, which may wait for seconds, waits on the client's queue; an
    /// answer or an error, which the Runtime API takes at once, is sent from the calling task's thread, sparing
    /// two hand-offs between threads per invocation.
    private func call(
        _ method: String,
        _ path: String,
        body: [UInt8],
        headers: [String: String] = [:]
    ) async throws(Failure) -> HTTPResponseReader.Response {
        let connection = self.connection
        if method != "GET" {
            return try connection.exchange(method, path, body: body, headers: headers).get()
        }
        let result: Result<HTTPResponseReader.Response, Failure> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: connection.exchange(method, path, body: body, headers: headers))
            }
        }
        return try result.get()
    }

    // MARK: - The connection

    /// The kept-alive connection, used by one call at a time (a loop asks for its next invocation only after it
    /// answered the last): its state is touched under `busy`.
    final class Connection: @unchecked Sendable {
        private let busy = Mutex<Void>(())
        let endpoint: String
        private var descriptor: Int32 = -1
        private var reader = HTTPResponseReader()
        private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

        init(endpoint: String) {
            self.endpoint = endpoint
        }

        deinit {
            if descriptor >= 0 { close(descriptor) }
        }

        /// Sends a request and reads its answer. A connection the server closed while it was idle is made again
        /// once, and the request sent again, when not a byte of the answer had come.
        func exchange(
            _ method: String,
            _ path: String,
            body: [UInt8],
            headers: [String: String]
        ) -> Result<HTTPResponseReader.Response, Failure> {
            busy.withLock { _ in exchangeHoldingLock(method, path, body: body, headers: headers) }
        }

        private func exchangeHoldingLock(
            _ method: String,
            _ path: String,
            body: [UInt8],
            headers: [String: String]
        ) -> Result<HTTPResponseReader.Response, Failure> {
            var request = "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nUser-Agent: swift-batch-processing\r\n"
            request += "Content-Length: \(body.count)\r\n"
            for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request += "\(name): \(value)\r\n" }
            request += "\r\n"
            let bytes = Array(request.utf8) + body
            var lastFailure = Failure(description: "no answer")
            for attempt in 0..<2 {
                let reused = descriptor >= 0
                if !reused {
                    switch LambdaRuntimeClient.connect(endpoint) {
                    case .success(let value):
                        descriptor = value
                        reader = HTTPResponseReader()
                    case .failure(let failure):
                        return .failure(failure)
                    }
                }
                switch roundTrip(bytes) {
                case .answered(let response):
                    if response.headers["connection"]?.lowercased() == "close" || reader.hasUnreadBytes { drop() }
                    return .success(response)
                case .closedBeforeAnswer(let failure) where reused && attempt == 0:
                    // The server closed the idle connection: the request never reached it.
                    drop()
                    lastFailure = failure
                case .closedBeforeAnswer(let failure), .failed(let failure):
                    drop()
                    return .failure(Failure(description: "\(method) \(path): \(failure.description)"))
                }
            }
            return .failure(Failure(description: "\(method) \(path): \(lastFailure.description)"))
        }

        private enum Outcome {
            case answered(HTTPResponseReader.Response)
            case closedBeforeAnswer(Failure)
            case failed(Failure)
        }

        private func roundTrip(_ request: [UInt8]) -> Outcome {
            do {
                try SystemIO.send(request, on: descriptor)
            } catch {
                let failure = Failure(description: "cannot send: \(error)")
                return error.code == EPIPE || error.code == ECONNRESET ? .closedBeforeAnswer(failure) : .failed(failure)
            }
            var received = 0
            while true {
                let count: Int
                do {
                    count = try SystemIO.read(descriptor, into: &chunk)
                } catch {
                    let failure = Failure(description: "cannot read the answer: \(error)")
                    return received == 0 && error.code == ECONNRESET ? .closedBeforeAnswer(failure) : .failed(failure)
                }
                if count == 0 {
                    guard received > 0 else {
                        return .closedBeforeAnswer(Failure(description: "the connection closed before an answer"))
                    }
                    do throws(HTTPResponseReader.Failure) {
                        return .answered(try reader.finish())
                    } catch {
                        return .failed(Failure(description: error.description))
                    }
                }
                received += count
                do throws(HTTPResponseReader.Failure) {
                    if let response = try reader.feed(chunk[0..<count]) { return .answered(response) }
                } catch {
                    return .failed(Failure(description: error.description))
                }
            }
        }

        private func drop() {
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
            reader = HTTPResponseReader()
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
