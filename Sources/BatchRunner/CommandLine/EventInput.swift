import BatchProcessingSystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an event from a path or standard input with plain system calls, so that any readable file works (a
/// regular file, a pipe, a FIFO, `/dev/stdin`, `/dev/fd/N`) and every failure is an error, never a trap.
package enum EventInput {
    /// The bytes of `path`, or of standard input for `-`.
    ///
    /// - Parameters:
    ///   - path: the file, or `-` for standard input.
    ///   - streams: the process's standard streams, which say whether standard input was closed at start.
    /// - Throws: ``UsageError`` saying which file and why: missing, a directory, not readable.
    package static func read(_ path: String, streams: StandardStreams) throws(UsageError) -> [UInt8] {
        if path == "-" {
            if !streams.inputIsOpen {
                throw UsageError(
                    .unreadableInput,
                    message: "cannot read standard input: it is closed; give an event file or pipe one in"
                )
            }
            return try readAll(descriptor: 0, name: "standard input")
        }
        let descriptor: Int32
        do {
            descriptor = try SystemIO.open(path, O_RDONLY | O_CLOEXEC)
        } catch {
            throw UsageError(
                .unreadableInput,
                message: "cannot read event file '\(path)': \(describeErrno(error.code))"
            )
        }
        defer { close(descriptor) }
        return try readAll(descriptor: descriptor, name: "event file '\(path)'")
    }

    private static func readAll(descriptor: Int32, name: String) throws(UsageError) -> [UInt8] {
        var status = stat()
        if fstat(descriptor, &status) != 0 {
            throw UsageError(.unreadableInput, message: "cannot read \(name): \(describeErrno(errno))")
        }
        if status.st_mode & S_IFMT == S_IFDIR {
            throw UsageError(
                .unreadableInput,
                message: "cannot read \(name): it is a directory; give the path of an event file"
            )
        }
        let size = status.st_mode & S_IFMT == S_IFREG ? Int(status.st_size) : 0
        do {
            return try SystemIO.readToEnd(descriptor, expectedSize: size)
        } catch {
            throw UsageError(.unreadableInput, message: "cannot read \(name): \(describeErrno(error.code))")
        }
    }

    private static func describeErrno(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such file"
        case EACCES: "permission denied"
        case EISDIR: "it is a directory; give the path of an event file"
        case EBADF: "it is closed"
        default: String(cString: strerror(code))
        }
    }
}
