import BatchProcessingJSONSupport
public import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The facts of one Lambda invocation (or one local run) that the processor passes to every record.
public struct InvocationContext: Sendable {
    /// The Lambda request id.
    public var requestID: String?
    /// The function's name; `nil` at creation reads `AWS_LAMBDA_FUNCTION_NAME`.
    public var functionName: String?
    /// The ARN the function was invoked with (swift-aws-lambda-runtime: `context.invokedFunctionARN`), written in
    /// logs as `function_arn`.
    public var functionARN: String?
    /// The X-Ray trace header the runtime gives for this invocation (`Root=1-…;Parent=…;Sampled=1`, or just the
    /// root); its `Root=` part is written in logs as `xray_trace_id`. swift-aws-lambda-runtime 2.x passes it in
    /// its context (`context.traceID`) and does not set `_X_AMZN_TRACE_ID`, so give it here.
    public var traceID: String?
    /// When the invocation times out. `nil` means no deadline (a local run or a host service).
    public var deadline: ContinuousClock.Instant?
    /// The logger the processor derives every record's logger from.
    public var logger: Logger
    /// When requested, the processor starts no further record of the batch: running ones finish, the rest are
    /// skipped and reported. `nil` (the default) for a Lambda invocation, which ends by its deadline instead.
    public var shutdown: ShutdownSignal?

    /// Creates the context of an invocation.
    public init(
        requestID: String? = nil,
        functionName: String? = nil,
        functionARN: String? = nil,
        traceID: String? = nil,
        deadline: ContinuousClock.Instant? = nil,
        logger: Logger = Logger(label: "BatchProcessing"),
        shutdown: ShutdownSignal? = nil
    ) {
        self.requestID = requestID
        self.functionName = functionName ?? ProcessInfo.processInfo.environment["AWS_LAMBDA_FUNCTION_NAME"]
        self.functionARN = functionARN
        self.traceID = traceID
        self.deadline = deadline
        self.logger = logger
        self.shutdown = shutdown
    }

    /// Creates the context of an invocation that has `remainingTime` left, as Lambda runtimes report it
    /// (swift-aws-lambda-runtime: `context.getRemainingTime()`).
    public init(
        requestID: String? = nil,
        functionName: String? = nil,
        functionARN: String? = nil,
        traceID: String? = nil,
        remainingTime: Duration,
        logger: Logger = Logger(label: "BatchProcessing")
    ) {
        self.init(
            requestID: requestID,
            functionName: functionName,
            functionARN: functionARN,
            traceID: traceID,
            deadline: .now + remainingTime,
            logger: logger
        )
    }

    /// The logger with the invocation's keys: `function_request_id`, `function_name`, `function_arn`,
    /// `xray_trace_id` (the `Root=` part of ``traceID``) and, when given, `cold_start`.
    func loggerWithMetadata(coldStart: Bool?) -> Logger {
        var logger = self.logger
        if let requestID { logger[metadataKey: "function_request_id"] = .string(requestID) }
        if let functionName { logger[metadataKey: "function_name"] = .string(functionName) }
        if let functionARN { logger[metadataKey: "function_arn"] = .string(functionARN) }
        if let traceID {
            logger[metadataKey: "xray_trace_id"] = .string(XRay.traceRoot(of: traceID) ?? traceID)
        }
        if let coldStart { logger[metadataKey: "cold_start"] = .stringConvertible(coldStart) }
        return logger
    }
}
