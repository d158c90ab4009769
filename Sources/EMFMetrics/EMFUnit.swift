/// A CloudWatch metric unit, as EMF's `Unit` names it.
public struct EMFUnit: Sendable, Hashable, CustomStringConvertible {
    /// The unit's name as CloudWatch writes it.
    public let rawValue: String

    private init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// The unit named `rawValue`, or `nil` when CloudWatch has no such unit.
    public init?(rawValue: String) {
        guard let unit = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = unit
    }

    public var description: String { rawValue }

    public static let seconds = EMFUnit("Seconds")
    public static let microseconds = EMFUnit("Microseconds")
    public static let milliseconds = EMFUnit("Milliseconds")
    public static let bytes = EMFUnit("Bytes")
    public static let kilobytes = EMFUnit("Kilobytes")
    public static let megabytes = EMFUnit("Megabytes")
    public static let gigabytes = EMFUnit("Gigabytes")
    public static let terabytes = EMFUnit("Terabytes")
    public static let bits = EMFUnit("Bits")
    public static let kilobits = EMFUnit("Kilobits")
    public static let megabits = EMFUnit("Megabits")
    public static let gigabits = EMFUnit("Gigabits")
    public static let terabits = EMFUnit("Terabits")
    public static let percent = EMFUnit("Percent")
    public static let count = EMFUnit("Count")
    public static let bytesPerSecond = EMFUnit("Bytes/Second")
    public static let kilobytesPerSecond = EMFUnit("Kilobytes/Second")
    public static let megabytesPerSecond = EMFUnit("Megabytes/Second")
    public static let gigabytesPerSecond = EMFUnit("Gigabytes/Second")
    public static let terabytesPerSecond = EMFUnit("Terabytes/Second")
    public static let bitsPerSecond = EMFUnit("Bits/Second")
    public static let kilobitsPerSecond = EMFUnit("Kilobits/Second")
    public static let megabitsPerSecond = EMFUnit("Megabits/Second")
    public static let gigabitsPerSecond = EMFUnit("Gigabits/Second")
    public static let terabitsPerSecond = EMFUnit("Terabits/Second")
    public static let countPerSecond = EMFUnit("Count/Second")
    public static let none = EMFUnit("None")

    /// Every unit CloudWatch accepts.
    public static let all: [EMFUnit] = [
        .seconds, .microseconds, .milliseconds, .bytes, .kilobytes, .megabytes, .gigabytes, .terabytes, .bits,
        .kilobits, .megabits, .gigabits, .terabits, .percent, .count, .bytesPerSecond, .kilobytesPerSecond,
        .megabytesPerSecond, .gigabytesPerSecond, .terabytesPerSecond, .bitsPerSecond, .kilobitsPerSecond,
        .megabitsPerSecond, .gigabitsPerSecond, .terabitsPerSecond, .countPerSecond, .none,
    ]
}
