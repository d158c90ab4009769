// A compile-time stand-in for swift-aws-lambda-runtime 2.x, which this project's build machines cannot fetch: only
// the names the documentation's glue uses, with the library's signatures (LambdaRuntime's closure initializer and
// run(), LambdaContext's requestID, traceID, invokedFunctionARN, logger and getRemainingTime()). scripts/docs-code.py
// builds it as the module AWSLambdaRuntime to type-check that glue; nothing runs it.
import Logging

public struct LambdaContext: Sendable {
    public var requestID: String
    public var traceID: String
    public var invokedFunctionARN: String
    public var logger: Logger
    public func getRemainingTime() -> Duration { .zero }
}

public final class LambdaRuntime<Event: Decodable, Output: Encodable>: Sendable {
    public init(body: sending @escaping (Event, LambdaContext) async throws -> Output) {}
    public func run() async throws {}
}
