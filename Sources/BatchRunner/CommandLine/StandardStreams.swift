import JSONLogging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The exit statuses of a runner program (``BatchProgram``, `batchproc`).
public enum ExitStatus {
    /// The invocation failed as a whole; Lambda's error shape is on standard output.
    public static let invocationFailed: Int32 = 1
    /// A usage error: bad arguments, options or environment values, an unreadable file (explained on stderr).
    public static let usage: Int32 = 2
    /// The answer could not be written to standard output (sysexits' `EX_IOERR`).
    public static let outputFailed: Int32 = 74
}

/// A usage error found while running (an unreadable file, a bad environment value): said on standard error, exit
/// status 2.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem. New codes may be added; switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
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
        public static let invalidArguments = Code(kind: .invalidArguments)
        /// The chain file or a `BATCH_PROCESSING_*` variable is wrong (the message has the file and the key).
        public static let invalidConfiguration = Code(kind: .invalidConfiguration)
        /// An event file, folder or standard input cannot be read, or holds no event.
        public static let unreadableInput = Code(kind: .unreadableInput)
        /// A file the command writes (the replay report, the effect log) cannot be written.
        public static let unwritableOutput = Code(kind: .unwritableOutput)
        /// An idempotency store could not be opened or used.
        public static let storeFailed = Code(kind: .storeFailed)
        /// What the command needs around it could not be set up: the metrics backend, the SIGTERM handling, the
        /// spool, the Lambda Runtime API.
        public static let setupFailed = Code(kind: .setupFailed)

        public var description: String { kind.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// What is wrong and where, in one line.
    public var message: String

    /// Creates the error.
    public init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The standard streams, written with calls that report errors instead of trapping.
public enum StandardStreams {
    /// Which of descriptors 0, 1 and 2 were closed when the process started.
    nonisolated(unsafe) public private(set) static var closedAtStart: Set<Int32> = []

    /// Notes which standard descriptors the process was started without, and puts `/dev/null` in their place:
    /// otherwise the next file the process opens would take the number, and the answer meant for standard output
    /// could land in it. Reading a stream that was closed is then an error, and so is writing the answer to it.
    /// Call it first thing in `main`, before any other thread exists (``BatchProgram`` does).
    public static func guardClosedDescriptors() {
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
    public static func output(_ text: String) -> Bool {
        guard !closedAtStart.contains(1) else { return false }
        return (try? LineWriter.standardOutput.writeLine(Array(text.utf8))) != nil
    }

    /// Writes a line to standard error, or drops it when standard error is closed: there is nowhere else to say it.
    public static func error(_ text: String) {
        LineWriter.standardError.write(line: text)
    }

    /// Ends the process with `status` (after standard output's lines, which are written unbuffered).
    public static func exit(_ status: Int32) -> Never {
        #if canImport(Glibc)
        Glibc.exit(status)
        #elseif canImport(Musl)
        Musl.exit(status)
        #else
        Darwin.exit(status)
        #endif
    }
}
