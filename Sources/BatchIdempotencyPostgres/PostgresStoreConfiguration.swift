public import BatchIdempotency
import BatchProcessingSystemSupport

/// Where the PostgreSQL store connects and how: server, credentials, TLS, table and time limits.
///
/// Make one from a libpq-style URL, from the standard `PG*` environment variables, or both (the URL's parts win):
///
/// ```swift
/// let configuration = try PostgresStoreConfiguration(url: "postgres://batch@db.internal:5432/orders?sslmode=require")
/// let configuration = try PostgresStoreConfiguration(environment: ProcessInfo.processInfo.environment)
/// ```
///
/// Its `description` never shows the password.
public struct PostgresStoreConfiguration: Sendable, CustomStringConvertible {
    /// How the connection uses TLS; the values and meanings of libpq's `sslmode`.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Never TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default). `allow` reads as this.
        case prefer
        /// TLS or no connection, without checking the server's certificate.
        case require
        /// TLS or no connection; the server's certificate must chain to a trusted root (any host name).
        case verifyCA = "verify-ca"
        /// TLS or no connection; the certificate must chain to a trusted root and name the host.
        case verifyFull = "verify-full"
    }

    /// The server's host name or IP address; `nil` with ``unixSocketPath``.
    public var host: String?
    /// The server's TCP port (default 5432); also names the socket file in a socket directory.
    public var port: Int
    /// The path of the server's Unix socket (`/run/postgresql/.s.PGSQL.5432`), instead of TCP.
    public var unixSocketPath: String?
    /// The role to connect as.
    public var username: String
    /// Its password, if the server asks for one.
    public var password: String?
    /// The database (default: the role's name).
    public var database: String?
    /// TLS, by libpq's `sslmode` (default ``TLSMode/prefer``).
    public var tlsMode: TLSMode
    /// A PEM file of root certificates to trust for ``TLSMode/verifyCA`` and ``TLSMode/verifyFull`` (libpq's
    /// `sslrootcert`; for RDS, the region's certificate bundle); `nil` for the system's roots, found by
    /// ``systemRootCertificates(environment:)`` when the store starts.
    public var rootCertificatePath: String?
    /// The table of records (default `batch_idempotency`); a plain or schema-qualified name of lower-case letters,
    /// digits and underscores.
    public var table: String
    /// The longest a state change may take, connecting included (default 5 s). The server cancels a statement
    /// that runs past half of it (`statement_timeout`, a lock held by another session, an overloaded server); a
    /// statement that gets no answer at all in that half (a connection that died silently) is sent once more on a
    /// new connection. The record whose state could not be established fails, so that Lambda delivers it again.
    public var timeout: Duration
    /// How long to wait for a new connection (default 3 s).
    public var connectTimeout: Duration
    /// At most this many connections at once (default 8), opened when needed and kept for reuse until the store
    /// shuts down or the server ends them.
    public var maximumConnections: Int
    /// The `application_name` the server shows in `pg_stat_activity` (default `batch-processing`).
    public var applicationName: String
    /// Whether the state changes run as prepared statements, parsed and planned once per connection (default on;
    /// about three times faster per record, measured on a local server). Turn it off (URL parameter
    /// `prepared_statements=off`) behind a pooler that cannot carry them: PgBouncer in transaction mode before 1.21,
    /// or RDS Proxy, which pins a session that prepares statements to one database connection.
    public var usesPreparedStatements: Bool

    /// The table's default name.
    public static let defaultTable = "batch_idempotency"

    /// Where the system's root certificates are looked for, in order, when `SSL_CERT_FILE` names none: Amazon Linux
    /// (Lambda's `provided.al2023`), Fedora and RHEL keep them in the first, Debian, Ubuntu, Alpine and Arch in the
    /// second.
    public static let systemRootCertificateFiles = [
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/certs/ca-certificates.crt",
    ]

    /// The PEM file of the system's root certificates: the file `SSL_CERT_FILE` names when it is set (OpenSSL's
    /// convention, which libpq follows), else the first of ``systemRootCertificateFiles`` that exists; `nil` when
    /// there is none (a verifying store then refuses to start, saying so).
    public static func systemRootCertificates(environment: [String: String]) -> String? {
        if let file = environment["SSL_CERT_FILE"], !file.isEmpty {
            return file
        }
        return systemRootCertificateFiles.first { SystemIO.kind(of: $0) == .regularFile }
    }

    /// A configuration from its parts.
    public init(
        host: String? = "localhost",
        port: Int = 5432,
        unixSocketPath: String? = nil,
        username: String,
        password: String? = nil,
        database: String? = nil,
        tlsMode: TLSMode = .prefer,
        rootCertificatePath: String? = nil,
        table: String = PostgresStoreConfiguration.defaultTable,
        timeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(3),
        maximumConnections: Int = 8,
        applicationName: String = "batch-processing",
        usesPreparedStatements: Bool = true
    ) {
        self.host = host
        self.port = port
        self.unixSocketPath = unixSocketPath
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
        self.rootCertificatePath = rootCertificatePath
        self.table = table
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maximumConnections = maximumConnections
        self.applicationName = applicationName
        self.usesPreparedStatements = usesPreparedStatements
    }

    /// A configuration from a libpq-style URL, `postgres://user[:password]@host[:port]/database[?sslmode=…]`,
    /// with what the URL leaves out taken from `environment` (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
    /// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`).
    ///
    /// The URL may also be `postgresql://`; its user name, password and database are percent-decoded; a host in
    /// brackets is an IPv6 address; the query may set `sslmode`, `sslrootcert`, `host` (a socket directory when it
    /// starts with `/`), `port`, `user`, `password`, `dbname` and `application_name`, and this store's own
    /// `prepared_statements` (`on` or `off`, ``usesPreparedStatements``). `sslrootcert=system` (as in libpq 16)
    /// trusts the system's roots and makes `verify-full` the default; a weaker `sslmode` with it is refused.
    ///
    /// - Throws: `IdempotencyStoreError` naming what is wrong; its message never contains the password.
    public init(url: String, environment: [String: String] = [:]) throws(IdempotencyStoreError) {
        var parts = try PostgresURL.parse(url)
        parts.fill(from: environment)
        try self.init(parts: parts, origin: "the PostgreSQL URL \(ConnectionURL.redacted(url))")
    }

    /// A configuration from the standard environment variables alone (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
    /// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`); `PGHOST` defaults to `localhost`, and `PGUSER` must be set.
    public init(environment: [String: String]) throws(IdempotencyStoreError) {
        var parts = PostgresURL.Parts()
        parts.fill(from: environment)
        try self.init(parts: parts, origin: "the PG* environment variables")
    }

    private init(parts: PostgresURL.Parts, origin: String) throws(IdempotencyStoreError) {
        guard let username = parts.user, !username.isEmpty else {
            throw IdempotencyStoreError(
                "\(origin) names no user: put it in the URL (postgres://USER@host/db) or PGUSER",
                code: .invalidConfiguration
            )
        }
        var port = 5432
        if let text = parts.port {
            guard let number = Int(text), (1...65535).contains(number) else {
                throw IdempotencyStoreError(
                    "\(origin) has port '\(text)': a port is a number from 1 to 65535",
                    code: .invalidConfiguration
                )
            }
            port = number
        }
        var tlsMode = TLSMode.prefer
        if let text = parts.sslMode {
            switch text {
            case "allow": tlsMode = .prefer
            default:
                guard let mode = TLSMode(rawValue: text) else {
                    throw IdempotencyStoreError(
                        "\(origin) has sslmode '\(text)': use disable, allow, prefer, require, verify-ca or verify-full",
                        code: .invalidConfiguration
                    )
                }
                tlsMode = mode
            }
        }
        var usesPreparedStatements = true
        if let text = parts.preparedStatements {
            switch text.lowercased() {
            case "on", "true", "1", "yes": usesPreparedStatements = true
            case "off", "false", "0", "no": usesPreparedStatements = false
            default:
                throw IdempotencyStoreError(
                    "\(origin) has prepared_statements '\(text)': use on or off",
                    code: .invalidConfiguration
                )
            }
        }
        var rootCertificatePath = parts.rootCertificate.flatMap { $0.isEmpty ? nil : $0 }
        if rootCertificatePath == "system" {
            // libpq 16's special value: the system's roots, which anyone can get a certificate from for a name of
            // their own; so nothing but verify-full makes sense with them, and it is the default.
            rootCertificatePath = nil
            if parts.sslMode == nil {
                tlsMode = .verifyFull
            } else if tlsMode != .verifyFull {
                throw IdempotencyStoreError(
                    "\(origin) has sslrootcert=system with sslmode '\(parts.sslMode ?? "")': the system's roots "
                        + "prove a server only with sslmode=verify-full (the default with sslrootcert=system)",
                    code: .invalidConfiguration
                )
            }
        }
        let host = parts.host ?? "localhost"
        let isSocketDirectory = host.hasPrefix("/")
        self.init(
            host: isSocketDirectory ? nil : host,
            port: port,
            unixSocketPath: isSocketDirectory ? host + "/.s.PGSQL.\(port)" : nil,
            username: username,
            password: parts.password,
            database: parts.database.flatMap { $0.isEmpty ? nil : $0 },
            tlsMode: tlsMode,
            rootCertificatePath: rootCertificatePath,
            applicationName: parts.applicationName ?? "batch-processing",
            usesPreparedStatements: usesPreparedStatements
        )
        try validate()
    }

    /// Checks the parts a server would refuse late or that would make bad SQL.
    public func validate() throws(IdempotencyStoreError) {
        guard Self.isValidTableName(table) else {
            throw IdempotencyStoreError(
                "the table name '\(table)' is not allowed: use lower-case letters, digits and underscores, "
                    + "optionally schema.table, each part starting with a letter or underscore",
                code: .invalidConfiguration
            )
        }
        guard maximumConnections >= 1 else {
            throw IdempotencyStoreError(
                "maximumConnections must be 1 or more, not \(maximumConnections)",
                code: .invalidConfiguration
            )
        }
        guard timeout > .zero, connectTimeout > .zero else {
            throw IdempotencyStoreError(
                "the PostgreSQL store's timeouts must be above zero",
                code: .invalidConfiguration
            )
        }
        if host == nil, unixSocketPath == nil {
            throw IdempotencyStoreError(
                "the PostgreSQL store needs a host or a Unix socket path",
                code: .invalidConfiguration
            )
        }
    }

    static func isValidTableName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return false }
        return parts.allSatisfy { part in
            guard let first = part.utf8.first, part.utf8.count <= 63 else { return false }
            let startsWell = (0x61...0x7A).contains(first) || first == 0x5F
            return startsWell
                && part.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
        }
    }

    /// The server and database, for messages and logs: never the password.
    public var description: String {
        let place = unixSocketPath ?? "\(host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "localhost"):\(port)"
        return "postgres://\(username)@\(place)/\(database ?? username) (table \(table), sslmode \(tlsMode.rawValue))"
    }
}

/// The parts of a libpq-style connection URL.
enum PostgresURL {
    struct Parts {
        var user: String?
        var password: String?
        var host: String?
        var port: String?
        var database: String?
        var sslMode: String?
        var rootCertificate: String?
        var applicationName: String?
        var preparedStatements: String?

        /// Fills what is still missing from the standard variables.
        mutating func fill(from environment: [String: String]) {
            func value(_ name: String) -> String? {
                guard let value = environment[name], !value.isEmpty else { return nil }
                return value
            }
            user = user ?? value("PGUSER")
            password = password ?? value("PGPASSWORD")
            host = host ?? value("PGHOST")
            port = port ?? value("PGPORT")
            database = database ?? value("PGDATABASE")
            sslMode = sslMode ?? value("PGSSLMODE")
            rootCertificate = rootCertificate ?? value("PGSSLROOTCERT")
            applicationName = applicationName ?? value("PGAPPNAME")
        }
    }

    static func parse(_ url: String) throws(IdempotencyStoreError) -> Parts {
        let shown = ConnectionURL.redacted(url)
        var rest = Substring(url)
        if rest.hasPrefix("postgres://") {
            rest = rest.dropFirst("postgres://".count)
        } else if rest.hasPrefix("postgresql://") {
            rest = rest.dropFirst("postgresql://".count)
        } else {
            throw IdempotencyStoreError(
                "'\(shown)' is not a PostgreSQL URL: it must start with postgres:// (postgres://user:password@host:5432/database)",
                code: .invalidConfiguration
            )
        }
        var parts = Parts()
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                parts.user = try decode(userInfo[..<colon], "user name", in: shown)
                parts.password = try decode(userInfo[userInfo.index(after: colon)...], "password", in: shown)
            } else {
                parts.user = try decode(userInfo, "user name", in: shown)
            }
        }
        // host, host:port, [v6], [v6]:port
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw IdempotencyStoreError(
                    "'\(shown)' has an IPv6 host without its closing ]",
                    code: .invalidConfiguration
                )
            }
            parts.host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                parts.port = String(after.dropFirst())
            } else if !after.isEmpty {
                throw IdempotencyStoreError(
                    "'\(shown)' has '\(after)' after its IPv6 host",
                    code: .invalidConfiguration
                )
            }
        } else if let colon = rest.firstIndex(of: ":") {
            parts.host = String(rest[..<colon])
            parts.port = String(rest[rest.index(after: colon)...])
        } else if !rest.isEmpty {
            parts.host = String(rest)
        }
        if parts.host?.isEmpty == true { parts.host = nil }
        if parts.port?.isEmpty == true { parts.port = nil }
        if !path.isEmpty { parts.database = try decode(path, "database name", in: shown) }
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let name: Substring
            let value: String
            if let equals = pair.firstIndex(of: "=") {
                name = pair[..<equals]
                value = try decode(pair[pair.index(after: equals)...], "query parameter", in: shown)
            } else {
                name = pair
                value = ""
            }
            switch name {
            case "sslmode": parts.sslMode = value
            case "sslrootcert": parts.rootCertificate = value
            case "host": parts.host = value
            case "port": parts.port = value
            case "user": parts.user = value
            case "password": parts.password = value
            case "dbname": parts.database = value
            case "application_name": parts.applicationName = value
            case "prepared_statements": parts.preparedStatements = value
            case "connect_timeout", "target_session_attrs", "options", "sslcert", "sslkey":
                throw IdempotencyStoreError(
                    "'\(shown)' sets \(name), which the PostgreSQL store does not support; use its configuration instead",
                    code: .invalidConfiguration
                )
            default:
                throw IdempotencyStoreError(
                    "'\(shown)' has the unknown query parameter '\(name)' (known: sslmode, sslrootcert, host, port, "
                        + "user, password, dbname, application_name, prepared_statements)",
                    code: .invalidConfiguration
                )
            }
        }
        return parts
    }

    /// Percent-decodes one part of the URL.
    static func decode(_ text: Substring, _ what: String, in shown: String) throws(IdempotencyStoreError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let high = utf8.index(after: index)
                guard high != utf8.endIndex, utf8.index(after: high) != utf8.endIndex,
                    let upper = hexValue(utf8[high]), let lower = hexValue(utf8[utf8.index(after: high)])
                else {
                    throw IdempotencyStoreError(
                        "'\(shown)' has a bad percent escape in its \(what)",
                        code: .invalidConfiguration
                    )
                }
                bytes.append(upper << 4 | lower)
                index = utf8.index(high, offsetBy: 2)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw IdempotencyStoreError(
                "'\(shown)' has a \(what) that is not UTF-8 once decoded",
                code: .invalidConfiguration
            )
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
