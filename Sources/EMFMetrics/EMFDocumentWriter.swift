import BatchProcessingJSONSupport

/// Writes metrics that share one set of dimensions as EMF documents within the format's limits.
enum EMFDocumentWriter {
    struct Metric {
        var name: String
        var unit: EMFUnit
        var highResolution: Bool
        var values: [Double]
    }

    /// The documents for `metrics`: each holds at most 100 metrics and at most 100 values per metric, so more
    /// metrics or values spill into further documents; every value is written exactly once.
    static func documents(
        namespace: String,
        dimensions: [EMFMetricsFactory.Dimension],
        metrics: [Metric],
        timestamp: Int64
    ) -> [[UInt8]] {
        var remaining = metrics.filter { !$0.values.isEmpty }
        var documents: [[UInt8]] = []
        while !remaining.isEmpty {
            let batch = remaining.prefix(EMFValidation.maxMetricsPerDocument)
            var json = JSONText(capacity: 512)
            json.beginObject()
            json.key("_aws")
            json.beginObject()
            json.key("Timestamp")
            json.integer(timestamp)
            json.key("CloudWatchMetrics")
            json.beginArray()
            json.beginObject()
            json.key("Namespace")
            json.string(namespace)
            json.key("Dimensions")
            json.beginArray()
            json.beginArray()
            for dimension in dimensions { json.string(dimension.name) }
            json.endArray()
            json.endArray()
            json.key("Metrics")
            json.beginArray()
            for metric in batch {
                json.beginObject()
                json.key("Name")
                json.string(metric.name)
                json.key("Unit")
                json.string(metric.unit.rawValue)
                if metric.highResolution {
                    json.key("StorageResolution")
                    json.integer(1)
                }
                json.endObject()
            }
            json.endArray()
            json.endObject()
            json.endArray()
            json.endObject()
            for dimension in dimensions {
                json.key(dimension.name)
                json.string(dimension.value)
            }
            for metric in batch {
                json.key(metric.name)
                let values = metric.values.prefix(EMFValidation.maxValuesPerMetric)
                if values.count == 1, let value = values.first {
                    json.number(value)
                } else {
                    json.beginArray()
                    for value in values { json.number(value) }
                    json.endArray()
                }
            }
            json.endObject()
            documents.append(json.bytes)

            // What this document did not hold goes into the next one.
            var next: [Metric] = []
            for var metric in batch where metric.values.count > EMFValidation.maxValuesPerMetric {
                metric.values.removeFirst(EMFValidation.maxValuesPerMetric)
                next.append(metric)
            }
            remaining = next + remaining.dropFirst(batch.count)
        }
        return documents
    }
}

/// CloudWatch's rules for EMF names and sizes.
enum EMFValidation {
    static let maxMetricsPerDocument = 100
    static let maxValuesPerMetric = 100
    static let maxDimensions = 30

    static func namespaceProblem(_ namespace: String) -> String? {
        if namespace.isEmpty { return "is empty" }
        if namespace.utf8.count > 255 { return "is longer than 255 characters" }
        if namespace.hasPrefix(":") { return "starts with ':'" }
        if let bad = namespace.unicodeScalars.first(where: { !$0.isASCII || $0.value < 0x20 || $0.value == 0x7F }) {
            return "contains \(describe(bad)); use ASCII letters, digits and . - _ / # : or spaces"
        }
        return nil
    }

    static func metricNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 255 { return "is longer than 255 characters" }
        if name == "_aws" { return "is reserved by EMF" }
        if let bad = name.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "contains \(describe(bad))"
        }
        return nil
    }

    static func dimensionProblem(name: String, value: String) -> String? {
        if name.isEmpty { return "has an empty name" }
        if name.utf8.count > 255 { return "has a name longer than 255 characters" }
        if name.hasPrefix(":") { return "has a name starting with ':'" }
        if name == "_aws" { return "has a name reserved by EMF" }
        if value.utf8.count > 1024 { return "has a value longer than 1024 characters" }
        if value.allSatisfy(\.isWhitespace) { return "has a value without a visible character" }
        for scalar in (name + value).unicodeScalars where !scalar.isASCII || scalar.value < 0x20 || scalar.value == 0x7F
        {
            return "contains \(describe(scalar)); dimensions must be printable ASCII"
        }
        return nil
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        "U+" + String(scalar.value, radix: 16, uppercase: true)
    }
}
