import BatchProcessingJSONSupport

/// Writes metrics that share one set of dimensions as EMF documents within the format's limits.
enum EMFDocumentWriter {
    struct Metric {
        var name: String
        var unit: EMFUnit
        var highResolution: Bool
        var values: [Double]
    }

    /// One metric's share of one document: some or all of its values.
    private struct Entry {
        var metric: Metric
        var values: ArraySlice<Double>
    }

    /// The documents for `metrics`: each holds at most 100 metrics and at most 100 values per metric, and is at
    /// most ``EMFValidation/maxDocumentBytes`` long, so more metrics or values spill into further documents; every
    /// value is written exactly once, and a metric's values stay in order.
    static func documents(
        namespace: String,
        dimensions: [EMFMetricsFactory.Dimension],
        metrics: [Metric],
        timestamp: Int64,
        properties: [(String, String)] = []
    ) -> [[UInt8]] {
        // A property may not shadow a dimension or a metric of the document.
        let taken = Set(dimensions.map(\.name) + metrics.map(\.name))
        let properties = properties.filter { !taken.contains($0.0) }
        var remaining = metrics.filter { !$0.values.isEmpty }.map { Entry(metric: $0, values: $0.values[...]) }
        var documents: [[UInt8]] = []
        while !remaining.isEmpty {
            let batch = remaining.prefix(EMFValidation.maxMetricsPerDocument).map {
                Entry(metric: $0.metric, values: $0.values.prefix(EMFValidation.maxValuesPerMetric))
            }
            documents += fitted(
                batch,
                namespace: namespace,
                dimensions: dimensions,
                timestamp: timestamp,
                properties: properties
            )

            // What this document did not hold goes into the next one.
            var next: [Entry] = []
            for entry in remaining.prefix(batch.count) where entry.values.count > EMFValidation.maxValuesPerMetric {
                next.append(
                    Entry(metric: entry.metric, values: entry.values.dropFirst(EMFValidation.maxValuesPerMetric))
                )
            }
            remaining = next + remaining.dropFirst(batch.count)
        }
        return documents
    }

    /// `entries` as one document, or, when that would be too long for a CloudWatch Logs event, as several: the
    /// metrics split in halves, or a lone metric's values split in halves, until each document fits.
    private static func fitted(
        _ entries: [Entry],
        namespace: String,
        dimensions: [EMFMetricsFactory.Dimension],
        timestamp: Int64,
        properties: [(String, String)]
    ) -> [[UInt8]] {
        func split(_ entries: [Entry]) -> [[UInt8]] {
            fitted(entries, namespace: namespace, dimensions: dimensions, timestamp: timestamp, properties: properties)
        }
        let document = render(
            entries,
            namespace: namespace,
            dimensions: dimensions,
            timestamp: timestamp,
            properties: properties
        )
        guard document.count > EMFValidation.maxDocumentBytes else { return [document] }
        if entries.count > 1 {
            let half = entries.count / 2
            return split(Array(entries[..<half])) + split(Array(entries[half...]))
        }
        guard let entry = entries.first, entry.values.count > 1 else { return [document] }
        let middle = entry.values.startIndex + entry.values.count / 2
        return split([Entry(metric: entry.metric, values: entry.values[..<middle])])
            + split([Entry(metric: entry.metric, values: entry.values[middle...])])
    }

    private static func render(
        _ entries: [Entry],
        namespace: String,
        dimensions: [EMFMetricsFactory.Dimension],
        timestamp: Int64,
        properties: [(String, String)]
    ) -> [UInt8] {
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
        for entry in entries {
            json.beginObject()
            json.key("Name")
            json.string(entry.metric.name)
            json.key("Unit")
            json.string(entry.metric.unit.rawValue)
            if entry.metric.highResolution {
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
        // Not metrics, not dimensions: CloudWatch keeps them in the log event, for finding it.
        for (name, value) in properties {
            json.key(name)
            json.string(value)
        }
        for entry in entries {
            json.key(entry.metric.name)
            if entry.values.count == 1, let value = entry.values.first {
                json.number(value)
            } else {
                json.beginArray()
                for value in entry.values { json.number(value) }
                json.endArray()
            }
        }
        json.endObject()
        return json.bytes
    }
}

/// CloudWatch's rules for EMF names and sizes.
enum EMFValidation {
    static let maxMetricsPerDocument = 100
    static let maxValuesPerMetric = 100
    static let maxDimensions = 30
    /// The longest document written, in bytes. CloudWatch Logs' PutLogEvents takes events of at most 256 KB
    /// (262,144 bytes), counting 26 bytes of overhead per event (Amazon CloudWatch Logs API Reference,
    /// PutLogEvents; newer pages allow 1 MB, but Lambda's log lines and older regions keep the 256 KB limit).
    static let maxDocumentBytes = 256 * 1024 - 26

    static func namespaceProblem(_ namespace: String) -> String? {
        if namespace.isEmpty { return "is empty" }
        if namespace.utf8.count > 255 { return "is longer than 255 characters" }
        if namespace.hasPrefix(":") { return "starts with ':'" }
        if namespace.hasPrefix("AWS/") { return "starts with 'AWS/', which CloudWatch keeps for AWS services" }
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
