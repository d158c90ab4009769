/// A coding key made from any name: for objects whose keys are data (attribute names, DynamoDB type tags, the
/// fields of an object identifier) rather than a fixed set.
struct NamedCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ name: String) { stringValue = name }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
