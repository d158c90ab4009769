import BatchProcessingJSONSupport
package import Crypto

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for requests sent in headers: the canonical request, the string to
/// sign, the signing key and the `Authorization` header, as the AWS General Reference describes them for services
/// other than S3 (path segments encoded twice, dot segments and repeated slashes removed).
///
/// Proven against botocore's `SigV4Auth` on generated requests (`Tests/BatchIdempotencyDynamoDBTests`, the
/// `sigv4-reference.py` script) and against AWS's published test-suite vectors.
package struct AWSSignatureV4: Sendable {
    /// The credentials a request is signed with.
    package var credentials: AWSCredentials
    /// The region of the scope (`us-east-1`).
    package var region: String
    /// The service of the scope (`dynamodb`).
    package var service: String

    package init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request to sign: its method, path (as it goes on the wire, percent-encoded), query items (not encoded),
    /// headers (any case, any order; a name may repeat) and body.
    package struct Request: Sendable {
        package var method: String
        package var path: String
        package var query: [(name: String, value: String)]
        package var headers: [(name: String, value: String)]
        package var body: [UInt8]

        package init(
            method: String,
            path: String,
            query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)],
            body: [UInt8]
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    /// What signing made: the headers to add to the request (`X-Amz-Date`, `X-Amz-Security-Token` when there is a
    /// session token, `Authorization`), and the steps, for tests and for debugging a refused signature.
    package struct Signature: Sendable {
        package var headers: [(name: String, value: String)]
        package var canonicalRequest: String
        package var stringToSign: String
        package var signature: String
    }

    /// Headers never signed: hop-by-hop headers a proxy may change, and those a client library or tracer adds on
    /// the way (`User-Agent`, `X-Amzn-Trace-Id`); botocore leaves out the same ones.
    static let unsignedHeaders: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]
    /// Headers signing sets itself: a caller's are replaced.
    static let replacedHeaders: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token"]

    /// Signs `request` at `date` (UTC). The request's headers must hold `Host` (with the port when it is not the
    /// scheme's default); an `Authorization`, `X-Amz-Date` or `X-Amz-Security-Token` among them is replaced. The
    /// body is always hashed (no `UNSIGNED-PAYLOAD`), and the time always goes in `X-Amz-Date`.
    ///
    /// `signingKey` is ``signingKey(day:)`` of the date's day when the caller keeps it (it changes once a day), so
    /// that each request does not derive it again.
    package func sign(_ request: Request, at date: AWSTimestamp, signingKey: SymmetricKey? = nil) -> Signature {
        var added: [(name: String, value: String)] = [("X-Amz-Date", date.basic)]
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token))
        }
        // Canonical headers: lower-case names, sorted; the values of a repeated name joined by commas in the order
        // given; each value trimmed and its runs of white space made one space.
        var values: [String: [String]] = [:]
        for (name, value) in request.headers where !Self.replacedHeaders.contains(name.lowercased()) {
            let lower = name.lowercased()
            guard !Self.unsignedHeaders.contains(lower) else { continue }
            values[lower, default: []].append(Self.trimmed(value))
        }
        for (name, value) in added {
            let lower = name.lowercased()
            values[lower, default: []].append(Self.trimmed(value))
        }
        let names = values.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let signedHeaders = names.joined(separator: ";")
        var canonical = request.method.uppercased() + "\n"
        canonical += Self.canonicalPath(request.path) + "\n"
        canonical += Self.canonicalQuery(request.query) + "\n"
        for name in names {
            canonical += name + ":" + (values[name] ?? []).joined(separator: ",") + "\n"
        }
        canonical += "\n" + signedHeaders + "\n"
        canonical += Self.hex(SHA256.hash(data: request.body))

        let scope = "\(date.day)/\(region)/\(service)/aws4_request"
        let stringToSign =
            "AWS4-HMAC-SHA256\n\(date.basic)\n\(scope)\n" + Self.hex(SHA256.hash(data: Array(canonical.utf8)))
        let signature = Self.hex(
            HMAC<SHA256>.authenticationCode(
                for: Array(stringToSign.utf8),
                using: signingKey ?? self.signingKey(day: date.day)
            )
        )
        added.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), "
                    + "Signature=\(signature)"
            )
        )
        return Signature(headers: added, canonicalRequest: canonical, stringToSign: stringToSign, signature: signature)
    }

    /// The key of a day's scope: the secret, then the day, region, service and `aws4_request`, each an HMAC.
    package func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    // MARK: - Canonical forms

    /// The canonical URI: the path's dot segments and empty segments removed (a trailing slash kept), then every
    /// segment percent-encoded as it stands, so that an escape already in the path is encoded again (`%20` becomes
    /// `%2520`), as every service but S3 expects.
    static func canonicalPath(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        var result = path.hasPrefix("/") ? "/" : ""
        result += segments.map { encode(String($0)) }.joined(separator: "/")
        if path.hasSuffix("/"), !segments.isEmpty { result += "/" }
        return result
    }

    /// The canonical query: each name and value percent-encoded (all but the unreserved characters), the pairs
    /// sorted by encoded name, then by encoded value, joined by `&`.
    static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        items.map { (encode($0.name), encode($0.value)) }
            .sorted { left, right in
                left.0 == right.0
                    ? Array(left.1.utf8).lexicographicallyPrecedes(Array(right.1.utf8))
                    : Array(left.0.utf8).lexicographicallyPrecedes(Array(right.0.utf8))
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of UTF-8 bytes: `A`–`Z`, `a`–`z`, `0`–`9`, `-`, `_`, `.`, `~` as they are, every
    /// other byte as `%XX` in upper-case hex.
    static func encode(_ text: String) -> String {
        var result = [UInt8]()
        result.reserveCapacity(text.utf8.count)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                result.append(byte)
            default:
                result += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// A header value with its leading and trailing white space removed and each run inside made one space.
    static func trimmed(_ value: String) -> String {
        var result = [UInt8]()
        var pendingSpace = false
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C:
                pendingSpace = !result.isEmpty
            default:
                if pendingSpace { result.append(UInt8(ascii: " ")) }
                pendingSpace = false
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var result = [UInt8]()
        for byte in bytes {
            result.append(digits[Int(byte >> 4)])
            result.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: result, as: UTF8.self)
    }
}

/// A moment in UTC in the two forms a signature uses: `20150830T123600Z` and `20150830`.
package struct AWSTimestamp: Sendable, Hashable {
    /// `yyyyMMdd'T'HHmmss'Z'`.
    package let basic: String
    /// `yyyyMMdd`.
    package var day: String { String(basic.prefix(8)) }

    /// The moment `secondsSince1970` seconds after 1970-01-01T00:00:00Z.
    package init(secondsSince1970: Int64) {
        let days = WallClock.floorDivide(secondsSince1970, 86_400)
        let seconds = Int(secondsSince1970 - days * 86_400)
        let (year, month, day) = WallClock.civilDate(fromDaysSinceEpoch: Int(days))
        basic =
            WallClock.pad(year, 4) + WallClock.pad(month, 2) + WallClock.pad(day, 2) + "T"
            + WallClock.pad(seconds / 3600, 2) + WallClock.pad(seconds / 60 % 60, 2) + WallClock.pad(seconds % 60, 2)
            + "Z"
    }

    /// A timestamp already in the basic form (for tests against published vectors).
    package init?(basic: String) {
        guard basic.utf8.count == 16, basic.utf8.dropFirst(8).first == UInt8(ascii: "T"), basic.hasSuffix("Z") else {
            return nil
        }
        self.basic = basic
    }
}
