#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the process runs, as its environment tells.
public enum RuntimeEnvironment: String, Sendable, CaseIterable {
    /// An AWS Lambda function (`AWS_LAMBDA_FUNCTION_NAME` is set).
    case lambda
    /// A systemd service whose standard error is connected to the journal (`JOURNAL_STREAM` names it).
    case systemdService
    /// An interactive terminal.
    case terminal
    /// Anything else: a pipe, a file, a container's log collector.
    case pipe

    /// The environment of this process.
    public static func detect(environment: [String: String]) -> RuntimeEnvironment {
        if environment["AWS_LAMBDA_FUNCTION_NAME"] != nil { return .lambda }
        if let stream = environment["JOURNAL_STREAM"], isJournalStream(stream, fileDescriptor: 2) {
            return .systemdService
        }
        return isatty(2) == 1 ? .terminal : .pipe
    }

    /// True when `journalStream` (`JOURNAL_STREAM`'s `device:inode`) is the file behind `fileDescriptor`:
    /// systemd sets the variable for a service whose output goes to the journal, and a child process that
    /// redirected the descriptor elsewhere no longer matches.
    public static func isJournalStream(_ journalStream: String, fileDescriptor: Int32) -> Bool {
        let parts = journalStream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(fileDescriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
