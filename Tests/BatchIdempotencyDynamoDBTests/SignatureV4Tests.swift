import BatchProcessingTestProcessSupport
import Foundation
import Testing

@testable import BatchIdempotencyDynamoDB

/// The credentials, time, region and service of AWS's Signature Version 4 test suite.
private let suiteSigner = AWSSignatureV4(
    credentials: AWSCredentials(
        accessKeyID: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    ),
    region: "us-east-1",
    service: "service"
)
private let suiteTime = AWSTimestamp(basic: "20150830T123600Z")!

@Suite("Signature Version 4: AWS's published test-suite vectors")
struct SignatureV4VectorTests {
    /// One vector of AWS's `aws-sig-v4-test-suite`: the request, and the signed headers and signature it publishes.
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var method = "GET"
        var path = "/"
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body = ""
        var signedHeaders = "host;x-amz-date"
        var signature: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "get-vanilla", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        Vector(
            name: "get-unreserved",
            path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"
        ),
        Vector(
            name: "get-slashes",
            path: "//example//",
            signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"
        ),
        Vector(
            name: "get-vanilla-query-order-key-case",
            query: [("Param2", "value2"), ("Param1", "value1")],
            signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ),
        Vector(
            name: "get-vanilla-query-order-value",
            query: [("Param1", "value2"), ("Param1", "value1")],
            signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"
        ),
        Vector(
            name: "get-vanilla-utf8-query",
            query: [("\u{1234}", "bar")],
            signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"
        ),
        Vector(
            name: "get-header-value-order",
            headers: [
                ("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2"),
            ],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"
        ),
        Vector(
            name: "get-header-key-duplicate",
            headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"
        ),
        Vector(
            name: "get-header-value-trim",
            headers: [("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
            signedHeaders: "host;my-header1;my-header2;x-amz-date",
            signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"
        ),
        Vector(
            name: "post-x-www-form-urlencoded",
            method: "POST",
            headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "Param1=value1",
            signedHeaders: "content-type;host;x-amz-date",
            signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        ),
    ]

    @Test("Each vector's Authorization header, byte for byte", arguments: vectors)
    func vector(_ vector: Vector) {
        let request = AWSSignatureV4.Request(
            method: vector.method,
            path: vector.path,
            query: vector.query,
            headers: [("Host", "example.amazonaws.com")] + vector.headers,
            body: Array(vector.body.utf8)
        )
        let signed = suiteSigner.sign(request, at: suiteTime)
        let authorization = signed.headers.first { $0.name == "Authorization" }?.value
        #expect(
            authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)"
        )
        #expect(signed.headers.first { $0.name == "X-Amz-Date" }?.value == "20150830T123600Z")
        // The same with the day's signing key given, as the store keeps it.
        let kept = suiteSigner.sign(request, at: suiteTime, signingKey: suiteSigner.signingKey(day: suiteTime.day))
        #expect(kept.headers.first { $0.name == "Authorization" }?.value == authorization)
    }

    @Test("A session token is sent and signed as X-Amz-Security-Token (the suite's post-sts-token case)")
    func sessionToken() {
        var signer = suiteSigner
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        signer.credentials.sessionToken = token
        let signed = signer.sign(
            AWSSignatureV4.Request(method: "GET", path: "/", headers: [("Host", "example.amazonaws.com")], body: []),
            at: suiteTime
        )
        #expect(signed.headers.first { $0.name == "X-Amz-Security-Token" }?.value == token)
        #expect(
            signed.headers.first { $0.name == "Authorization" }?.value
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                + "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
        )
    }

    @Test("The published canonical URIs: a space, UTF-8, repeated slashes, dot segments, an escape encoded again")
    func canonicalPaths() {
        #expect(AWSSignatureV4.canonicalPath("/example space/") == "/example%20space/")
        #expect(AWSSignatureV4.canonicalPath("/\u{1234}") == "/%E1%88%B4")
        #expect(AWSSignatureV4.canonicalPath("//example//") == "/example/")
        #expect(AWSSignatureV4.canonicalPath("/example/..") == "/")
        #expect(AWSSignatureV4.canonicalPath("/./example/./") == "/example/")
        #expect(AWSSignatureV4.canonicalPath("/a%2Fb") == "/a%252Fb")
        #expect(AWSSignatureV4.canonicalPath("") == "/")
    }

    @Test("Timestamps: the basic form of moments across years, leap days and before 1970")
    func timestamps() {
        #expect(AWSTimestamp(secondsSince1970: 0).basic == "19700101T000000Z")
        #expect(AWSTimestamp(secondsSince1970: 1_440_938_160).basic == "20150830T123600Z")
        #expect(AWSTimestamp(secondsSince1970: 951_825_600).basic == "20000229T120000Z")
        #expect(AWSTimestamp(secondsSince1970: 4_107_542_399).basic == "21000228T235959Z")
        #expect(AWSTimestamp(secondsSince1970: -1).basic == "19691231T235959Z")
        #expect(AWSTimestamp(secondsSince1970: 1_796_684_289).day == "20261207")
    }
}

@Suite("Signature Version 4: the same as botocore's SigV4Auth on generated requests")
struct SignatureV4DifferentialTests {
    /// A repeatable stream of numbers (SplitMix64), so that a failing case can be found again.
    struct Numbers {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
        mutating func text(from alphabet: [String], count: ClosedRange<Int>) -> String {
            (0..<(count.lowerBound + below(count.count))).map { _ in pick(alphabet) }.joined()
        }
    }

    struct Case: Encodable {
        var method: String
        var path: String
        var query: [[String]]
        var headers: [[String]]
        var body: String
        var accessKeyID: String
        var secretAccessKey: String
        var sessionToken: String?
        var region: String
        var service: String
        var epochSeconds: Int64
    }

    struct Reference: Decodable {
        var canonicalRequest: String
        var stringToSign: String
        var authorization: String
        var securityToken: String?
    }

    static func cases(count: Int, seed: UInt64) -> [Case] {
        var numbers = Numbers(state: seed)
        let letters = (Array("abcXYZ019-_.~").map(String.init))
        let pathCharacters =
            letters + ["%20", "%2F", "%25", "+", "=", "@", ":", "!", "$", "'", "(", ")", "*", ",", ";", "é", "€"]
        let queryCharacters =
            letters + [" ", "&", "=", "+", "/", "?", "%", "#", "[", "]", "é", "\u{1234}", "😀", "\"", "<", ">"]
        let headerNames = ["X-Amz-Target", "Content-Type", "my-header", "X-Custom-Thing", "Accept", "x-amz-meta-a"]
        let valueWords = ["application/x-amz-json-1.0", "DynamoDB_20120810.PutItem", "a", "b  c", "\"q\"", "1,2"]
        var result: [Case] = []
        for index in 0..<count {
            let segments = (0..<numbers.below(4)).map { _ in
                numbers.pick(["", ".", "..", numbers.text(from: pathCharacters, count: 1...8)])
            }
            var path = "/" + segments.joined(separator: "/")
            if numbers.below(3) == 0 { path += "/" }
            let query = (0..<numbers.below(5)).map { _ in
                [
                    numbers.text(from: queryCharacters, count: 1...6),
                    numbers.below(5) == 0 ? "" : numbers.text(from: queryCharacters, count: 1...10),
                ]
            }
            var headers = [
                [
                    numbers.pick(["Host", "host", "HOST"]),
                    numbers.pick(["dynamodb.eu-west-1.amazonaws.com", "localhost:8000"]),
                ]
            ]
            for _ in 0..<numbers.below(5) {
                let name = numbers.pick(headerNames)
                let cased = numbers.below(2) == 0 ? name.uppercased() : name
                let padding = { (n: inout Numbers) in n.pick(["", " ", "  ", "\t", " \t "]) }
                headers.append([cased, padding(&numbers) + numbers.pick(valueWords) + padding(&numbers)])
            }
            if numbers.below(6) == 0 { headers.append(["User-Agent", "swift-batch-processing"]) }
            if numbers.below(8) == 0 {
                headers.append(["X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"])
            }
            let bodyLength = numbers.pick([0, 0, 1, 57, 1024, 100_000])
            let body = (0..<bodyLength).map { _ in UInt8(truncatingIfNeeded: numbers.next()) }
            result.append(
                Case(
                    method: numbers.pick(["GET", "POST", "PUT", "DELETE", "HEAD", "post"]),
                    path: path,
                    query: query,
                    headers: headers,
                    body: AWSSignatureV4.hex(body),
                    accessKeyID: numbers.pick(["AKIDEXAMPLE", "ASIAXAMPLE12345678"]),
                    secretAccessKey: numbers.pick(["wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "a+b/c=d"]),
                    sessionToken: index % 3 == 0 ? "IQoJb3JpZ2luX2VjE//////////wEaCXVzLWVhc3QtMSJH+token==" : nil,
                    region: numbers.pick(["us-east-1", "eu-west-1", "ap-southeast-2"]),
                    service: numbers.pick(["dynamodb", "service", "sts"]),
                    epochSeconds: Int64(numbers.below(4_102_444_800))
                )
            )
        }
        return result
    }

    /// Methods, paths with escapes and dot segments, queries with reserved characters and UTF-8, headers in any case
    /// and order with repeated names and white space, empty to 100 kB bodies, session tokens, dates from 1970 to 2100.
    @Test("300 generated requests are signed exactly as botocore signs them")
    func matchesBotocore() async throws {
        let cases = Self.cases(count: 300, seed: 20_261_207)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "sigv4-reference.py"
        )
        let output = try await ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", script.path],
            stdin: Array(try JSONEncoder().encode(cases))
        )
        try #require(
            output.status == 0,
            "sigv4-reference.py failed (it needs botocore: pip install botocore): \(output.stderr)"
        )
        let references = try JSONDecoder().decode([Reference].self, from: Data(output.stdout.utf8))
        try #require(references.count == cases.count)
        var mismatches = 0
        for (index, (testCase, reference)) in zip(cases, references).enumerated() {
            var signer = AWSSignatureV4(
                credentials: AWSCredentials(
                    accessKeyID: testCase.accessKeyID,
                    secretAccessKey: testCase.secretAccessKey,
                    sessionToken: testCase.sessionToken
                ),
                region: testCase.region,
                service: testCase.service
            )
            signer.region = testCase.region
            let digits = Array(testCase.body.utf8).map { $0 <= UInt8(ascii: "9") ? $0 - 48 : $0 - 87 }
            let body = stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
            let signed = signer.sign(
                AWSSignatureV4.Request(
                    method: testCase.method,
                    path: testCase.path,
                    query: testCase.query.map { ($0[0], $0[1]) },
                    headers: testCase.headers.map { ($0[0], $0[1]) },
                    body: body
                ),
                at: AWSTimestamp(secondsSince1970: testCase.epochSeconds)
            )
            let authorization = signed.headers.first { $0.name == "Authorization" }?.value
            if signed.canonicalRequest != reference.canonicalRequest || signed.stringToSign != reference.stringToSign
                || authorization != reference.authorization
            {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record(
                        """
                        case \(index) differs from botocore
                        ours:
                        \(signed.canonicalRequest)
                        botocore:
                        \(reference.canonicalRequest)
                        ours: \(authorization ?? "none")
                        botocore: \(reference.authorization)
                        """
                    )
                }
            }
            #expect(signed.headers.first { $0.name == "X-Amz-Security-Token" }?.value == reference.securityToken)
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) requests signed unlike botocore")
    }
}
