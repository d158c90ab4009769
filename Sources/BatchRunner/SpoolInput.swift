import BatchProcessingSystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Batch events as files dropped into a spool directory, for a ``BatchWorker`` on a host.
///
/// The directory holds four folders, made when missing:
/// - `incoming/`: drop events here, each a JSON file. Write it elsewhere on the same file system (or under a name
///   starting with `.`, which is ignored) and rename it in, so that the worker never reads half a file.
/// - `processing/`: the event being worked on, moved (by an atomic rename) into the worker's own folder there before
///   it is read, so that several workers can share one spool and each event is taken once. Each worker holds a
///   lock on its folder while it runs; events in the folder of a worker that stopped abruptly (its lock free) are
///   moved back to `incoming/` when a spool is opened.
/// - `done/`: the event once answered, beside its answer, `NAME.response.json` (the partial batch response).
/// - `failed/`: the event and its answer (Lambda's error shape) when it was not a valid event or its batch failed
///   as a whole; an unreadable file with `NAME.error.txt`.
///
/// Events are taken in name order; the folder is looked at every `pollInterval` while it is empty. An answer is
/// written under a temporary name and renamed into place. An event whose name is already in `done/` or `failed/`
/// replaces the earlier one. An event whose name ends like an answer (`.response.json`, `.error.txt`) is taken under
/// its name with `.event` added, so that it never overwrites another event's answer: `a.json.response.json` is
/// answered in `a.json.response.json.event.response.json`.
package struct SpoolInput: AsyncSequence, Sendable {
    package typealias Element = BatchWorkItem

    /// The spool directory.
    package let directory: String
    /// How long to wait before looking again at an empty `incoming/`.
    package let pollInterval: Duration
    /// This worker's folder in `processing/`, locked while the spool is open.
    private let claim: Claim

    /// Opens the spool at `directory`: makes its folders and puts back in `incoming/` what a stopped worker left in
    /// `processing/`.
    ///
    /// - Throws: ``SpoolError`` when a folder cannot be made or read.
    package init(directory: String, pollInterval: Duration = .milliseconds(200)) throws(SpoolError) {
        self.directory = directory
        self.pollInterval = pollInterval
        for folder in [Folder.incoming, .processing, .done, .failed] {
            let path = directory + "/" + folder.rawValue
            do {
                try SystemIO.makeDirectories(path)
            } catch {
                throw SpoolError(.cannotCreate, "cannot make the spool folder \(path): \(error)")
            }
        }
        try Self.recoverAbandoned(in: directory + "/" + Folder.processing.rawValue, to: directory + "/incoming")
        claim = try Claim(in: directory + "/" + Folder.processing.rawValue)
    }

    /// This worker's folder in `processing/` and the lock that tells other workers it is alive: a `flock` held on
    /// `processing/ID.lock` for as long as the process (or the spool) lives.
    final class Claim: Sendable {
        let folder: String
        private let descriptor: Int32

        init(in processing: String) throws(SpoolError) {
            let id = "\(SystemIO.hostName())-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            folder = processing + "/" + id
            descriptor = open(processing + "/" + id + ".lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            guard descriptor >= 0, flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                throw SpoolError(.cannotLock, "cannot lock \(folder).lock: \(String(cString: strerror(errno)))")
            }
            do {
                try SystemIO.makeDirectories(folder)
            } catch {
                throw SpoolError(.cannotCreate, "cannot make the spool folder \(folder): \(error)")
            }
        }

        deinit {
            // An empty folder goes; one with an event in it stays for the next worker to take up.
            rmdir(folder)
            if (try? SystemIO.entries(of: folder)) == nil {
                unlink(folder + ".lock")
            }
            close(descriptor)
        }
    }

    /// Moves back to `incoming/` the events of workers that are gone: folders in `processing/` whose lock is free,
    /// and files directly in `processing/` (left by an older layout).
    private static func recoverAbandoned(in processing: String, to incoming: String) throws(SpoolError) {
        let entries: [String]
        do {
            entries = try SystemIO.entries(of: processing)
        } catch {
            throw SpoolError(.unreadable, "cannot read the spool folder \(processing): \(error)")
        }
        for entry in entries where entry.hasSuffix(".lock") {
            let lockPath = processing + "/" + entry
            let descriptor = open(lockPath, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            // Held: its worker is alive.
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            let folder = String(lockPath.dropLast(".lock".count))
            for name in (try? SystemIO.entries(of: folder)) ?? [] {
                _ = move(folder + "/" + name, to: incoming + "/" + name)
            }
            rmdir(folder)
            unlink(lockPath)
        }
        for entry in entries where !entry.hasSuffix(".lock") && !entry.hasPrefix(".") {
            if let kind = SystemIO.kind(of: processing + "/" + entry), kind != .directory {
                _ = move(processing + "/" + entry, to: incoming + "/" + entry)
            }
        }
    }

    enum Folder: String {
        case incoming, processing, done, failed
    }

    func path(_ folder: Folder) -> String { directory + "/" + folder.rawValue }
    func path(_ folder: Folder, _ name: String) -> String { path(folder) + "/" + name }

    /// The names of the files of `folder` that count (not starting with `.`), in order.
    func names(in folder: Folder) throws(SpoolError) -> [String] {
        do {
            return try SystemIO.entries(of: path(folder))
                .filter { !$0.hasPrefix(".") }
                .sorted()
        } catch {
            throw SpoolError(.unreadable, "cannot read the spool folder \(path(folder)): \(error)")
        }
    }

    /// The suffixes of the files the worker writes beside events.
    static let answerSuffixes = [".response.json", ".error.txt"]

    /// The name an event is kept under from `processing/` on: its own, or with `.event` added when it ends like an
    /// answer, which it would otherwise overwrite (or be overwritten by).
    static func takenName(_ name: String) -> String {
        answerSuffixes.contains(where: name.hasSuffix) ? name + ".event" : name
    }

    /// Renames atomically; false when the source is gone (another worker took it) or the rename failed.
    static func move(_ source: String, to destination: String) -> Bool {
        rename(source, destination) == 0
    }

    /// Writes `bytes` to `path` through a temporary file renamed into place; false when it could not be written.
    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        (try? SystemIO.replaceFile(path, bytes, mode: 0o644)) != nil
    }

    package func makeAsyncIterator() -> Iterator { Iterator(spool: self) }

    package struct Iterator: AsyncIteratorProtocol {
        let spool: SpoolInput

        /// The next event, waiting for one while `incoming/` is empty; `nil` when the task is cancelled or the
        /// folder cannot be read any more.
        package mutating func next() async -> BatchWorkItem? {
            while !Task.isCancelled {
                guard let names = try? spool.names(in: .incoming) else { return nil }
                for name in names {
                    // Taking the event is the rename: when another worker renamed it first, try the next.
                    let taken = SpoolInput.takenName(name)
                    guard SpoolInput.move(spool.path(.incoming, name), to: spool.claim.folder + "/" + taken) else {
                        continue
                    }
                    return item(named: taken)
                }
                do {
                    try await Task.sleep(for: spool.pollInterval)
                } catch {
                    return nil
                }
            }
            return nil
        }

        private func item(named name: String) -> BatchWorkItem {
            let spool = self.spool
            let taken = spool.claim.folder + "/" + name
            guard let contents = try? SystemIO.readFile(taken) else {
                // Unreadable (a directory, no permission): set aside with the reason, and answer nothing more.
                _ = SpoolInput.write(Array("cannot read \(taken)\n".utf8), to: spool.path(.failed, name + ".error.txt"))
                _ = SpoolInput.move(taken, to: spool.path(.failed, name))
                return BatchWorkItem(event: []) { _ in true }
            }
            return BatchWorkItem(event: contents, name: name) { answer in
                let folder: Folder = answer.failedAsWhole ? .failed : .done
                guard
                    SpoolInput.write(
                        answer.json + [UInt8(ascii: "\n")],
                        to: spool.path(folder, name + ".response.json")
                    )
                else {
                    return false
                }
                return SpoolInput.move(taken, to: spool.path(folder, name))
            }
        }
    }
}

/// A spool directory that cannot be used, with the path and the reason.
package struct SpoolError: Error, CustomStringConvertible, Sendable {
    /// The kind of problem. New codes may be added; switch with a `default`.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String {
            case cannotCreate
            case cannotLock
            case unreadable
        }

        let kind: Kind

        /// A folder of the spool (`incoming`, `processing`, `done`, `failed`, the worker's own) cannot be made:
        /// permissions, a file in its place, a full disk.
        package static let cannotCreate = Code(kind: .cannotCreate)
        /// The worker's lock file in `processing/` cannot be made or locked.
        package static let cannotLock = Code(kind: .cannotLock)
        /// A folder of the spool cannot be listed.
        package static let unreadable = Code(kind: .unreadable)

        package var description: String { kind.rawValue }
    }

    /// The kind of problem.
    package let code: Code
    /// What went wrong, and where.
    package let message: String
    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    package var description: String { message }
}
