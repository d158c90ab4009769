import BatchProcessing
import BatchRunner
import Benchmark
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Runtime API on loopback that hands out `count` invocations of `event`, accepts every answer, and then closes,
/// so that the program's loop ends. One kept-alive connection at a time, answered on a thread of its own: its cost
/// per request is a read and a write.
final class LoopbackRuntimeAPI: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32

    init(invocations count: Int, event: [UInt8]) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(listener, $0, length) }
        }
        listen(listener, 4)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        self.listener = listener
        let next =
            Array(
                ("HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n"
                    + "Lambda-Runtime-Deadline-Ms: 9999999999999\r\nContent-Length: \(event.count)\r\n\r\n").utf8
            ) + event
        let accepted = Array("HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n".utf8)
        Thread {
            var handedOut = 0
            var buffer = [UInt8](repeating: 0, count: 65536)
            var pending: [UInt8] = []
            while handedOut <= count {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                serving: while true {
                    // One request: its head, and the body its Content-Length says.
                    while true {
                        if let end = pending.firstRange(of: [13, 10, 13, 10]) {
                            let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                            let length =
                                head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                            if pending.count >= end.upperBound + length {
                                pending.removeFirst(end.upperBound + length)
                                let answer = head.hasPrefix("GET") ? (handedOut < count ? next : nil) : accepted
                                if head.hasPrefix("GET") { handedOut += 1 }
                                guard let answer else { break serving }
                                _ = answer.withUnsafeBytes {
                                    send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                                }
                                continue
                            }
                        }
                        let read = recv(connection, &buffer, buffer.count, 0)
                        guard read > 0 else { break serving }
                        pending += buffer[0..<read]
                    }
                }
                close(connection)
                if handedOut > count { break }
            }
            close(listener)
        }.start()
    }
}

let benchmarks: @Sendable () -> Void = {
    // The program's logs and EMF documents go to standard error: nowhere, so that the terminal's cost is left out.
    let null = open("/dev/null", O_WRONLY)
    dup2(null, 2)
    let invocations = 1000
    let event = Array(#"{"Records":[]}"#.utf8)
    let program = BatchProgram(name: "bench", abstract: "") { (_: AnyBatchRecord, _: RecordContext) in }

    Benchmark(
        "1,000 Lambda invocations of an empty batch through the runtime loop (Runtime API on loopback)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one, maxIterations: 20)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let api = LoopbackRuntimeAPI(invocations: invocations, event: event)
            setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:\(api.port)", 1)
            benchmark.startMeasurement()
            blackHole(await program.run(arguments: ["lambda", "--log-level", "error"]))
            benchmark.stopMeasurement()
        }
    }

    // The same empty batches through the processor alone: subtracted from the above, the runtime loop's own cost.
    let processor = BatchProcessor(configuration: .init(throwsOnFullBatchFailure: false))
    Benchmark(
        "1,000 empty batches through the processor alone",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one, maxIterations: 20)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            for _ in 0..<invocations {
                blackHole(await processor.answer(eventJSON: event) { _, _ in })
            }
        }
    }
}
