public import BatchProcessingSystemSupport

extension EMFMetricsFactory {
    /// How an ``EMFMetricsFactory`` names, dimensions and writes its metrics.
    public struct Configuration: Sendable {
        /// The CloudWatch namespace: 1 to 255 characters, not starting with `:`.
        public var namespace: String
        /// Dimensions added to every metric, first (e.g. `("service", "orders")`).
        public var defaultDimensions: [(String, String)]
        /// Units by metric name, for recorders and meters (whose swift-metrics API has no unit) or to override
        /// the default of counters (`Count`) and timers (``timerUnit``).
        public var units: [String: EMFUnit]
        /// The unit timers are written in, unless ``units`` names another: `Milliseconds` by default.
        public var timerUnit: EMFUnit
        /// Metrics written with `StorageResolution` 1 (high resolution).
        public var highResolutionMetrics: Set<String>
        /// When set, the first flush of the process also writes `ColdStart` = 1 with a `function_name` dimension.
        public var coldStartFunctionName: String?
        /// Receives each document, one line of JSON without a newline.
        public var output: @Sendable ([UInt8]) -> Void
        /// Receives each distinct warning once (invalid names, dropped values).
        public var warningHandler: @Sendable (String) -> Void

        /// Creates a configuration writing to standard output, warnings to standard error.
        public init(
            namespace: String,
            defaultDimensions: [(String, String)] = [],
            units: [String: EMFUnit] = [:],
            timerUnit: EMFUnit = .milliseconds,
            highResolutionMetrics: Set<String> = [],
            coldStartFunctionName: String? = nil,
            output: @escaping @Sendable ([UInt8]) -> Void = { LineWriter.standardOutput.write(line: $0) },
            warningHandler: @escaping @Sendable (String) -> Void = {
                LineWriter.standardError.write(line: "EMFMetrics warning: " + $0)
            }
        ) {
            self.namespace = namespace
            self.defaultDimensions = defaultDimensions
            self.units = units
            self.timerUnit = timerUnit
            self.highResolutionMetrics = highResolutionMetrics
            self.coldStartFunctionName = coldStartFunctionName
            self.output = output
            self.warningHandler = warningHandler
        }
    }
}
