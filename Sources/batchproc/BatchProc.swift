import ArgumentParser
import BatchProcessing
import JSONLogging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `batchproc`: run batches through the processor locally, as Lambda would.
///
/// Exit status: 0 with a partial batch response on stdout; 1 with Lambda's error shape on stdout when the
/// invocation fails as a whole; 2 on a usage error (explained on stderr); 74 when the answer could not be written
/// (standard output closed or full). No input, output or argument makes it trap.
@main
enum BatchProcMain {
    static func main() async {
        StandardStreams.guardClosedDescriptors()
        do {
            var command = try parseCommand()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Self.exit(exit.rawValue)
        } catch let error as UsageError {
            StandardStreams.error("batchproc: error: \(error.message)")
            Self.exit(2)
        } catch {
            let message = BatchProc.fullMessage(for: error)
            if BatchProc.exitCode(for: error) == .success {
                // --help and --version: the text is the answer, so it goes to standard output.
                guard StandardStreams.output(message) else { Self.exit(ExitStatus.outputFailed) }
                Self.exit(0)
            }
            StandardStreams.error(message)
            Self.exit(2)
        }
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

    private static func exit(_ status: Int32) -> Never {
        #if canImport(Glibc)
        Glibc.exit(status)
        #elseif canImport(Musl)
        Musl.exit(status)
        #else
        Darwin.exit(status)
        #endif
    }
}

struct BatchProc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchproc",
        abstract: "Process AWS Lambda batches (SQS, Kinesis, DynamoDB Streams, Kafka) with partial failure reporting.",
        subcommands: [
            ProcessCommand.self, ServeCommand.self, ReplayCommand.self, IdempotencyCommand.self, BenchCommand.self,
        ]
    )
}

/// The exit statuses of `batchproc`.
enum ExitStatus {
    /// The invocation failed as a whole; Lambda's error shape is on standard output.
    static let invocationFailed: Int32 = 1
    /// The answer could not be written to standard output (sysexits' `EX_IOERR`).
    static let outputFailed: Int32 = 74
}

/// A usage error found while running (an unreadable file, a bad environment value): said on stderr, exit status 2.
struct UsageError: Error {
    var message: String
}

/// The standard streams, written with calls that report errors instead of trapping.
enum StandardStreams {
    /// Which of descriptors 0, 1 and 2 were closed when the process started.
    nonisolated(unsafe) private(set) static var closedAtStart: Set<Int32> = []

    /// Notes which standard descriptors the process was started without, and puts `/dev/null` in their place:
    /// otherwise the next file the process opens would take the number, and the answer meant for standard output
    /// could land in it. Reading a stream that was closed is then an error, and so is writing the answer to it.
    /// Called first thing in `main`, before any other thread exists.
    static func guardClosedDescriptors() {
        for descriptor: Int32 in [0, 1, 2] where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            closedAtStart.insert(descriptor)
            let placeholder = open("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY)
            if placeholder >= 0, placeholder != descriptor {
                dup2(placeholder, descriptor)
                close(placeholder)
            }
        }
    }

    /// Writes a line to standard output; false when it could not be written (closed, full, a closed pipe).
    static func output(_ text: String) -> Bool {
        guard !closedAtStart.contains(1) else { return false }
        return (try? LineWriter.standardOutput.writeLine(Array(text.utf8))) != nil
    }

    /// Writes a line to standard error, or drops it when standard error is closed: there is nowhere else to say it.
    static func error(_ text: String) {
        LineWriter.standardError.write(line: text)
    }
}
