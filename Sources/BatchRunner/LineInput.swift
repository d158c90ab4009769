import BatchProcessingSystemSupport
import Dispatch
import Synchronization

/// The lines of a file descriptor (standard input by default) as an async sequence of byte arrays, each without its
/// line break; a last line without one is kept. A thread of its own reads, so that waiting for input holds no
/// thread of the concurrency pool, and it reads at most `bufferedLines` lines ahead of the consumer.
///
/// The sequence ends at the end of the input, and also when the input cannot be read (a closed descriptor):
/// `readError` then says why.
package struct LineInput: AsyncSequence, Sendable {
    package typealias Element = [UInt8]

    private let lines: AsyncStream<[UInt8]>
    private let room: Room
    private let shared: Shared
    /// Why reading stopped before the end of the input, if it did.
    package var readError: String? { shared.failure.withLock { $0 } }

    private final class Shared: Sendable {
        let failure = Mutex<String?>(nil)
    }

    /// Reads `descriptor` (not closed afterwards).
    package init(descriptor: Int32 = 0, bufferedLines: Int = 16) {
        let (lines, continuation) = AsyncStream<[UInt8]>.makeStream()
        let room = Room(capacity: Swift.max(bufferedLines, 1))
        let shared = Shared()
        self.lines = lines
        self.room = room
        self.shared = shared
        let started = SystemThread.start(name: "LineInput") {
            Self.read(descriptor, into: continuation, room: room, shared: shared)
        }
        if !started {
            shared.failure.withLock { $0 = "cannot start a thread to read the input" }
            continuation.finish()
        }
    }

    /// Standard input's lines.
    package static func standardInput() -> LineInput { LineInput(descriptor: 0) }

    package func makeAsyncIterator() -> Iterator {
        Iterator(base: lines.makeAsyncIterator(), room: room)
    }

    package struct Iterator: AsyncIteratorProtocol {
        var base: AsyncStream<[UInt8]>.Iterator
        let room: Room

        package mutating func next() async -> [UInt8]? {
            let line = await base.next()
            if line != nil { room.free() }
            return line
        }
    }

    /// How many more lines the reader may hand over before the consumer takes one: a counting semaphore.
    final class Room: Sendable {
        private let places: DispatchSemaphore

        init(capacity: Int) { places = DispatchSemaphore(value: capacity) }

        /// Blocks the reading thread until there is room for a line.
        func take() { places.wait() }

        func free() { places.signal() }
    }

    private static func read(
        _ descriptor: Int32,
        into continuation: AsyncStream<[UInt8]>.Continuation,
        room: Room,
        shared: Shared
    ) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        func hand(_ line: [UInt8]) {
            room.take()
            continuation.yield(line)
        }
        while true {
            let count: Int
            do {
                count = try SystemIO.read(descriptor, into: &chunk)
            } catch {
                shared.failure.withLock { $0 = "cannot read the input: \(error)" }
                break
            }
            if count == 0 { break }
            var start = 0
            for index in 0..<count where chunk[index] == 0x0A {
                pending.append(contentsOf: chunk[start..<index])
                hand(pending)
                pending = []
                start = index + 1
            }
            pending.append(contentsOf: chunk[start..<count])
        }
        if !pending.isEmpty { hand(pending) }
        continuation.finish()
    }
}
