import ArgumentParser
import BatchRunner

/// `batchproc replay`: many events through one processor, with a summary table and an HTML report.
struct ReplayCommand: RunnerCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run many event files through the processor; print a summary table, optionally an HTML report.",
        discussion: ReplayOptions.discussion + "\n\nThe options are those of `batchproc process`."
    )

    @OptionGroup
    var replay: ReplayOptions

    @OptionGroup
    var options: ProcessingOptions

    func run(_ context: RunnerContext) async throws {
        try await options.prepare(context).replay(paths: replay.paths, report: replay.report)
    }
}
