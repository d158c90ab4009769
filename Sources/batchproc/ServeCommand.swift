import ArgumentParser
import BatchRunner

/// `batchproc serve`: the host worker. One batch event per line of standard input, one answer per line of standard
/// output, in order; SIGTERM (or SIGINT) finishes the batch in flight and exits 0.
struct ServeCommand: RunnerCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run as a host worker: batch events as JSON lines on standard input, one answer line for each.",
        discussion: ServeOptions.discussion + "\n\nThe options are those of `batchproc process`."
    )

    @OptionGroup
    var options: ProcessingOptions

    @OptionGroup
    var serve: ServeOptions

    func run(_ context: RunnerContext) async throws {
        try await options.prepare(context).serve(spool: serve.spool, pollInterval: serve.pollInterval)
    }
}
