/// AWS credentials: an access key id, its secret, and for temporary credentials a session token and when they
/// expire.
///
/// Their `description` shows the access key id only, never the secret or the token.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The access key id (`AKIA…`, or `ASIA…` for temporary credentials).
    public var accessKeyID: String
    /// The secret access key.
    public var secretAccessKey: String
    /// The session token of temporary credentials (Lambda's, a role's); `nil` for long-term keys.
    public var sessionToken: String?
    /// When temporary credentials stop working, in milliseconds since 1970; `nil` when not known.
    public var expiresAt: Int64?

    /// Credentials from their parts.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiresAt: Int64? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiresAt = expiresAt
    }

    public var description: String {
        "AWS credentials \(accessKeyID)\(sessionToken == nil ? "" : " (temporary)")"
    }
}
