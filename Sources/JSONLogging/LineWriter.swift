import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// Writes `line` and a newline (unless it already ends with one) as one unit.
    public func write(line: [UInt8]) {
        var line = line
        if line.last != UInt8(ascii: "\n") { line.append(UInt8(ascii: "\n")) }
        lock.withLock { _ in
            switch target {
            case .sink(let sink):
                sink(line)
            case .fileDescriptor(let descriptor):
                line.withUnsafeBytes { buffer in
                    guard let base = buffer.baseAddress else { return }
                    var offset = 0
                    while offset < buffer.count {
                        let written = systemWrite(descriptor, base + offset, buffer.count - offset)
                        if written > 0 {
                            offset += written
                        } else if written < 0 && errno == EINTR {
                            continue
                        } else {
                            return  // The descriptor is gone or full; there is nowhere left to say so.
                        }
                    }
                }
            }
        }
    }

    /// Writes `line` (UTF-8) and a newline as one unit.
    public func write(line: String) {
        write(line: Array(line.utf8))
    }
}

private func systemWrite(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc) || canImport(Musl)
    return Glibc.write(descriptor, pointer, count)
    #else
    return Darwin.write(descriptor, pointer, count)
    #endif
}
