import CoreMetrics

/// A counter (integer or floating-point): the sum since the last flush.
final class EMFCounter: CounterHandler, FloatingPointCounterHandler, Sendable {
    let factory: EMFMetricsFactory
    let key: EMFMetricsFactory.MetricKey?

    init(factory: EMFMetricsFactory, key: EMFMetricsFactory.MetricKey?) {
        self.factory = factory
        self.key = key
    }

    func increment(by amount: Int64) {
        factory.update(key) { $0.sum += Double(amount) }
    }

    func increment(by amount: Double) {
        guard factory.acceptsValue(amount, for: key) else { return }
        factory.update(key) { $0.sum += amount }
    }

    func reset() {
        factory.update(key) { $0.sum = 0 }
    }
}

/// A meter: its last value.
final class EMFMeter: MeterHandler, Sendable {
    let factory: EMFMetricsFactory
    let key: EMFMetricsFactory.MetricKey?

    init(factory: EMFMetricsFactory, key: EMFMetricsFactory.MetricKey?) {
        self.factory = factory
        self.key = key
    }

    func set(_ value: Int64) { set(Double(value)) }

    func set(_ value: Double) {
        guard factory.acceptsValue(value, for: key) else { return }
        factory.update(key) { $0.values = [value] }
    }

    func increment(by amount: Double) { adjust(by: amount) }
    func decrement(by amount: Double) { adjust(by: -amount) }

    private func adjust(by amount: Double) {
        guard factory.acceptsValue(amount, for: key) else { return }
        factory.update(key) { $0.values = [($0.values.last ?? 0) + amount] }
    }
}

/// A recorder: every value since the last flush (or, when not aggregating, the last one).
final class EMFRecorder: RecorderHandler, Sendable {
    let factory: EMFMetricsFactory
    let key: EMFMetricsFactory.MetricKey?

    init(factory: EMFMetricsFactory, key: EMFMetricsFactory.MetricKey?) {
        self.factory = factory
        self.key = key
    }

    func record(_ value: Int64) { factory.record(Double(value), into: key) }
    func record(_ value: Double) { factory.record(value, into: key) }
}

/// A timer: every duration since the last flush, in its unit (milliseconds unless configured or preferred
/// otherwise).
final class EMFTimer: TimerHandler, Sendable {
    let factory: EMFMetricsFactory
    let key: EMFMetricsFactory.MetricKey?

    init(factory: EMFMetricsFactory, key: EMFMetricsFactory.MetricKey?) {
        self.factory = factory
        self.key = key
    }

    func recordNanoseconds(_ duration: Int64) {
        factory.record(Double(duration), into: key)
    }

    func preferDisplayUnit(_ unit: TimeUnit) {
        factory.setTimerUnit(unit, for: key)
    }
}
