import ArgumentParser
import BatchRunner

/// `batchproc lambda`: batchproc as a function's runtime on AWS Lambda (or under a stand-in Runtime API): each
/// invocation's event through the built-in handler and the options' chain, as `process` runs one event.
struct LambdaCommand: RunnerCommand {
    static let configuration = CommandConfiguration(
        commandName: "lambda",
        abstract: "Run as the function's runtime on AWS Lambda: each invocation through the processor.",
        discussion: LambdaRuntime.discussion + "\n\nThe options are those of `batchproc process`."
    )

    @OptionGroup
    var options: ProcessingOptions

    func run(_ context: RunnerContext) async throws {
        try await LambdaRuntime.run(context: context) { () throws(UsageError) in
            do {
                return try options.prepare(context)
            } catch let error as UsageError {
                throw error
            } catch {
                throw UsageError(.setupFailed, message: "\(error)")
            }
        }
    }
}
