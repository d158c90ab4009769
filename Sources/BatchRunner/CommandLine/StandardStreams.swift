import BatchProcessingSystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The exit statuses of a runner program (``BatchProgram``, `batchproc`).
package enum ExitStatus {
    /// The invocation failed as a whole; Lambda's error shape is on standard output.
    package static let invocationFailed: Int32 = 1
    /// A usage error: bad arguments, options or environment values, an unreadable file (explained on stderr).
    package static let usage: Int32 = 2
    /// The answer could not be written to standard output (sysexits' `EX_IOERR`).
    package static let outputFailed: Int32 = 74
}

/// A usage error found while running (an unreadable file, a bad environment value): said on standard error, exit
/// status 2.
package struct UsageError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem. New codes may be added; switch with a `default`.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String {
            case invalidArguments
            case invalidConfiguration
            case unreadableInput
            case unwritableOutput
            case storeFailed
            case setupFailed
        }

        let kind: Kind

        /// Arguments or options that do not fit together or name nothing (`lambda` without its variable, the
        /// chain given twice, no store named).
        package static let invalidArguments = Code(kind: .invalidArguments)
        /// The chain file or a `BATCH_PROCESSING_*` variable is wrong (the message has the file and the key).
        package static let invalidConfiguration = Code(kind: .invalidConfiguration)
        /// An event file, folder or standard input cannot be read, or holds no event.
        package static let unreadableInput = Code(kind: .unreadableInput)
        /// A file the command writes (the replay report, the effect log) cannot be written.
        package static let unwritableOutput = Code(kind: .unwritableOutput)
        /// An idempotency store could not be opened or used.
        package static let storeFailed = Code(kind: .storeFailed)
        /// What the command needs around it could not be set up: the metrics backend, the SIGTERM handling, the
        /// spool, the Lambda Runtime API.
        package static let setupFailed = Code(kind: .setupFailed)

        package var description: String { kind.rawValue }
    }

    /// The kind of problem.
    package var code: Code
    /// What is wrong and where, in one line.
    package var message: String

    /// Creates the error.
    package init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}

/// The standard streams of the process, written with calls that report errors instead of trapping; a value made
/// once at start-up (``guardingClosedDescriptors()``) and passed to what writes answers, so that it is known which
/// streams the process was started without.
package struct StandardStreams: Sendable {
    /// Which of descriptors 0, 1 and 2 were closed when the process started.
    package let closedAtStart: Set<Int32>

    /// Streams of a process started with all three open (or whose start is not known: tests, embedding).
    package init(closedAtStart: Set<Int32> = []) {
        self.closedAtStart = closedAtStart
    }

    /// Notes which standard descriptors the process was started without, and puts `/dev/null` in their place:
    /// otherwise the next file the process opens would take the number, and the answer meant for standard output
    /// could land in it. Reading a stream that was closed is then an error, and so is writing the answer to it.
    /// Call it first thing in `main`, before any other thread exists (``BatchProgram`` does).
    package static func guardingClosedDescriptors() -> StandardStreams {
        var closed: Set<Int32> = []
        for descriptor: Int32 in [0, 1, 2] where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            closed.insert(descriptor)
            let placeholder = open("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY)
            if placeholder >= 0, placeholder != descriptor {
                dup2(placeholder, descriptor)
                close(placeholder)
            }
        }
        return StandardStreams(closedAtStart: closed)
    }

    /// Whether standard input can be read: false when the process was started without it.
    package var inputIsOpen: Bool { !closedAtStart.contains(0) }

    /// Writes a line to standard output; false when it could not be written (closed, full, a closed pipe).
    package func output(_ text: String) -> Bool {
        output(Array(text.utf8))
    }

    /// Writes `bytes` and a newline to standard output; false when they could not be written.
    package func output(_ bytes: [UInt8]) -> Bool {
        guard !closedAtStart.contains(1) else { return false }
        return (try? LineWriter.standardOutput.writeLine(bytes)) != nil
    }

    /// Writes a line to standard error, or drops it when standard error is closed: there is nowhere else to say it.
    package func error(_ text: String) {
        LineWriter.standardError.write(line: text)
    }

    /// Waits, on the calling thread, until something ends the process (``exit(_:)`` on another thread): what a
    /// synchronous `main` does while the program runs on the concurrency pool.
    package static func waitForExit() -> Never {
        while true { pause() }
    }

    /// Ends the process with `status` (after standard output's lines, which are written unbuffered).
    package static func exit(_ status: Int32) -> Never {
        #if canImport(Glibc)
        Glibc.exit(status)
        #elseif canImport(Musl)
        Musl.exit(status)
        #else
        Darwin.exit(status)
        #endif
    }
}

/// What a runner command runs with, made once when the process starts and passed down to every command (never
/// read from process-wide state): the standard streams and the process's variables.
package struct RunnerContext: Sendable {
    /// The standard streams, and which were closed at start.
    package var streams: StandardStreams
    /// The process's environment variables.
    package var environment: [String: String]

    package init(streams: StandardStreams = StandardStreams(), environment: [String: String]) {
        self.streams = streams
        self.environment = environment
    }

    /// The context of this process: closed standard descriptors replaced and noted, the variables read. Call it
    /// first thing in `main`, before any other thread exists.
    package static func startingProcess() -> RunnerContext {
        RunnerContext(streams: .guardingClosedDescriptors(), environment: ProcessEnvironment.variables)
    }
}
