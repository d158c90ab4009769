import BatchProcessingSystemSupport
import BatchRunner

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `--effect-log`: the built-in handler's visible effect. Each record that reaches the handler appends one line
/// (its identifier) with a single `O_APPEND` write, which the kernel keeps whole even when many processes append
/// to the same file at once: counting the lines shows how often each record ran.
final class EffectLog: Sendable {
    private let descriptor: Int32

    init(path: String) throws(UsageError) {
        do {
            descriptor = try SystemIO.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode: 0o644)
        } catch {
            throw UsageError(.unwritableOutput, message: "cannot open the effect log '\(path)': \(error)")
        }
    }

    deinit {
        close(descriptor)
    }

    /// Appends `line` and a newline in one write.
    func append(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        // One write call for a line this short: the kernel keeps an `O_APPEND` write whole.
        do {
            try SystemIO.write(bytes, to: descriptor)
        } catch {
            throw EffectLogError(message: "the effect log could not be written: \(error)")
        }
    }
}

struct EffectLogError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
