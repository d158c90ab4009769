/// The clock the processor and its middleware read and sleep on: deadlines, backoff delays and durations.
///
/// `ContinuousClock` is the default. Tests give a clock they advance by hand (`ManualClock` in
/// BatchProcessingTesting), so that deadline and backoff behaviour is checked in milliseconds, without sleeping.
/// Its instants are `ContinuousClock` instants, so a deadline means the same thing whatever clock reads it.
public protocol BatchClock: Clock, Sendable where Instant == ContinuousClock.Instant {}

extension ContinuousClock: BatchClock {}
