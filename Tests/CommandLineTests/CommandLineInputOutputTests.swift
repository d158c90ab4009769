import BatchProcessingTestProcessSupport
import Foundation
import Testing

extension Batchproc {
    /// Runs a shell script in which `$BATCHPROC` is the executable and `$SQS` a sample SQS event, for what a
    /// plain child process cannot arrange: closed descriptors, FIFOs, `/dev/fd/N`, SIGPIPE ignored.
    static func shell(_ script: String, environment: [String: String] = [:]) async throws -> Output {
        var variables = environment
        variables["BATCHPROC"] = executable.path
        variables["SQS"] = Fixture.url("sam-sqs.json").path
        return try await ChildProcess.run(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", script],
            environment: childEnvironment(variables)
        )
    }
}

@Suite("batchproc process: input and output never trap")
struct CommandLineInputOutputTests {
    static let empty = "{\"batchItemFailures\":[]}"

    @Test(
        "Any readable file is an event: a pipe, a FIFO, /dev/stdin, /dev/fd/N",
        arguments: [
            #"cat "$SQS" | "$BATCHPROC" process -"#,
            #"cat "$SQS" | "$BATCHPROC" process /dev/stdin"#,
            #""$BATCHPROC" process /dev/fd/3 3<"$SQS""#,
            #"f="$(mktemp -u)"; mkfifo "$f"; cat "$SQS" > "$f" & "$BATCHPROC" process "$f"; s=$?; rm -f "$f"; exit $s"#,
        ]
    )
    func readableFiles(script: String) async throws {
        let output = try await Batchproc.shell(script)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdoutLines == [Self.empty])
    }

    @Test("An empty input says the event is empty, with Lambda's error shape and exit status 1")
    func emptyInput() async throws {
        for script in [#""$BATCHPROC" process /dev/null"#, #""$BATCHPROC" process - < /dev/null"#] {
            let output = try await Batchproc.shell(script)
            #expect(output.status == 1)
            let json = try output.json()
            #expect(json["errorType"] as? String == "BatchProcessingError.malformedEvent")
            #expect((json["errorMessage"] as? String)?.contains("the event is empty") == true)
        }
    }

    @Test("A directory is a usage error that says it is a directory")
    func directory() async throws {
        let output = try await Batchproc.shell(#""$BATCHPROC" process /tmp"#)
        #expect(output.status == 2)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains("'/tmp': it is a directory"))
        #expect(!output.stderr.contains("NSCocoaErrorDomain"))
    }

    @Test("Closed standard input is a usage error, not a trap")
    func closedStandardInput() async throws {
        let output = try await Batchproc.shell(#""$BATCHPROC" process - <&-"#)
        #expect(output.status == 2)
        #expect(output.stderr.contains("standard input: it is closed"))
    }

    @Test("A closed standard output exits 74, not a trap")
    func closedStandardOutput() async throws {
        let output = try await Batchproc.shell(#""$BATCHPROC" process "$SQS" >&-; echo "status $?" >&2"#)
        #expect(output.stderrLines.last == "status 74")
        #expect(output.stderr.contains("cannot write the answer"))
    }

    @Test("A full standard output exits 74")
    func fullStandardOutput() async throws {
        let output = try await Batchproc.shell(#""$BATCHPROC" process "$SQS" > /dev/full; echo "status $?" >&2"#)
        #expect(output.stderrLines.last == "status 74")
    }

    @Test("A closed pipe with SIGPIPE ignored, as systemd runs services, exits 74, not a trap")
    func closedPipe() async throws {
        // The reader (`true`) is gone before batchproc starts; an ignored SIGPIPE is inherited through exec.
        let output = try await Batchproc.shell(
            #"trap '' PIPE; { sleep 0.3; "$BATCHPROC" process "$SQS"; echo "status $?" >&2; } | true"#
        )
        #expect(output.stderrLines.last == "status 74", "\(output.stderr)")
        #expect(!output.stderr.contains("Fatal error"))
    }

    @Test("A usage error with standard error closed exits 2, not a trap")
    func usageErrorWithClosedStandardError() async throws {
        let output = try await Batchproc.shell(#""$BATCHPROC" process --bogus 2>&-; echo "status $?""#)
        #expect(output.stdoutLines.last == "status 2")
    }
}

@Suite("batchproc process: options and environment")
struct CommandLineOptionTests {
    @Test(
        "Negative and malformed numbers say what is wrong",
        arguments: [
            (["--fail-index", "-1"], "--fail-index must be a 0-based record position"),
            (["--seed", "-1"], "--seed must be a whole number"),
            (["--fail-fraction", "-0.5"], "--fail-fraction must be a number between 0 and 1"),
            (["--concurrency", "-2"], "--concurrency must be a whole number of at least 1"),
            (["--max-attempts", "0"], "--max-attempts must be a whole number of at least 1"),
            (["--log-level", "loud"], "The value 'loud' is invalid for '--log-level <log-level>'"),
        ]
    )
    func badNumbers(arguments: [String], message: String) async throws {
        let output = try await Batchproc.run(["process", Fixture.url("sam-sqs.json").path] + arguments)
        #expect(output.status == 2)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains(message), "\(output.stderr)")
        #expect(!output.stderr.contains("Missing value"))
    }

    @Test("--log-level takes any case")
    func logLevelCase() async throws {
        for level in ["DEBUG", "Warning", "warn", "ERROR"] {
            let output = try await Batchproc.run(["process", Fixture.url("sam-sqs.json").path, "--log-level", level])
            #expect(output.status == 0, "\(level): \(output.stderr)")
        }
    }

    @Test("An index beyond the batch and an identifier not in it get a warning on stderr")
    func unmatchedFaults() async throws {
        let output = try await Batchproc.run([
            "process", Fixture.url("sam-sqs.json").path, "--fail-index", "7", "--fail", "no-such-message",
        ])
        #expect(output.status == 0)
        #expect(try output.reported() == [])
        #expect(output.stderr.contains("--fail-index 7 is beyond the batch (1 record, positions 0 to 0)"))
        #expect(output.stderr.contains("--fail no-such-message names no record of the batch"))
    }

    @Test("--source kinesis on an SQS event names the records' real eventSource")
    func forcedSourceNamesTheRealOne() async throws {
        let output = try await Batchproc.run(["process", Fixture.url("sam-sqs.json").path, "--source", "kinesis"])
        #expect(output.status == 1)
        let message = try #require(try output.json()["errorMessage"] as? String)
        #expect(message.contains(#"eventSource "aws:sqs""#))
        #expect(message.contains("it is a sqs event"))
    }

    @Test(
        "A bad environment value is a usage error naming the variable",
        arguments: [
            ("BATCH_PROCESSING_POLICY", "sometimes"),
            ("BATCH_PROCESSING_MAX_CONCURRENCY", "many"),
            ("BATCH_PROCESSING_DEADLINE_MARGIN_MS", "-5"),
            ("BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE", "perhaps"),
        ]
    )
    func badEnvironment(variable: String, value: String) async throws {
        let output = try await Batchproc.run(
            ["process", Fixture.url("sam-sqs.json").path],
            environment: [variable: value]
        )
        #expect(output.status == 2)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains("\(variable)=\(value)"))
    }

    @Test("A flag for the same setting wins, and the bad variable it replaces is not an error")
    func flagReplacesBadVariable() async throws {
        let cases: [([String], String, String)] = [
            (["--policy", "continue"], "BATCH_PROCESSING_POLICY", "sometimes"),
            (["--concurrency", "2"], "BATCH_PROCESSING_MAX_CONCURRENCY", "many"),
            (["--no-throw-on-full-batch-failure"], "BATCH_PROCESSING_THROW_ON_FULL_BATCH_FAILURE", "perhaps"),
        ]
        for (flags, variable, value) in cases {
            let output = try await Batchproc.run(
                ["process", Fixture.url("sam-sqs.json").path] + flags,
                environment: [variable: value]
            )
            #expect(output.status == 0, "\(flags): \(output.stderr)")
        }
    }
}
