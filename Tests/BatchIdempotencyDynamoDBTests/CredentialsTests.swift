import AsyncHTTPClient
import BatchIdempotency
import Foundation
import Testing

@testable import BatchIdempotencyDynamoDB

/// `credentials-endpoint.py`, running for one test.
final class CredentialsEndpoint: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let url: String

    init(token: String, lifetimeSeconds: Int) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("credentials-endpoint.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, token, String(lifetimeSeconds)]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(10) {
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { break }
            line.append(more)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("port "), let port = Int(text.dropFirst(5)) else {
            throw EndpointFailed(description: "the credentials endpoint did not start: \(text)")
        }
        url = "http://127.0.0.1:\(port)/v2/credentials/abc"
    }

    struct EndpointFailed: Error, CustomStringConvertible { var description: String }

    /// The requests it has had, one line each (`GET PATH AUTHORIZATION`), after it ends.
    func requests() -> [String] {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: rest, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

@Suite("AWS credentials: the variables, the container endpoint, refreshed before they expire")
struct CredentialsTests {
    static let now: Int64 = 1_796_684_289_000

    @Test("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN come first, as Lambda sets them")
    func variables() throws {
        let source = try AWSCredentialsProvider.source([
            "AWS_ACCESS_KEY_ID": "ASIALAMBDA", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds",
        ])
        guard case .fixed(let credentials) = source else {
            Issue.record("the variables' keys were not used: \(source)")
            return
        }
        #expect(credentials.accessKeyID == "ASIALAMBDA" && credentials.sessionToken == "token")
    }

    @Test("The relative URI is the ECS agent's address; the token file is read at each fetch")
    func relativeURI() throws {
        let source = try AWSCredentialsProvider.source([
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/xyz",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/token",
        ])
        guard case .container(let url, let authorization) = source, case .file(let path) = authorization else {
            Issue.record("\(source)")
            return
        }
        #expect(url == "http://169.254.170.2/v2/credentials/xyz" && path == "/var/run/token")
    }

    @Test("From the container endpoint with its token; kept while valid; fetched again within five minutes of expiry")
    func containerEndpoint() async throws {
        // Credentials that live ten minutes: the first call fetches, a call a minute later keeps them, a call six
        // minutes later (four minutes before they expire) fetches new ones.
        let endpoint = try CredentialsEndpoint(token: "Bearer secret-token", lifetimeSeconds: 600)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let provider = AWSCredentialsProvider(
            .container(url: endpoint.url, authorization: .token("Bearer secret-token")),
            client: client
        )
        let wall = Int64(Date().timeIntervalSince1970 * 1000)
        let deadline = ContinuousClock.now + .seconds(20)
        let first = try await provider.credentials(now: wall, deadline: deadline)
        let kept = try await provider.credentials(now: wall + 60_000, deadline: deadline)
        let renewed = try await provider.credentials(now: wall + 360_000, deadline: deadline)
        try await client.shutdown()
        #expect(first.accessKeyID == "ASIAFETCH1" && first.sessionToken == "token-1")
        #expect(kept == first)
        #expect(renewed.accessKeyID == "ASIAFETCH2")
        let expiresAt = try #require(first.expiresAt)
        #expect(abs(expiresAt - (wall + 600_000)) < 5_000, "expiry \(expiresAt) vs \(wall + 600_000)")
        let requests = endpoint.requests()
        #expect(requests == Array(repeating: "GET /v2/credentials/abc Bearer secret-token", count: 2), "\(requests)")
    }

    @Test("A refused fetch fails, naming the endpoint and what it answered")
    func refusedFetch() async throws {
        let endpoint = try CredentialsEndpoint(token: "right", lifetimeSeconds: 600)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let wrong = AWSCredentialsProvider(
            .container(url: endpoint.url, authorization: .token("wrong")),
            client: client
        )
        do {
            _ = try await wrong.credentials(now: Self.now, deadline: ContinuousClock.now + .seconds(20))
            Issue.record("credentials came from a refused fetch")
        } catch {
            #expect(error.message.contains(endpoint.url) && error.message.contains("401"), "\(error.message)")
        }
        try await client.shutdown()
        _ = endpoint.requests()
    }

    @Test("AWS's times: Z, fractions, offsets; anything else is no time")
    func times() {
        #expect(ISO8601Time.milliseconds("2026-12-07T23:59:59Z") == 1_796_687_999_000)
        #expect(ISO8601Time.milliseconds("2026-12-07T23:59:59.250Z") == 1_796_687_999_250)
        #expect(ISO8601Time.milliseconds("2026-12-08T01:59:59+02:00") == 1_796_687_999_000)
        #expect(ISO8601Time.milliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(ISO8601Time.milliseconds("2024-02-29T12:00:00Z") == 1_709_208_000_000)
        for bad in ["", "2026-12-07", "2026-13-07T00:00:00Z", "2026-12-07T23:59:59", "2026-12-07T23:59:59Zx", "soon"] {
            #expect(ISO8601Time.milliseconds(bad) == nil, "\(bad)")
        }
    }
}
