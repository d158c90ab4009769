import ArgumentParser
import BatchProcessing
import Foundation
import Logging

/// `batchproc`: run batches through the processor locally, as Lambda would.
///
/// Exit status: 0 with a partial batch response on stdout; 1 with Lambda's error shape on stdout when the
/// invocation fails as a whole; 2 on a usage error (explained on stderr). Logs go to stderr only.
@main
enum BatchProcMain {
    static func main() async {
        do {
            var command = try BatchProc.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let error as UsageError {
            StandardError.write("batchproc: error: \(error.message)")
            Foundation.exit(2)
        } catch {
            if BatchProc.exitCode(for: error) == .success {
                print(BatchProc.fullMessage(for: error))
                Foundation.exit(0)
            }
            StandardError.write(BatchProc.fullMessage(for: error))
            Foundation.exit(2)
        }
    }
}

struct BatchProc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchproc",
        abstract: "Process AWS Lambda batches (SQS, Kinesis, DynamoDB Streams) with partial failure reporting.",
        subcommands: [ProcessCommand.self]
    )
}

/// A usage error found while running (an unreadable file): said on stderr, exit status 2.
struct UsageError: Error {
    var message: String
}

enum StandardError {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
