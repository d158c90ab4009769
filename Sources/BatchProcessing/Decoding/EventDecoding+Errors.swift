import BatchProcessingJSONSupport

// The reader's errors (`JSONReadError`: a byte offset, a path, a reason) as the processor reports them: a
// `BatchProcessingError` naming the byte, the record and the field.

extension EventDecoding {
    /// Turns a reader's error into one that names the byte offset, the record index and the field.
    static func translate(_ error: JSONReadError, source: BatchEventSource?) -> BatchProcessingError {
        if let detection = error.detection { return detection.error }
        let source = error.source ?? source
        let path = error.path
        var recordIndex: Int?
        var place: String?
        var rest: ArraySlice<JSONReadError.PathPart> = path[...]
        if case .key("Records") = path.first, path.count > 1, case .index(let index) = path[1] {
            recordIndex = index
            place = "record \(index)"
            rest = path.dropFirst(2)
        } else if case .key("records") = path.first, path.count > 1, case .key(let partition) = path[1] {
            place = "topic-partition \(JSONText.quoted(partition))"
            rest = path.dropFirst(2)
            if case .index(let index) = rest.first {
                place! += ", record \(index)"
                rest = rest.dropFirst()
            }
        }
        let field = rest.isEmpty ? nil : fieldPath(rest)
        let byte = "byte \(error.offset)"
        switch error.kind {
        case .syntax:
            let location = [place, field.map { "field \($0)" }].compactMap { $0 }.joined(separator: ", ")
            return .malformedEvent(
                "the event is not valid JSON at \(byte)" + (location.isEmpty ? "" : " (\(location))") + ": "
                    + error.reason,
                recordIndex: recordIndex,
                field: field,
                eventSource: source
            )
        case .shape:
            let message: String
            if path.isEmpty {
                message = "the event \(error.reason) (\(byte))"
            } else if let place {
                if let field {
                    message = "\(place): field \(field) \(error.reason) (\(byte))"
                } else if recordIndex != nil {
                    message = "\(place) \(error.reason) (\(byte)); each record must be a JSON object"
                } else {
                    message = "\(place): \(error.reason) (\(byte))"
                }
            } else if case .key("Records") = path.first, path.count == 1 {
                message = "\"Records\" \(error.reason) (\(byte)); it must be an array of records"
            } else {
                message = "field \(field ?? "") \(error.reason) (\(byte))"
            }
            return .malformedEvent(message, recordIndex: recordIndex, field: field, eventSource: source)
        }
    }

    private static func fieldPath(_ path: ArraySlice<JSONReadError.PathPart>) -> String {
        var text = ""
        for part in path {
            switch part {
            case .index(let index): text += "[\(index)]"
            case .key(let key): text += text.isEmpty ? key : "." + key
            }
        }
        return text
    }
}
extension JSONReadError {
    /// Carries a detection rule's error through the reader as it is.
    init(detection: DetectionFailure) {
        self.init(kind: .shape, offset: 0, reason: detection.message, detection: detection)
    }
}
