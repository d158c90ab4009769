import BatchProcessing

let processor = BatchProcessor()
let eventBytes = Array(#"{"Records":[]}"#.utf8)
func handle<Value>(_ value: Value) async throws {}

func answer() async throws -> [UInt8] {
    // docs: begin
    let responseJSON: [UInt8] = try await processor.processJSON(eventBytes) { record, context in
        switch record {
        case .sqs(let message): try await handle(message.body)
        case .kinesis(let record): try await handle(record.kinesis.data)  // from base64; bad data fails the record
        case .dynamoDB(let record): try await handle(record.dynamodb.newImage)
        case .kafka(let record): try await handle(record.valueBytes)  // nil for a tombstone
        }
    }
    // docs: end
    return responseJSON
}
