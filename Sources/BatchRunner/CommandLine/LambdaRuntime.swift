import BatchProcessingJSONSupport

/// The `lambda` command of a program (``BatchProgram``'s, `batchproc`'s): what its runtime reads from the
/// environment Lambda gives it, and how a start that fails is reported.
package enum LambdaRuntime {
    /// Where Lambda says its Runtime API is.
    package static let endpointVariable = "AWS_LAMBDA_RUNTIME_API"
    /// How many invocations the environment serves at once (Lambda Managed Instances); 1 without it.
    package static let concurrencyVariable = "AWS_LAMBDA_MAX_CONCURRENCY"

    /// The help text of a `lambda` command.
    package static let discussion = """
        Takes each invocation from the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API), runs its event through the \
        processor with the invocation's request id, deadline and trace header, and answers with the partial \
        batch response; an invocation that fails as a whole (every record failed, a malformed event) is \
        reported as the invocation's error, so Lambda retries the batch. When the program cannot start (a bad \
        chain file or variable), the start-up error is reported to Lambda and it exits 2. Packaged as \
        `bootstrap`, a program runs this when started without arguments. On Lambda Managed Instances \
        (AWS_LAMBDA_MAX_CONCURRENCY), that many invocations run at once, sharing the processor and its stores.
        """

    /// ``concurrencyVariable``'s value: a whole number of at least 1, or 1 when it is not set.
    package static func concurrency(_ environment: [String: String]) throws(UsageError) -> Int {
        guard let text = environment[concurrencyVariable], !text.isEmpty else { return 1 }
        guard let value = Int(text), value >= 1 else {
            throw UsageError(
                .invalidConfiguration,
                message: "\(concurrencyVariable)=\(text) is not a number of invocations (a whole number, at least 1)"
            )
        }
        return value
    }

    /// Runs the runtime: the session `makeSession` makes, serving the Runtime API's invocations until it goes away.
    /// A session that cannot be made (a bad chain file, a bad variable) is reported to Lambda as the start's error
    /// (`Runtime.InitError`) before the ``UsageError`` is thrown.
    package static func run(
        context: RunnerContext,
        makeSession: () throws(UsageError) -> RunnerSession
    ) async throws {
        guard let endpoint = context.environment[endpointVariable], !endpoint.isEmpty else {
            throw UsageError(
                .invalidArguments,
                message:
                    "\(endpointVariable) is not set: `lambda` is the runtime of a function on AWS Lambda; to run an event here, use invoke"
            )
        }
        let session: RunnerSession
        let concurrency: Int
        do {
            concurrency = try Self.concurrency(context.environment)
            session = try makeSession()
        } catch {
            var json = JSONText()
            json.beginObject()
            json.key("errorMessage")
            json.string(error.message)
            json.key("errorType")
            json.string("Runtime.InitError")
            json.endObject()
            _ = try? await LambdaRuntimeClient(endpoint: endpoint).failStart(
                errorJSON: Array(json.string.utf8),
                errorType: "Runtime.InitError"
            )
            throw error
        }
        try await session.serveLambda(endpoint: endpoint, concurrency: concurrency)
    }
}
