import BatchProcessingJSONSupport
public import Logging

extension JSONLogHandler {
    /// What a ``JSONLogHandler`` writes and where.
    public struct Configuration: Sendable {
        /// JSON lines, or readable lines for a terminal.
        public enum Format: String, Sendable {
            /// One JSON object per line.
            case json
            /// `timestamp LEVEL label: message key=value…`, for people.
            case text
        }

        /// The `service` key; defaults to `POWERTOOLS_SERVICE_NAME`, else `service_undefined`.
        public var service: String
        /// The lowest level written.
        public var logLevel: Logger.Level
        /// JSON or text.
        public var format: Format
        /// Where lines go: standard output by default (as on Lambda).
        public var output: LineWriter
        /// The Lambda keys to add to every line, or `nil` off Lambda.
        public var lambda: LambdaFields?

        /// Creates a configuration.
        public init(
            service: String = "service_undefined",
            logLevel: Logger.Level = .info,
            format: Format = .json,
            output: LineWriter = .standardOutput,
            lambda: LambdaFields? = nil
        ) {
            self.service = service
            self.logLevel = logLevel
            self.format = format
            self.output = output
            self.lambda = lambda
        }

        /// A configuration read from the environment, the way Lambda and Powertools users set it:
        ///
        /// - level: `AWS_LAMBDA_LOG_LEVEL` first, then `logLevel` given in code, then `POWERTOOLS_LOG_LEVEL`;
        /// - service: `POWERTOOLS_SERVICE_NAME`;
        /// - format: `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`), else `format`;
        /// - Lambda keys when `AWS_LAMBDA_FUNCTION_NAME` is set.
        ///
        /// A level variable whose value is not a level is ignored.
        public static func fromEnvironment(
            _ environment: [String: String] = ProcessEnvironment.variables,
            logLevel: Logger.Level? = nil,
            format: Format = .json,
            output: LineWriter = .standardOutput
        ) -> Configuration {
            let level =
                environment["AWS_LAMBDA_LOG_LEVEL"].flatMap(parseLevel) ?? logLevel
                ?? environment["POWERTOOLS_LOG_LEVEL"].flatMap(parseLevel) ?? .info
            let chosenFormat: Format
            switch environment["AWS_LAMBDA_LOG_FORMAT"]?.lowercased() {
            case "json": chosenFormat = .json
            case "text": chosenFormat = .text
            default: chosenFormat = format
            }
            return Configuration(
                service: environment["POWERTOOLS_SERVICE_NAME"].flatMap { $0.isEmpty ? nil : $0 }
                    ?? "service_undefined",
                logLevel: level,
                format: chosenFormat,
                output: output,
                lambda: LambdaFields(environment: environment)
            )
        }

        /// Reads a level as Lambda (`TRACE` … `FATAL`), Powertools (`WARNING`, `CRITICAL`) or swift-log names it.
        public static func parseLevel(_ text: String) -> Logger.Level? {
            switch text.lowercased() {
            case "trace": .trace
            case "debug": .debug
            case "info": .info
            case "notice": .notice
            case "warn", "warning": .warning
            case "error": .error
            case "fatal", "critical": .critical
            default: nil
            }
        }
    }

    /// The keys that describe the Lambda function, written on every line when running on Lambda.
    public struct LambdaFields: Sendable {
        /// The keys and their JSON values, in the order they are written.
        let fields: [(String, [UInt8])]
        /// Reads the current invocation's X-Ray trace header, for lines whose metadata has no `xray_trace_id`.
        let traceHeader: @Sendable () -> String?

        /// The fields of the function described by `environment`, or `nil` when it is not a Lambda function
        /// (no `AWS_LAMBDA_FUNCTION_NAME`).
        ///
        /// - Parameters:
        ///   - environment: the process's variables (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`,
        ///     `AWS_LAMBDA_FUNCTION_VERSION`…).
        ///   - functionARN: the function's ARN, written as `function_arn` when given.
        ///   - traceHeader: reads the current trace header for each line that has no `xray_trace_id`
        ///     metadata; by default `_X_AMZN_TRACE_ID`, which Lambda's runtime interface sets per invocation.
        ///     Runtimes that pass the trace id in their context instead (swift-aws-lambda-runtime 2.x) should put
        ///     it in the logger's metadata, as `BatchProcessing`'s `InvocationContext(traceID:)` does.
        public init?(
            environment: [String: String],
            functionARN: String? = nil,
            traceHeader: @escaping @Sendable () -> String? = { ProcessEnvironment.value("_X_AMZN_TRACE_ID") }
        ) {
            self.traceHeader = traceHeader
            guard let name = environment["AWS_LAMBDA_FUNCTION_NAME"] else { return nil }
            var fields: [(String, [UInt8])] = []
            func add(_ key: String, _ write: (inout JSONText) -> Void) {
                var json = JSONText()
                write(&json)
                fields.append((key, json.bytes))
            }
            add("function_name") { $0.string(name) }
            if let functionARN { add("function_arn") { $0.string(functionARN) } }
            if let memory = environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"].flatMap(Int.init) {
                add("function_memory_size") { $0.integer(memory) }
            }
            if let version = environment["AWS_LAMBDA_FUNCTION_VERSION"] {
                add("function_version") { $0.string(version) }
            }
            self.fields = fields
        }

        /// The `Root=` part of the current trace header.
        func currentTraceID() -> String? {
            guard let header = traceHeader() else { return nil }
            return Self.traceRoot(of: header)
        }

        /// The `Root=` part of an X-Ray trace header (`Root=1-…;Parent=…;Sampled=1`).
        public static func traceRoot(of header: String) -> String? {
            XRay.traceRoot(of: header)
        }
    }
}
