public import BatchIdempotency

/// Where the DynamoDB store keeps its records and how it reaches DynamoDB: table, region, endpoint, credentials and
/// time limits.
///
/// On Lambda, the table name is all it needs: the region and the credentials come from the function's environment
/// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`):
///
/// ```swift
/// let configuration = try DynamoDBStoreConfiguration(table: "orders-idempotency", environment: environment)
/// ```
public struct DynamoDBStoreConfiguration: Sendable, CustomStringConvertible {
    /// Where the store's credentials come from.
    public enum CredentialsSource: Sendable {
        /// The standard variables, read when the store starts: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
        /// `AWS_SESSION_TOKEN` (what Lambda sets), else the container credentials endpoint
        /// (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN` or
        /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, or `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`: ECS, Lambda
        /// SnapStart), whose credentials are fetched again before they expire.
        case environment([String: String])
        /// These credentials, as they are.
        case fixed(AWSCredentials)
    }

    /// The table (3 to 255 letters, digits, `_`, `-` and `.`).
    public var table: String
    /// The region (`eu-west-1`): the scope of the signature, and of the endpoint when none is given.
    public var region: String
    /// The endpoint's URL (`http://127.0.0.1:8000` for DynamoDB Local or a test server); `nil` for the region's
    /// public one, `https://dynamodb.REGION.amazonaws.com`.
    public var endpoint: String?
    /// Where the credentials come from.
    public var credentials: CredentialsSource
    /// The longest a state change may take, its retries included (default 5 s). Throttled requests and DynamoDB's
    /// server errors are retried with growing, random waits (AWS's "full jitter") while time is left; the record
    /// whose state could not be established fails, so that Lambda delivers it again.
    public var timeout: Duration
    /// How long to wait for a new connection (default 3 s).
    public var connectTimeout: Duration
    /// At most this many connections to DynamoDB at once (default 16), kept alive for reuse.
    public var maximumConnections: Int
    /// The attribute DynamoDB's time to live reads (default `expiration`): when the record may be deleted, in
    /// seconds since 1970. Turn TTL on for it (``DynamoDBIdempotencyStore/migrate()`` does).
    public var timeToLiveAttribute: String

    /// The table's default name.
    public static let defaultTable = "batch_idempotency"

    /// A configuration from its parts.
    public init(
        table: String = DynamoDBStoreConfiguration.defaultTable,
        region: String,
        endpoint: String? = nil,
        credentials: CredentialsSource,
        timeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(3),
        maximumConnections: Int = 16,
        timeToLiveAttribute: String = "expiration"
    ) {
        self.table = table
        self.region = region
        self.endpoint = endpoint
        self.credentials = credentials
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maximumConnections = maximumConnections
        self.timeToLiveAttribute = timeToLiveAttribute
    }

    /// A configuration for `table` with the region, endpoint and credentials from `environment` as the AWS SDKs
    /// read them: the region from `AWS_REGION`, else `AWS_DEFAULT_REGION`; the endpoint from
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`, else the region's; the credentials as
    /// ``CredentialsSource/environment(_:)`` says.
    ///
    /// - Throws: `IdempotencyStoreError` (``IdempotencyStoreError/Code/invalidConfiguration``) when no region is
    ///   set or a setting is not valid.
    public init(
        table: String = DynamoDBStoreConfiguration.defaultTable,
        environment: [String: String]
    ) throws(IdempotencyStoreError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        guard let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") else {
            throw IdempotencyStoreError(
                "the DynamoDB store needs a region: set AWS_REGION (Lambda sets it) or AWS_DEFAULT_REGION, or give "
                    + "region in the chain file",
                code: .invalidConfiguration
            )
        }
        self.init(
            table: table,
            region: region,
            endpoint: value("AWS_ENDPOINT_URL_DYNAMODB") ?? value("AWS_ENDPOINT_URL"),
            credentials: .environment(environment)
        )
        try validate()
    }

    /// The endpoint the store sends its requests to.
    public var resolvedEndpoint: String {
        if let endpoint { return endpoint }
        // The China regions have a domain of their own.
        return region.hasPrefix("cn-")
            ? "https://dynamodb.\(region).amazonaws.com.cn" : "https://dynamodb.\(region).amazonaws.com"
    }

    /// Checks what DynamoDB would refuse late, or what cannot work.
    public func validate() throws(IdempotencyStoreError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.".utf8)
        guard (3...255).contains(table.utf8.count), table.utf8.allSatisfy(allowed.contains) else {
            throw IdempotencyStoreError(
                "the DynamoDB table name '\(table)' is not allowed: 3 to 255 letters, digits, '_', '-' and '.'",
                code: .invalidConfiguration
            )
        }
        guard !region.isEmpty, region.utf8.allSatisfy(allowed.contains) else {
            throw IdempotencyStoreError(
                "the AWS region '\(region)' is not a region name (like eu-west-1)",
                code: .invalidConfiguration
            )
        }
        _ = try DynamoDBEndpoint(resolvedEndpoint)
        guard maximumConnections >= 1 else {
            throw IdempotencyStoreError(
                "maximumConnections must be 1 or more, not \(maximumConnections)",
                code: .invalidConfiguration
            )
        }
        guard timeout > .zero, connectTimeout > .zero else {
            throw IdempotencyStoreError(
                "the DynamoDB store's timeout and connectTimeout must be more than zero",
                code: .invalidConfiguration
            )
        }
        guard !timeToLiveAttribute.isEmpty, !DynamoDBRecordAttributes.names.contains(timeToLiveAttribute) else {
            throw IdempotencyStoreError(
                "the time-to-live attribute '\(timeToLiveAttribute)' is empty or one of the store's own "
                    + "(\(DynamoDBRecordAttributes.names.sorted().joined(separator: ", ")))",
                code: .invalidConfiguration
            )
        }
    }

    /// The table, region and endpoint, for messages: never a credential.
    public var description: String {
        "DynamoDB table \(table) (\(region)\(endpoint.map { ", \($0)" } ?? ""))"
    }
}

/// An endpoint URL's parts: `http` or `https`, the host, the port, for the `Host` header and the connection.
struct DynamoDBEndpoint: Sendable, Hashable {
    var url: String
    var host: String
    /// The `Host` header: the host, with the port when it is not the scheme's.
    var hostHeader: String

    init(_ text: String) throws(IdempotencyStoreError) {
        var rest = Substring(text)
        let secure: Bool
        if rest.hasPrefix("https://") {
            secure = true
            rest = rest.dropFirst(8)
        } else if rest.hasPrefix("http://") {
            secure = false
            rest = rest.dropFirst(7)
        } else {
            throw IdempotencyStoreError(
                "the DynamoDB endpoint '\(text)' is not an http:// or https:// URL",
                code: .invalidConfiguration
            )
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("?"), !rest.contains("@") else {
            throw IdempotencyStoreError(
                "the DynamoDB endpoint '\(text)' must be a scheme and a host with an optional port, without a path "
                    + "or credentials",
                code: .invalidConfiguration
            )
        }
        var host = String(rest)
        var port: Int? = nil
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw IdempotencyStoreError(
                    "the DynamoDB endpoint '\(text)' has a port that is not a number from 1 to 65535",
                    code: .invalidConfiguration
                )
            }
            host = String(rest[..<colon])
            port = number
        }
        self.url = (secure ? "https://" : "http://") + rest + "/"
        self.host = host
        let defaultPort = secure ? 443 : 80
        self.hostHeader = port.map { $0 == defaultPort ? host : "\(host):\($0)" } ?? host
    }
}
