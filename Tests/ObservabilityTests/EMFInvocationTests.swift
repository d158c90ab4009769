import BatchProcessingTestProcessSupport
import CoreMetrics
import EMFMetrics
import Foundation
import Synchronization
import Testing

@Suite("EMF metrics of invocations running at once")
struct EMFInvocationTests {
    /// The documents a factory writes, kept.
    final class Written: Sendable {
        let documents = Mutex<[[UInt8]]>([])
        var parsed: [[String: Any]] {
            documents.withLock { $0 }.compactMap { try? ChildProcess.jsonObject(String(decoding: $0, as: UTF8.self)) }
        }
    }

    @Test("Each invocation writes its own counts with its request id and trace id; the cold start once; the rest apart")
    func invocations() async throws {
        let written = Written()
        let metrics = try EMFMetricsFactory(
            configuration: .init(
                namespace: "Tests",
                defaultDimensions: [("service", "orders")],
                coldStartFunctionName: "orders",
                output: { document in written.documents.withLock { $0.append(document) } }
            )
        )
        let counter = Counter(label: "RecordsReceived", dimensions: [("event_source", "aws:sqs")], factory: metrics)
        let timer = Timer(label: "RecordDuration", factory: metrics)
        counter.increment(by: 100)  // outside any invocation: not in theirs
        let gate = Gate()
        await withTaskGroup(of: Void.self) { group in
            for (index, count) in [3, 5, 7].enumerated() {
                group.addTask {
                    await metrics.withInvocation(
                        requestID: "req-\(index)",
                        traceID: "Root=1-5759e988-bd862e3fe1be46a99427279\(index);Parent=53995c3f42cd8ad8;Sampled=1"
                    ) {
                        // The three run at once: each counts, waits for the others to have counted, then flushes.
                        for _ in 0..<count { counter.increment() }
                        timer.recordMilliseconds(count)
                        await gate.arrive(expecting: 3)
                        metrics.flush()
                    }
                }
            }
        }
        let documents = written.parsed
        let received = documents.filter { $0["RecordsReceived"] != nil }
        #expect(received.count == 3)
        for (index, count) in [3, 5, 7].enumerated() {
            let own = try #require(received.first { $0["function_request_id"] as? String == "req-\(index)" })
            #expect(own["RecordsReceived"] as? Int == count, "\(own)")
            #expect(own["xray_trace_id"] as? String == "1-5759e988-bd862e3fe1be46a99427279\(index)")
            let durations = try #require(
                documents.first {
                    $0["RecordDuration"] != nil && $0["function_request_id"] as? String == "req-\(index)"
                }
            )
            #expect(durations["RecordDuration"] as? Int == count)
        }
        #expect(documents.filter { $0["ColdStart"] != nil }.count == 1)
        // What was counted outside any invocation is flushed outside, alone, without a request id.
        written.documents.withLock { $0 = [] }
        metrics.flush()
        let outside = written.parsed
        #expect(outside.count == 1)
        #expect(outside.first?["RecordsReceived"] as? Int == 100)
        #expect(outside.first?["function_request_id"] == nil)
        try await expectValidEMF(written.documents.withLock { $0 })
    }

    @Test("What an invocation leaves unflushed is written when it ends, also when it throws")
    func flushedAtTheEnd() async throws {
        let written = Written()
        let metrics = try EMFMetricsFactory(
            configuration: .init(
                namespace: "Tests",
                output: { document in written.documents.withLock { $0.append(document) } }
            )
        )
        let counter = Counter(label: "Failures", factory: metrics)
        struct Failed: Error {}
        await #expect(throws: Failed.self) {
            try await metrics.withInvocation(requestID: "req-9", traceID: nil) {
                counter.increment()
                throw Failed()
            }
        }
        let documents = written.parsed
        #expect(documents.count == 1)
        #expect(documents.first?["Failures"] as? Int == 1)
        #expect(documents.first?["function_request_id"] as? String == "req-9")
        #expect(documents.first?["xray_trace_id"] == nil)
    }
}

/// Lets tasks go on once `count` of them have arrived.
actor Gate {
    private var arrived = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func arrive(expecting count: Int) async {
        arrived += 1
        if arrived >= count {
            for continuation in waiting { continuation.resume() }
            waiting = []
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}
