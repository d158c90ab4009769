/// X-Ray trace headers, as Lambda passes them (`Root=1-…;Parent=…;Sampled=1`).
package enum XRay {
    /// The `Root=` part of a trace header, or `nil` when it has none.
    package static func traceRoot(of header: String) -> String? {
        for part in header.split(separator: ";") {
            let trimmed = part.drop(while: { $0 == " " })
            if trimmed.hasPrefix("Root=") { return String(trimmed.dropFirst(5)) }
        }
        return nil
    }
}
