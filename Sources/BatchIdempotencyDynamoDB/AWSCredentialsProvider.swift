import AsyncHTTPClient
import BatchIdempotency
import BatchProcessingJSONSupport
import BatchProcessingSystemSupport
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The credentials requests are signed with, as the configuration's source gives them: fixed, from the standard
/// variables, or from the container credentials endpoint, fetched again five minutes before they expire.
final class AWSCredentialsProvider: Sendable {
    enum Source: Sendable {
        case fixed(AWSCredentials)
        case container(url: String, authorization: Authorization?)
    }

    /// The `Authorization` header of the container endpoint: a token, or a file holding one (read at each fetch,
    /// since the file may be rotated).
    enum Authorization: Sendable {
        case token(String)
        case file(String)
    }

    let source: Source
    private let client: HTTPClient
    private let cached = Mutex<AWSCredentials?>(nil)
    /// Credentials are fetched again this long before they expire.
    static let refreshMargin: Int64 = 5 * 60 * 1000

    init(_ source: Source, client: HTTPClient) {
        self.source = source
        self.client = client
    }

    /// Where the configuration's credentials are.
    static func source(
        for configuration: DynamoDBStoreConfiguration.CredentialsSource
    ) throws(IdempotencyStoreError)
        -> Source
    {
        switch configuration {
        case .fixed(let credentials): .fixed(credentials)
        case .environment(let environment): try source(environment)
        }
    }

    /// Where the variables say the credentials are.
    static func source(_ environment: [String: String]) throws(IdempotencyStoreError) -> Source {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        if let key = value("AWS_ACCESS_KEY_ID") {
            guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
                throw IdempotencyStoreError(
                    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: the DynamoDB store needs both",
                    code: .invalidConfiguration
                )
            }
            return .fixed(
                AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"))
            )
        }
        let authorization: Authorization? =
            if let token = value("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
                .token(token)
            } else if let file = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
                .file(file)
            } else {
                nil
            }
        if let url = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw IdempotencyStoreError(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI '\(url)' is not an http:// or https:// URL",
                    code: .invalidConfiguration
                )
            }
            return .container(url: url, authorization: authorization)
        }
        if let path = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            return .container(
                url: "http://169.254.170.2" + (path.hasPrefix("/") ? path : "/" + path),
                authorization: authorization
            )
        }
        throw IdempotencyStoreError(
            "the DynamoDB store found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda "
                + "sets them, with AWS_SESSION_TOKEN), or AWS_CONTAINER_CREDENTIALS_FULL_URI",
            code: .invalidConfiguration
        )
    }

    /// The credentials to sign with at `now` (milliseconds since 1970), fetching them when there are none yet or
    /// they are about to expire. A fetch that fails while the credentials held are still valid keeps them.
    func credentials(
        now: Int64,
        deadline: ContinuousClock.Instant
    ) async throws(IdempotencyStoreError)
        -> AWSCredentials
    {
        switch source {
        case .fixed(let credentials):
            return credentials
        case .container(let url, let authorization):
            let held = cached.withLock { $0 }
            if let held, (held.expiresAt ?? Int64.max) - Self.refreshMargin > now {
                return held
            }
            do {
                let fresh = try await fetch(url: url, authorization: authorization, deadline: deadline)
                cached.withLock { $0 = fresh }
                return fresh
            } catch {
                if let held, (held.expiresAt ?? Int64.max) > now { return held }
                throw error
            }
        }
    }

    /// The endpoint's answer: `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`.
    private struct ContainerCredentials: Decodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String?
        var Expiration: String?
    }

    private func fetch(
        url: String,
        authorization: Authorization?,
        deadline: ContinuousClock.Instant
    )
        async throws(IdempotencyStoreError) -> AWSCredentials
    {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        switch authorization {
        case .token(let token):
            request.headers.add(name: "Authorization", value: token)
        case .file(let path):
            let token: [UInt8]
            do {
                token = try SystemIO.readFile(path)
            } catch {
                throw IdempotencyStoreError(
                    "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(path): \(error)",
                    code: .invalidConfiguration
                )
            }
            request.headers.add(
                name: "Authorization",
                value: String(decoding: token.trimmingWhiteSpace(), as: UTF8.self)
            )
        case nil:
            break
        }
        let body: ByteBuffer
        let status: UInt
        do {
            let remaining = max(ContinuousClock.now.duration(to: deadline), .milliseconds(1))
            let response = try await client.execute(request, timeout: .nanoseconds(remaining.nanoseconds))
            status = response.status.code
            body = try await response.body.collect(upTo: 64 * 1024)
        } catch {
            throw IdempotencyStoreError(
                "cannot fetch AWS credentials from the container credentials endpoint \(url): \(error)",
                code: .unavailable
            )
        }
        guard status == 200 else {
            throw IdempotencyStoreError(
                "the container credentials endpoint \(url) answered HTTP \(status): "
                    + String(decoding: body.readableBytesView.prefix(300), as: UTF8.self),
                code: .unavailable
            )
        }
        let answer: ContainerCredentials
        do {
            answer = try JSONDecoder().decode(ContainerCredentials.self, from: Data(body.readableBytesView))
        } catch {
            throw IdempotencyStoreError(
                "the container credentials endpoint \(url) answered with no AccessKeyId and SecretAccessKey",
                code: .unavailable
            )
        }
        return AWSCredentials(
            accessKeyID: answer.AccessKeyId,
            secretAccessKey: answer.SecretAccessKey,
            sessionToken: answer.Token,
            expiresAt: answer.Expiration.flatMap(ISO8601Time.milliseconds)
        )
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? Int64.min : Int64.max) : product + attoseconds / 1_000_000_000
    }
}

/// Times as AWS writes them: `2026-12-07T23:59:59Z`, with optional fractions of a second and a `+hh:mm` offset.
enum ISO8601Time {
    /// The moment, in milliseconds since 1970; `nil` when the text is not such a time.
    static func milliseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"), bytes[13] == UInt8(ascii: ":"),
            bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100
            while index < bytes.count, (48...57).contains(bytes[index]) {
                fraction += Int64(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offset: Int64 = 0
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6)
            else { return nil }
            offset = (hours * 60 + minutes) * 60 * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        let days = Int64(WallClock.daysSinceEpoch(year: Int(year), month: Int(month), day: Int(day)))
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) - offset) * 1000 + fraction
    }
}

extension Array where Element == UInt8 {
    /// The bytes without the ASCII white space at either end.
    func trimmingWhiteSpace() -> ArraySlice<UInt8> {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0D).contains($0) }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return self[first...last]
    }
}
