import PostgresNIO

/// One of the store's statements: which SQL of the schema it is, what it is called once prepared on a connection,
/// and the types of its parameters.
protocol StoreStatementKind: Sendable {
    static var name: String { get }
    /// True for a statement that changes rows: its answer counts only once the server has committed it.
    static var writes: Bool { get }
    static var parameterTypes: [PostgresDataType] { get }
    static func sql(in schema: PostgresSchema) -> String
}

enum ClaimStatement: StoreStatementKind {
    static let writes = true
    static let name = "batch_idempotency_claim"
    static let parameterTypes: [PostgresDataType] = [.text, .text, .text, .int8, .int8, .int8]
    static func sql(in schema: PostgresSchema) -> String { schema.claim }
}

enum CompleteStatement: StoreStatementKind {
    static let writes = true
    static let name = "batch_idempotency_complete"
    static let parameterTypes: [PostgresDataType] = [.text, .text]
    static func sql(in schema: PostgresSchema) -> String { schema.complete }
}

enum ReleaseStatement: StoreStatementKind {
    static let writes = true
    static let name = "batch_idempotency_release"
    static let parameterTypes: [PostgresDataType] = [.text, .text]
    static func sql(in schema: PostgresSchema) -> String { schema.release }
}

enum SelectStatement: StoreStatementKind {
    static let writes = false
    static let name = "batch_idempotency_select"
    static let parameterTypes: [PostgresDataType] = [.text]
    static func sql(in schema: PostgresSchema) -> String { schema.select }
}

enum PageStatement: StoreStatementKind {
    static let writes = false
    static let name = "batch_idempotency_page"
    static let parameterTypes: [PostgresDataType] = [.text, .int8]
    static func sql(in schema: PostgresSchema) -> String { schema.page }
}

enum PurgeStatement: StoreStatementKind {
    static let writes = true
    static let name = "batch_idempotency_purge"
    static let parameterTypes: [PostgresDataType] = [.int8, .int8]
    static func sql(in schema: PostgresSchema) -> String { schema.purge }
}

/// A statement that postgres-nio prepares once per connection and then only binds and executes.
///
/// postgres-nio takes a prepared statement's SQL from its type, while the store's SQL names a table chosen at run
/// time. The schema is therefore handed over as a task-local value around each execution, read when postgres-nio
/// asks for the SQL. Every connection of a store serves that store alone, so a statement prepared under one name on
/// a connection is always the same SQL.
struct PreparedStoreStatement<Kind: StoreStatementKind>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static var name: String { Kind.name }
    static var sql: String {
        // Never empty in practice: the store sets the schema around every execution.
        PreparationSchema.current.map { Kind.sql(in: $0) } ?? ""
    }
    static var bindingDataTypes: [PostgresDataType] { Kind.parameterTypes }

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// The schema whose SQL a statement being prepared takes (see ``PreparedStoreStatement``).
enum PreparationSchema {
    @TaskLocal static var current: PostgresSchema?
}
