public import ArgumentParser
import BatchProcessingJSONSupport

/// Runs a command-line program built on ArgumentParser the way every runner program behaves: usage errors on
/// standard error with status 2, `--help` on standard output with status 0, an `ExitCode` as is, and nothing that
/// makes the process trap (a closed standard stream is replaced by `/dev/null` first; see
/// ``StandardStreams/guardClosedDescriptors()``).
public enum RunnerMain {
    /// Parses and runs a command, and answers the process's exit status.
    ///
    /// - Parameters:
    ///   - programName: the name at the start of error messages.
    ///   - root: the root command, whose messages and help are used for errors.
    ///   - parse: makes the command to run from the arguments (by default, `root.parseAsRoot()`); a program may
    ///     parse its most frequent command on its own first, to start faster.
    public static func run(
        programName: String,
        root: any ParsableCommand.Type,
        parse: (() throws -> any ParsableCommand)? = nil
    ) async -> Int32 {
        do {
            var command = try parse?() ?? root.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch let error as UsageError {
            // A path or value from the command line may hold a newline: escaped, it cannot pass for a log line.
            StandardStreams.error("\(programName): error: \(ControlCharacters.escaped(error.message))")
            return ExitStatus.usage
        } catch {
            let message = root.fullMessage(for: error)
            if root.exitCode(for: error) == .success {
                // --help and --version: the text is the answer, so it goes to standard output.
                guard StandardStreams.output(message) else { return ExitStatus.outputFailed }
                return 0
            }
            StandardStreams.error(message)
            return ExitStatus.usage
        }
    }
}
