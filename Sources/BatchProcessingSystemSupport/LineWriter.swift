import Synchronization

/// Writes whole lines to a file descriptor, one at a time, so that lines written from concurrent tasks never
/// interleave. Share one writer per descriptor: the JSON log handler and the EMF backend both use
/// ``standardOutput`` and ``standardError``.
public final class LineWriter: Sendable {
    private enum Target: Sendable {
        case fileDescriptor(Int32)
        case sink(@Sendable ([UInt8]) -> Void)
    }

    private let target: Target
    private let lock = Mutex<Void>(())

    /// Standard output (descriptor 1).
    public static let standardOutput = LineWriter(fileDescriptor: 1)
    /// Standard error (descriptor 2).
    public static let standardError = LineWriter(fileDescriptor: 2)

    /// A writer to an open file descriptor, which the caller keeps open.
    public init(fileDescriptor: Int32) {
        target = .fileDescriptor(fileDescriptor)
    }

    /// A writer that hands each line (with its newline) to `sink`, one at a time: for tests and custom outputs.
    public init(sink: @escaping @Sendable ([UInt8]) -> Void) {
        target = .sink(sink)
    }

    /// Why a line could not be written: the system's error number and its text.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        /// The `errno` value, such as `EPIPE` for a closed pipe or `ENOSPC` for a full disk; 0 for a sink.
        public let code: Int32
        /// What went wrong, in words.
        public let message: String

        public var description: String { message }
    }

    /// Writes `line` and a newline (unless it already ends with one) as one unit, and says when it could not:
    /// a closed descriptor, a closed pipe (with SIGPIPE ignored, as systemd runs services), a full disk.
    ///
    /// - Throws: ``WriteError`` with the system's error; part of the line may have been written.
    public func writeLine(_ line: [UInt8]) throws(WriteError) {
        var line = line
        if line.last != UInt8(ascii: "\n") { line.append(UInt8(ascii: "\n")) }
        let failure: WriteError? = lock.withLock { _ -> WriteError? in
            switch target {
            case .sink(let sink):
                sink(line)
                return nil
            case .fileDescriptor(let descriptor):
                do throws(SystemCallError) {
                    try SystemIO.write(line, to: descriptor)
                    return nil
                } catch {
                    return WriteError(code: error.code, message: "cannot write to descriptor \(descriptor): \(error)")
                }
            }
        }
        if let failure { throw failure }
    }

    /// Writes `line` and a newline (unless it already ends with one) as one unit. A line that cannot be written
    /// is dropped: a log line has nowhere left to say so. Use ``writeLine(_:)`` to learn of failures.
    public func write(line: [UInt8]) {
        try? writeLine(line)
    }

    /// Writes `line` (UTF-8) and a newline as one unit.
    public func write(line: String) {
        write(line: Array(line.utf8))
    }
}
