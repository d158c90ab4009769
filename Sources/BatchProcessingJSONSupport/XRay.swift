/// X-Ray trace headers, as Lambda passes them (`Root=1-…;Parent=…;Sampled=1`), and the W3C `traceparent` form of
/// the same trace.
package enum XRay {
    /// The `Root=` part of a trace header, or `nil` when it has none.
    package static func traceRoot(of header: String) -> String? {
        field("Root", of: header)
    }

    /// The header's value for `name` (`Root`, `Parent`, `Sampled`), or `nil` when it has none.
    static func field(_ name: String, of header: String) -> String? {
        for part in header.split(separator: ";") {
            let trimmed = part.drop(while: { $0 == " " })
            guard trimmed.hasPrefix(name), trimmed.dropFirst(name.count).first == "=" else { continue }
            return String(trimmed.dropFirst(name.count + 1))
        }
        return nil
    }

    /// The same trace as a W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`), so that a tracer that reads
    /// only W3C headers (swift-otel's) still finds the producer's span.
    ///
    /// An X-Ray trace id `1-5759e988-bd862e3fe1be46a994272793` is the W3C id `5759e988bd862e3fe1be46a994272793`
    /// (the version and dashes dropped); `Parent` is the span id; `Sampled=1` is flag `01`. `nil` when the header
    /// lacks a well-formed root or parent.
    package static func traceparent(fromTraceHeader header: String) -> String? {
        guard let root = field("Root", of: header), let parent = field("Parent", of: header) else { return nil }
        let parts = root.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "1", parts[1].count == 8, parts[2].count == 24 else { return nil }
        let traceID = (parts[1] + parts[2]).lowercased()
        let spanID = parent.lowercased()
        guard isHex(traceID), isHex(spanID), spanID.count == 16, !isZero(traceID), !isZero(spanID) else {
            return nil
        }
        let sampled = field("Sampled", of: header) == "1"
        return "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")"
    }

    /// The trace id of a W3C `traceparent` (its second field, 32 hex digits), or `nil` when it is not one.
    package static func traceID(ofTraceparent traceparent: String) -> String? {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[1].count == 32 else { return nil }
        let traceID = String(parts[1])
        guard isHex(traceID), !isZero(traceID) else { return nil }
        return traceID
    }

    private static func isHex(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }
    }

    private static func isZero(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 == 0x30 }
    }
}
