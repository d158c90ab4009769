import AWSLambdaRuntime
import BatchProcessing
import Logging

let processor = BatchProcessor()
let logger = Logger(label: "example")

// docs: begin
let runtime = LambdaRuntime { (event: KinesisEvent, context: LambdaContext) async throws -> PartialBatchResponse in
    let invocation = InvocationContext(
        requestID: context.requestID,
        functionARN: context.invokedFunctionARN,
        traceID: context.traceID,
        remainingTime: context.getRemainingTime(),
        logger: logger
    )
    return try await processor.process(event, context: invocation) {
        (click: KinesisEvent.Record, record: RecordContext) in
        let view = try click.kinesis.decodeData(as: PageView.self)
        record.logger.info("page view", metadata: ["session_id": "\(view.sessionId)", "page": "\(view.page)"])
    }.response
}
try await runtime.run()
// docs: end

// Not shown: what the example's main.swift defines, with its signatures.
struct PageView: Decodable, Sendable {
    var sessionId: String
    var page: String
}
