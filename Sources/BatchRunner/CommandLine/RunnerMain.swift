package import ArgumentParser
import BatchProcessingJSONSupport

/// A command that runs with the runner's context (``RunnerContext``) handed to it, instead of reaching for
/// process-wide state.
package protocol RunnerCommand: ParsableCommand {
    /// Runs the command.
    func run(_ context: RunnerContext) async throws
}

/// Runs a command-line program built on ArgumentParser the way every runner program behaves: usage errors on
/// standard error with status 2, `--help` on standard output with status 0, an `ExitCode` as is, and nothing that
/// makes the process trap (a closed standard stream is replaced by `/dev/null` first; see
/// ``StandardStreams/guardingClosedDescriptors()``).
package enum RunnerMain {
    /// Parses and runs a command, and answers the process's exit status.
    ///
    /// - Parameters:
    ///   - programName: the name at the start of error messages.
    ///   - root: the root command, whose messages and help are used for errors.
    ///   - context: the streams and variables the command runs with.
    ///   - parse: makes the command to run from the arguments; a program may parse its most frequent command on its
    ///     own first, to start faster.
    ///   - execute: runs a parsed command; by default a ``RunnerCommand`` with `context`, any other with its `run()`.
    package static func run(
        programName: String,
        root: any ParsableCommand.Type,
        context: RunnerContext,
        parse: () throws -> any ParsableCommand,
        execute: ((any ParsableCommand) async throws -> Void)? = nil
    ) async -> Int32 {
        let streams = context.streams
        do {
            let command = try parse()
            if let execute {
                try await execute(command)
            } else {
                try await run(command, context: context)
            }
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch let error as UsageError {
            // A path or value from the command line may hold a newline: escaped, it cannot pass for a log line.
            streams.error("\(programName): error: \(ControlCharacters.escaped(error.message))")
            return ExitStatus.usage
        } catch {
            let message = root.fullMessage(for: error)
            if root.exitCode(for: error) == .success {
                // --help and --version: the text is the answer, so it goes to standard output.
                guard streams.output(message) else { return ExitStatus.outputFailed }
                return 0
            }
            streams.error(message)
            return ExitStatus.usage
        }
    }

    /// Runs `command` as ArgumentParser would, but a ``RunnerCommand`` with `context`.
    package static func run(_ command: any ParsableCommand, context: RunnerContext) async throws {
        if let command = command as? any RunnerCommand {
            try await command.run(context)
        } else if var command = command as? any AsyncParsableCommand {
            try await command.run()
        } else {
            var command = command
            try command.run()
        }
    }
}
