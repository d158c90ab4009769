import ArgumentParser
import BatchRunner

/// `batchproc`: run batches through the processor locally, as Lambda would.
///
/// Exit status: 0 with a partial batch response on stdout; 1 with Lambda's error shape on stdout when the
/// invocation fails as a whole; 2 on a usage error (explained on stderr); 74 when the answer could not be written
/// (standard output closed or full). No input, output or argument makes it trap.
@main
enum BatchProcMain {
    static func main() async {
        let context = RunnerContext.startingProcess()
        StandardStreams.exit(
            await RunnerMain.run(programName: "batchproc", root: BatchProc.self, context: context, parse: parseCommand)
        )
    }

    /// The command the arguments name. `batchproc process …`, the command a function runs on every cold start,
    /// is parsed on its own first: building the whole command tree (every subcommand's options, by reflection)
    /// costs a few milliseconds of start-up. Anything that does not parse that way (help, a mistake, another
    /// subcommand) goes through the whole tree, so messages and help are the same either way.
    private static func parseCommand() throws -> any ParsableCommand {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == ProcessCommand.configuration.commandName,
            let command = try? ProcessCommand.parseAsRoot(Array(arguments.dropFirst())) as? ProcessCommand
        {
            return command
        }
        return try BatchProc.parseAsRoot()
    }
}

struct BatchProc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchproc",
        abstract: "Process AWS Lambda batches (SQS, Kinesis, DynamoDB Streams, Kafka) with partial failure reporting.",
        subcommands: [
            ProcessCommand.self, ServeCommand.self, ReplayCommand.self, LambdaCommand.self, IdempotencyCommand.self,
            BenchCommand.self,
        ]
    )
}
