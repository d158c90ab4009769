import BatchProcessingSystemSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGTERM and SIGINT for `batchproc serve`, caught from the moment ``install(_:)`` returns: a plain signal handler
/// writes a byte to a pipe, and a thread of its own waiting on the pipe calls the callback. (Dispatch-based signal
/// sources register asynchronously; a service manager's SIGTERM sent as soon as the worker is up must not be lost or
/// fatal.) The signals are also unblocked, in case the process inherited a mask that blocks them.
enum TerminationSignals {
    /// The pipe's write end, for the handler (which can capture nothing): a signal's disposition belongs to the
    /// whole process, so this is the one process-wide value of the runner. Set before the handler is installed; an
    /// atomic, so that the handler's read is lock-free (async-signal-safe).
    private static let writeEnd = Atomic<Int32>(-1)

    /// Installs the handlers; `onSignal` is called (on a thread of its own) for every SIGTERM or SIGINT after.
    /// Returns false when the pipe cannot be made.
    static func install(_ onSignal: @escaping @Sendable () -> Void) -> Bool {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return false }
        writeEnd.store(ends[1], ordering: .releasing)
        let readEnd = ends[0]
        let started = SystemThread.start(name: "TerminationSig") {
            var byte: [UInt8] = [0]
            while (try? SystemIO.read(readEnd, into: &byte)) == 1 {
                onSignal()
            }
        }
        guard started else { return false }

        var action = sigaction()
        #if canImport(Darwin)
        action.__sigaction_u.__sa_handler = TerminationSignals.handle
        #else
        action.__sigaction_handler.sa_handler = TerminationSignals.handle
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        var signals = sigset_t()
        sigemptyset(&signals)
        for number in [SIGTERM, SIGINT] {
            sigaction(number, &action, nil)
            sigaddset(&signals, number)
        }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        return true
    }

    /// The signal handler: only async-signal-safe work, one `write`.
    private static let handle: @convention(c) (Int32) -> Void = { _ in
        var byte: UInt8 = 1
        _ = write(TerminationSignals.writeEnd.load(ordering: .acquiring), &byte, 1)
    }
}
