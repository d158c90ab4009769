#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A system call that failed: its `errno`.
package struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `errno` value, such as `ENOENT`, `EPIPE` or `ENOSPC`.
    package let code: Int32

    package init(code: Int32) {
        self.code = code
    }

    /// The error of the call that just failed.
    package static func last() -> SystemCallError { SystemCallError(code: errno) }

    /// The system's words for the error (`strerror`).
    package var description: String { SystemIO.describe(code) }
}

/// The system calls the package makes on files, pipes and sockets, in one place: each retried when a signal
/// interrupts it (`EINTR`), each loop carried on until every byte is read or written, and every failure an error,
/// never a trap (a closed pipe, a full disk, a descriptor closed under us).
package enum SystemIO {
    /// Opens `path`, retrying on `EINTR`.
    package static func open(
        _ path: String,
        _ flags: Int32,
        mode: UInt32 = 0o600
    ) throws(SystemCallError) -> Int32 {
        while true {
            let descriptor = systemOpen(path, flags, mode_t(mode))
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw .last() }
        }
    }

    /// One read of at most `buffer.count` bytes; 0 at the end of the input.
    package static func read(
        _ descriptor: Int32,
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(SystemCallError) -> Int {
        while true {
            let count = systemRead(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw .last() }
        }
    }

    /// One read into the start of `chunk`, of at most its size; 0 at the end of the input.
    package static func read(_ descriptor: Int32, into chunk: inout [UInt8]) throws(SystemCallError) -> Int {
        // `withUnsafeMutableBytes` rethrows untyped: the error travels out as a value.
        let result = chunk.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemCallError) in try read(descriptor, into: buffer) }
        }
        return try result.get()
    }

    /// Everything left to read from `descriptor`, or the first `limit` bytes and a little more when it holds more.
    package static func readToEnd(
        _ descriptor: Int32,
        expectedSize: Int = 0,
        limit: Int = .max
    ) throws(SystemCallError) -> [UInt8] {
        var bytes: [UInt8] = []
        if expectedSize > 0 { bytes.reserveCapacity(min(expectedSize, limit)) }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= limit {
            let count = try read(descriptor, into: &chunk)
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Fills `bytes` from `offset` of a file (`pread`); returns how many bytes the file had there, and leaves what
    /// lies past its end as zeros.
    @discardableResult
    package static func read(
        into bytes: inout [UInt8],
        from descriptor: Int32,
        at offset: Int
    ) throws(SystemCallError) -> Int {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress.map { $0 + done }, buffer.count - done, off_t(offset + done))
            }
            if count > 0 {
                done += count
            } else if count == 0 {
                for index in done..<bytes.count { bytes[index] = 0 }
                return done
            } else if errno != EINTR {
                throw .last()
            }
        }
        return done
    }

    /// Writes every byte of `bytes` to `descriptor`: at `offset` of a file (`pwrite`), or at its current position
    /// (`write`, which appends under `O_APPEND`) when `offset` is nil. A write that makes no progress is `EIO`.
    package static func write(
        _ bytes: UnsafeRawBufferPointer,
        to descriptor: Int32,
        at offset: Int? = nil
    ) throws(SystemCallError) {
        guard let base = bytes.baseAddress else { return }
        try untilDone(bytes.count) { done in
            if let offset {
                pwrite(descriptor, base + done, bytes.count - done, off_t(offset + done))
            } else {
                systemWrite(descriptor, base + done, bytes.count - done)
            }
        }
    }

    /// Writes every byte of `bytes` to `descriptor`; see ``write(_:to:at:)-(UnsafeRawBufferPointer,_,_)``.
    package static func write(_ bytes: [UInt8], to descriptor: Int32, at offset: Int? = nil) throws(SystemCallError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(SystemCallError) in try write(buffer, to: descriptor, at: offset) }
        }
        try result.get()
    }

    /// Sends every byte of `bytes` on a connected socket. A peer that went away is `EPIPE`, not a `SIGPIPE`.
    package static func send(_ bytes: [UInt8], on socket: Int32) throws(SystemCallError) {
        #if canImport(Darwin)
        let flags: Int32 = 0
        #else
        let flags = Int32(MSG_NOSIGNAL)
        #endif
        try untilDone(bytes.count) { done in
            bytes[done...].withUnsafeBytes { systemSend(socket, $0.baseAddress, $0.count, flags) }
        }
    }

    /// Connects a socket to `address` (a `sockaddr` of `length` bytes). Interrupted by a signal, the connection goes
    /// on in the background: this waits for it to finish and reports how it ended.
    package static func connect(
        _ socket: Int32,
        to address: UnsafeRawPointer?,
        length: Int
    ) throws(SystemCallError) {
        let address = address?.assumingMemoryBound(to: sockaddr.self)
        if systemConnect(socket, address, socklen_t(length)) == 0 { return }
        guard errno == EINTR else { throw .last() }
        var poller = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        while poll(&poller, 1, -1) < 0 {
            if errno != EINTR { throw .last() }
        }
        var failure: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(socket, SOL_SOCKET, SO_ERROR, &failure, &size) == 0 else { throw .last() }
        if failure != 0 { throw SystemCallError(code: failure) }
    }

    /// Writes a file at `path` holding `bytes`: a new one (it must not exist) or, with `replacing`, over whatever
    /// is there. A file that could not be written whole is removed.
    package static func writeFile(
        _ path: String,
        _ bytes: [UInt8],
        replacing: Bool = false,
        mode: UInt32 = 0o600
    ) throws(SystemCallError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replacing ? O_TRUNC : O_EXCL)
        let descriptor = try open(path, flags, mode: mode)
        do {
            try write(bytes, to: descriptor)
        } catch {
            close(descriptor)
            unlink(path)
            throw error
        }
        if close(descriptor) != 0 && errno != EINTR {
            let failure = SystemCallError.last()
            unlink(path)
            throw failure
        }
    }

    /// Writes `bytes` to a temporary file beside `path` and renames it into place, so that a reader sees the old
    /// content or the new, never part of it.
    package static func replaceFile(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o600) throws(SystemCallError) {
        var generator = SystemRandomNumberGenerator()
        let temporary = path + ".tmp-" + String(generator.next() as UInt64, radix: 16)
        try writeFile(temporary, bytes, mode: mode)
        if rename(temporary, path) != 0 {
            let failure = SystemCallError.last()
            unlink(temporary)
            throw failure
        }
    }

    /// Calls `step` with how many bytes are done until `total` are; `step` answers how many more it moved, or -1
    /// with `errno` set. An interrupted step is tried again; one that moves nothing is `EIO`.
    private static func untilDone(_ total: Int, _ step: (_ done: Int) -> Int) throws(SystemCallError) {
        var done = 0
        while done < total {
            let count = step(done)
            if count > 0 {
                done += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                throw SystemCallError(code: count < 0 ? errno : EIO)
            }
        }
    }

    /// What a path is.
    package enum FileKind: Sendable, Equatable {
        case directory
        case regularFile
        case other
    }

    /// What `path` is (following symbolic links), or `nil` when nothing is there.
    package static func kind(of path: String) -> FileKind? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regularFile
        default: return .other
        }
    }

    /// The names in the folder `path`, without `.` and `..`, in no particular order.
    package static func entries(of path: String) throws(SystemCallError) -> [String] {
        guard let directory = opendir(path) else { throw .last() }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { buffer in
                String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Makes the folder `path` and the ones above it that are missing (`mkdir -p`); an existing folder is fine.
    package static func makeDirectories(_ path: String, mode: UInt32 = 0o755) throws(SystemCallError) {
        if mkdir(path, mode_t(mode)) == 0 { return }
        let code = errno
        if code == EEXIST {
            guard kind(of: path) == .directory else { throw SystemCallError(code: ENOTDIR) }
            return
        }
        guard code == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw SystemCallError(code: code)
        }
        try makeDirectories(String(path[..<slash]), mode: mode)
        if mkdir(path, mode_t(mode)) != 0 && errno != EEXIST { throw .last() }
    }

    /// The bytes of the file at `path`.
    package static func readFile(_ path: String) throws(SystemCallError) -> [UInt8] {
        let descriptor = try open(path, O_RDONLY | O_CLOEXEC)
        defer { close(descriptor) }
        var status = stat()
        let size = fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFREG ? Int(status.st_size) : 0
        return try readToEnd(descriptor, expectedSize: size)
    }

    /// This machine's host name, or `localhost` when it has none to give.
    package static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The system's words for `code` (`strerror`); 0 reads "nothing was written".
    package static func describe(_ code: Int32) -> String {
        code == 0 ? "nothing was written" : String(cString: strerror(code))
    }
}

// The C library's calls under names that the static functions above do not shadow (at file scope, the bare
// names are the C library's).

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }

private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

private func systemSend(_ socket: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int {
    send(socket, buffer, count, flags)
}

private func systemConnect(_ socket: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    connect(socket, address, length)
}
