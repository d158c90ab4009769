import BatchProcessingJSONSupport
import BatchProcessingSystemSupport
public import CoreMetrics
import Synchronization

/// A swift-metrics backend that aggregates counters, recorders, timers and meters in memory and writes them as
/// CloudWatch Embedded Metric Format documents on ``flush()``: CloudWatch Logs turns each document into metrics,
/// with no API call.
///
/// ```swift
/// let metrics = try EMFMetricsFactory(configuration: .init(namespace: "Orders", defaultDimensions: [("service", "orders")]))
/// MetricsSystem.bootstrap(metrics)
/// // … at the end of each invocation:
/// metrics.flush()
/// ```
///
/// Counters are written as the sum since the last flush, recorders and timers as every value recorded since then,
/// meters as their last value. Metrics that nothing touched since the last flush are left out. The EMF limits
/// hold: at most 100 metrics per document and 100 values per metric (more are split into further documents),
/// at most 30 dimensions per set; metrics with different dimensions go in separate documents. Invalid names and
/// non-finite values are dropped with a warning, never written.
public final class EMFMetricsFactory: MetricsFactory, Sendable {
    /// The configuration in force.
    public let configuration: Configuration
    private let state = Mutex(State())

    /// Creates a backend.
    ///
    /// - Throws: ``EMFConfigurationError`` when the namespace or a default dimension is not valid for CloudWatch.
    public init(configuration: Configuration) throws(EMFConfigurationError) {
        if let problem = EMFValidation.namespaceProblem(configuration.namespace) {
            throw EMFConfigurationError(
                code: .invalidNamespace,
                message: "namespace \(JSONText.quoted(configuration.namespace)) \(problem)"
            )
        }
        for (name, value) in configuration.defaultDimensions {
            if let problem = EMFValidation.dimensionProblem(name: name, value: value) {
                throw EMFConfigurationError(
                    code: .invalidDimension,
                    message: "default dimension \(JSONText.quoted(name)) \(problem)"
                )
            }
        }
        if let functionName = configuration.coldStartFunctionName,
            let problem = EMFValidation.dimensionProblem(name: "function_name", value: functionName)
        {
            throw EMFConfigurationError(
                code: .invalidDimension,
                message: "the cold-start metric's function_name dimension \(JSONText.quoted(functionName)) \(problem)"
            )
        }
        guard configuration.defaultDimensions.count <= EMFValidation.maxDimensions else {
            throw EMFConfigurationError(
                code: .tooManyDimensions,
                message:
                    "\(configuration.defaultDimensions.count) default dimensions; EMF allows at most \(EMFValidation.maxDimensions)"
            )
        }
        self.configuration = configuration
    }

    // MARK: - State

    /// A metric is its name, its dimensions and its kind: two handlers of different kinds with the same name and
    /// dimensions (a timer and a recorder, say) keep apart, and are written in separate documents.
    struct MetricKey: Hashable {
        let name: String
        let dimensions: [Dimension]
        let kind: Kind
        /// Hashed once: a handler looks its key up for every value it records.
        private let hash: Int

        init(name: String, dimensions: [Dimension], kind: Kind) {
            self.name = name
            self.dimensions = dimensions
            self.kind = kind
            var hasher = Hasher()
            hasher.combine(name)
            hasher.combine(dimensions)
            hasher.combine(kind)
            hash = hasher.finalize()
        }

        static func == (lhs: MetricKey, rhs: MetricKey) -> Bool {
            lhs.hash == rhs.hash && lhs.name == rhs.name && lhs.kind == rhs.kind && lhs.dimensions == rhs.dimensions
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(hash)
        }
    }

    struct Dimension: Hashable {
        var name: String
        var value: String
    }

    enum Kind: Hashable, CustomStringConvertible {
        /// The sum since the last flush.
        case counter
        /// The last value, kept across flushes (a meter, or a recorder that does not aggregate).
        case gauge
        /// Every value since the last flush.
        case recorder
        /// Every duration since the last flush, kept in nanoseconds and converted to the unit when written.
        case timer

        var description: String {
            switch self {
            case .counter: "counter"
            case .gauge: "meter"
            case .recorder: "recorder"
            case .timer: "timer"
            }
        }
    }

    struct MetricState {
        var unit: EMFUnit
        var sum: Double = 0
        var values: [Double] = []
        var touched = false
        /// How many live handlers use this state; when the last is destroyed the state goes.
        var handlers = 0
        /// The last handler was destroyed while values were waiting: remove the state after the next flush.
        var removeAfterFlush = false
    }

    struct State {
        var metrics: [MetricKey: MetricState] = [:]
        /// Metrics in the order they were first made, so documents list them steadily.
        var order: [MetricKey] = []
        var warned: Set<String> = []
        var coldStartPending = true
    }

    /// Reports a problem once per distinct message.
    func warn(_ message: String) {
        let isNew = state.withLock { $0.warned.insert(message).inserted }
        if isNew { configuration.warningHandler(message) }
    }

    /// The key of a metric, or `nil` (with a warning) when its name cannot be written.
    private func register(label: String, dimensions: [(String, String)], kind: Kind, unit: EMFUnit) -> MetricKey? {
        if let problem = EMFValidation.metricNameProblem(label) {
            warn("metric \(JSONText.quoted(label)) is dropped: its name \(problem)")
            return nil
        }
        var merged: [Dimension] = configuration.defaultDimensions.map { Dimension(name: $0.0, value: $0.1) }
        for (name, value) in dimensions {
            if let problem = EMFValidation.dimensionProblem(name: name, value: value) {
                warn("dimension \(JSONText.quoted(name)) of metric \(JSONText.quoted(label)) is dropped: \(problem)")
                continue
            }
            if let existing = merged.firstIndex(where: { $0.name == name }) {
                merged[existing].value = value
            } else {
                merged.append(Dimension(name: name, value: value))
            }
        }
        if merged.count > EMFValidation.maxDimensions {
            warn(
                "metric \(JSONText.quoted(label)) has \(merged.count) dimensions; only the first "
                    + "\(EMFValidation.maxDimensions) are kept"
            )
            merged = Array(merged.prefix(EMFValidation.maxDimensions))
        }
        if merged.contains(where: { $0.name == label }) {
            warn("metric \(JSONText.quoted(label)) is dropped: it has the name of one of its dimensions")
            return nil
        }
        let key = MetricKey(name: label, dimensions: merged, kind: kind)
        let otherKind: Kind? = state.withLock { state in
            if state.metrics[key] == nil {
                state.metrics[key] = MetricState(unit: unit)
                state.order.append(key)
            }
            state.metrics[key]?.handlers += 1
            state.metrics[key]?.removeAfterFlush = false
            return state.order.first { $0.name == key.name && $0.dimensions == key.dimensions && $0.kind != kind }?.kind
        }
        if let otherKind {
            warn(
                "metric \(JSONText.quoted(label)) is both a \(otherKind) and a \(kind) with the same dimensions; both are "
                    + "written, in separate documents, but CloudWatch will see one metric"
            )
        }
        return key
    }

    /// Forgets a handler; the state of its metric goes with the last one (after the next flush, when values wait).
    func release(_ key: MetricKey?) {
        guard let key else { return }
        state.withLock { state in
            guard var metric = state.metrics[key] else { return }
            metric.handlers -= 1
            guard metric.handlers <= 0 else {
                state.metrics[key] = metric
                return
            }
            if metric.touched {
                metric.removeAfterFlush = true
                state.metrics[key] = metric
            } else {
                state.metrics[key] = nil
                state.order.removeAll { $0 == key }
            }
        }
    }

    func update(_ key: MetricKey?, _ change: (inout MetricState) -> Void) {
        guard let key else { return }
        if let invocation = Self.invocation, invocation.factory === self {
            invocation.update(key, change) { self.state.withLock { $0.metrics[key]?.unit } ?? .none }
            return
        }
        state.withLock { state in
            // One lookup, then the value is changed in place: copying the state out would copy its value array
            // on every append.
            guard let index = state.metrics.index(forKey: key) else { return }
            change(&state.metrics.values[index])
            state.metrics.values[index].touched = true
        }
    }

    /// True when `value` can be written; otherwise warns that it was dropped.
    func acceptsValue(_ value: Double, for key: MetricKey?) -> Bool {
        guard !value.isFinite else { return true }
        warn("a non-finite value (\(value)) of metric \(JSONText.quoted(key?.name ?? "")) was dropped")
        return false
    }

    /// Records `value`, dropping it with a warning when it is not finite.
    func record(_ value: Double, into key: MetricKey?) {
        guard key != nil, acceptsValue(value, for: key) else { return }
        update(key) { $0.values.append(value) }
    }

    func unit(for label: String, default fallback: EMFUnit) -> EMFUnit {
        configuration.units[label] ?? fallback
    }

    // MARK: - MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        EMFCounter(
            factory: self,
            key: register(label: label, dimensions: dimensions, kind: .counter, unit: unit(for: label, default: .count))
        )
    }

    public func makeFloatingPointCounter(
        label: String,
        dimensions: [(String, String)]
    ) -> any FloatingPointCounterHandler {
        EMFCounter(
            factory: self,
            key: register(label: label, dimensions: dimensions, kind: .counter, unit: unit(for: label, default: .count))
        )
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        EMFMeter(
            factory: self,
            key: register(label: label, dimensions: dimensions, kind: .gauge, unit: unit(for: label, default: .none))
        )
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        let kind: Kind = aggregate ? .recorder : .gauge
        return EMFRecorder(
            factory: self,
            key: register(label: label, dimensions: dimensions, kind: kind, unit: unit(for: label, default: .none))
        )
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let unit = unit(for: label, default: configuration.timerUnit)
        return EMFTimer(factory: self, key: register(label: label, dimensions: dimensions, kind: .timer, unit: unit))
    }

    /// A timer's unit, as swift-metrics' `preferDisplayUnit` asks: nanoseconds and microseconds are written in
    /// microseconds, minutes and longer in seconds (CloudWatch has neither nanoseconds nor minutes). A unit set
    /// for the metric in ``Configuration/units`` wins: the preference is then ignored.
    func setTimerUnit(_ unit: TimeUnit, for key: MetricKey?) {
        guard let key, configuration.units[key.name] == nil else { return }
        let emfUnit: EMFUnit
        switch unit {
        case .nanoseconds, .microseconds: emfUnit = .microseconds
        case .milliseconds: emfUnit = .milliseconds
        default: emfUnit = .seconds
        }
        state.withLock { $0.metrics[key]?.unit = emfUnit }
    }

    /// Releases a handler. When no handler of the metric is left, its state goes (after the next flush, when it
    /// holds values not yet written), so a long-running process that makes metrics with changing dimensions and
    /// destroys them does not grow without bound.
    public func destroyCounter(_ handler: any CounterHandler) {
        release((handler as? EMFCounter)?.key)
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        release((handler as? EMFCounter)?.key)
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        release((handler as? EMFMeter)?.key)
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        release((handler as? EMFRecorder)?.key)
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        release((handler as? EMFTimer)?.key)
    }

    /// How many metrics the backend holds state for: for tests of ``destroyCounter(_:)`` and its kin.
    public var metricCount: Int { state.withLock { $0.metrics.count } }

    // MARK: - Flushing

    /// Writes every metric touched since the last flush as EMF documents, one line each, and starts afresh.
    /// With nothing to write, writes nothing. Inside ``withInvocation(requestID:traceID:_:)``, writes that
    /// invocation's metrics only.
    public func flush() {
        for document in takeDocuments() {
            configuration.output(document)
        }
    }

    /// The documents a flush would write now, and resets as a flush does: for tests and custom outputs.
    ///
    /// - Parameter timestamp: `_aws.Timestamp`, milliseconds since 1970; `nil` means now.
    public func takeDocuments(timestamp: Int64? = nil) -> [[UInt8]] {
        let timestamp = timestamp ?? WallClock.nowMilliseconds()
        let snapshot: [(MetricKey, MetricState)]
        var properties: [(String, String)] = []
        if let invocation = Self.invocation, invocation.factory === self {
            snapshot = invocation.take()
            properties = invocation.properties
        } else {
            snapshot = takeSnapshot()
        }
        let coldStart = state.withLock { state in
            defer { state.coldStartPending = false }
            return state.coldStartPending && configuration.coldStartFunctionName != nil
        }
        return documents(snapshot, coldStart: coldStart, timestamp: timestamp, properties: properties)
    }

    /// Every metric touched since the last flush (outside any invocation), and resets them.
    private func takeSnapshot() -> [(MetricKey, MetricState)] {
        state.withLock { state in
            var taken: [(MetricKey, MetricState)] = []
            var removed: [MetricKey] = []
            for key in state.order {
                guard var metric = state.metrics[key], metric.touched else { continue }
                taken.append((key, metric))
                metric.touched = false
                switch key.kind {
                case .counter: metric.sum = 0
                // A meter keeps its value, so that a later increment starts from it.
                case .gauge: break
                case .recorder, .timer: metric.values.removeAll(keepingCapacity: true)
                }
                if metric.removeAfterFlush {
                    state.metrics[key] = nil
                    removed.append(key)
                } else {
                    state.metrics[key] = metric
                }
            }
            if !removed.isEmpty { state.order.removeAll { removed.contains($0) } }
            return taken
        }
    }

    private func documents(
        _ snapshot: [(MetricKey, MetricState)],
        coldStart: Bool,
        timestamp: Int64,
        properties: [(String, String)]
    ) -> [[UInt8]] {
        var documents: [[UInt8]] = []
        if coldStart, let functionName = configuration.coldStartFunctionName {
            var dimensions = configuration.defaultDimensions.map { Dimension(name: $0.0, value: $0.1) }
            dimensions.removeAll { $0.name == "function_name" }
            dimensions.append(Dimension(name: "function_name", value: functionName))
            documents += EMFDocumentWriter.documents(
                namespace: configuration.namespace,
                dimensions: Array(dimensions.prefix(EMFValidation.maxDimensions)),
                metrics: [.init(name: "ColdStart", unit: .count, highResolution: false, values: [1])],
                timestamp: timestamp,
                properties: properties
            )
        }

        // One group of documents per distinct set of dimensions (names and values); a name that is already in
        // its group (a timer beside a recorder of the same name) starts another group, so no document names a
        // metric twice.
        struct GroupKey: Hashable {
            var dimensions: [Dimension]
            var round: Int
        }
        var groups: [GroupKey: [EMFDocumentWriter.Metric]] = [:]
        var groupOrder: [GroupKey] = []
        for (key, metric) in snapshot {
            var values: [Double]
            switch key.kind {
            case .counter: values = [metric.sum]
            case .gauge: values = metric.values.last.map { [$0] } ?? []
            case .recorder, .timer: values = metric.values
            }
            if key.kind == .timer {
                let nanosecondsPerUnit: Double =
                    switch metric.unit {
                    case .microseconds: 1e3
                    case .seconds: 1e9
                    default: 1e6
                    }
                values = values.map { $0 / nanosecondsPerUnit }
            }
            guard !values.isEmpty else { continue }
            var group = GroupKey(dimensions: key.dimensions, round: 0)
            while groups[group]?.contains(where: { $0.name == key.name }) == true { group.round += 1 }
            if groups[group] == nil { groupOrder.append(group) }
            groups[group, default: []].append(
                .init(
                    name: key.name,
                    unit: metric.unit,
                    highResolution: configuration.highResolutionMetrics.contains(key.name),
                    values: values
                )
            )
        }
        for group in groupOrder {
            documents += EMFDocumentWriter.documents(
                namespace: configuration.namespace,
                dimensions: group.dimensions,
                metrics: groups[group] ?? [],
                timestamp: timestamp,
                properties: properties
            )
        }
        return documents
    }
}

/// A namespace or default dimension that CloudWatch would not accept.
public struct EMFConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem. New codes may be added; switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String {
            case invalidNamespace
            case invalidDimension
            case tooManyDimensions
        }

        let kind: Kind

        /// The namespace is empty, too long, starts with a colon, holds a character CloudWatch refuses, or is
        /// one of AWS's own (`AWS/…`).
        public static let invalidNamespace = Code(kind: .invalidNamespace)
        /// A default dimension's name or value (the service, the cold-start metric's function name) is empty,
        /// too long or holds a character CloudWatch refuses.
        public static let invalidDimension = Code(kind: .invalidDimension)
        /// More default dimensions than EMF allows on one metric.
        public static let tooManyDimensions = Code(kind: .tooManyDimensions)

        public var description: String { kind.rawValue }
    }

    /// The kind of problem.
    public let code: Code
    /// What is wrong.
    public let message: String
    public var description: String { message }
}
