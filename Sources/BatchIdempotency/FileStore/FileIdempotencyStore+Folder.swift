import BatchProcessingSystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The store's folder: its `FORMAT` file, its subfolders, temporary files, and the file reads and writes the
// store makes, as `IdempotencyStoreError`s.

extension FileIdempotencyStore {
    enum ReadResult {
        case read([UInt8])
        case missing
        case failed(Int32)
    }

    /// A small file's bytes (the first 64 KB and a little more of a large one).
    static func readFile(_ path: String) -> ReadResult {
        do {
            let descriptor = try SystemIO.open(path, O_RDONLY | O_CLOEXEC)
            defer { close(descriptor) }
            return .read(try SystemIO.readToEnd(descriptor, limit: 64 * 1024))
        } catch {
            return error.code == ENOENT ? .missing : .failed(error.code)
        }
    }

    /// The store's error for a system call on `path` that failed.
    static func fileSystemError(_ doing: String, _ path: String, _ error: SystemCallError) -> IdempotencyStoreError {
        IdempotencyStoreError("cannot \(doing) \(path): \(error)", code: .fileSystem, systemErrorNumber: error.code)
    }

    /// Fills `bytes` from `offset`; what lies past the end of the file reads as zeros (empty slots).
    static func readAll(
        into bytes: inout [UInt8],
        from descriptor: Int32,
        at offset: Int,
        path: String
    ) throws(IdempotencyStoreError) {
        do {
            try SystemIO.read(into: &bytes, from: descriptor, at: offset)
        } catch {
            throw fileSystemError("read", path, error)
        }
    }

    static func writeAll(
        _ bytes: [UInt8],
        to descriptor: Int32,
        at offset: Int,
        path: String
    ) throws(IdempotencyStoreError) {
        do {
            try SystemIO.write(bytes, to: descriptor, at: offset)
        } catch {
            throw fileSystemError("write", path, error)
        }
    }

    static func writeNewFile(_ path: String, _ bytes: [UInt8]) throws(IdempotencyStoreError) {
        do {
            try SystemIO.writeFile(path, bytes)
        } catch {
            throw fileSystemError("create", path, error)
        }
    }

    static func openOrFail(_ path: String, _ flags: Int32, what: String) throws(IdempotencyStoreError) -> Int32 {
        do {
            return try SystemIO.open(path, flags)
        } catch {
            throw fileSystemError("open \(what)", path, error)
        }
    }

    /// Creates `path` and its missing parents, each 0700; an existing folder is fine, anything else is an error.
    static func makeDirectory(_ path: String) throws(IdempotencyStoreError) {
        if mkdir(path, 0o700) == 0 { return }
        let code = errno
        if code == EEXIST {
            var status = stat()
            if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { return }
            throw IdempotencyStoreError(describeNonFolder(path), code: .invalidConfiguration)
        }
        if code == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
            if mkdir(path, 0o700) == 0 || errno == EEXIST { return }
        }
        throw IdempotencyStoreError(
            "cannot create the folder \(path): \(describe(code))",
            code: .fileSystem,
            systemErrorNumber: code
        )
    }

    /// Why the existing `path` cannot be the store's folder: what it is (a file, a symbolic link that leads
    /// nowhere or in a loop, another kind of file).
    static func describeNonFolder(_ path: String) -> String {
        let needed = "; the idempotency store needs a folder there"
        var own = stat()
        guard lstat(path, &own) == 0 else { return "\(path) cannot be examined: \(describe(errno))" }
        if own.st_mode & S_IFMT == S_IFLNK {
            var target = stat()
            if stat(path, &target) != 0 {
                let code = errno
                let why =
                    code == ELOOP
                    ? "a loop of symbolic links"
                    : code == ENOENT
                        ? "a symbolic link to nothing" : "a symbolic link that cannot be followed (\(describe(code)))"
                return "\(path) is \(why)\(needed)"
            }
            return "\(path) is a symbolic link to something that is not a folder\(needed)"
        }
        let kind =
            switch own.st_mode & S_IFMT {
            case S_IFREG: "a file"
            case S_IFSOCK: "a socket"
            case S_IFIFO: "a named pipe"
            case S_IFCHR, S_IFBLK: "a device"
            default: "not a folder"
            }
        return "\(path) exists and is \(kind)\(needed)"
    }

    /// Writes the `FORMAT` file of a new store, or checks that an existing folder is a store of this format; then
    /// makes the tables folder.
    static func checkFormat(_ directory: String) throws(IdempotencyStoreError) {
        let path = directory + "/FORMAT"
        switch readFile(path) {
        case .read(let bytes) where bytes == Array(firstFormatMarker.utf8):
            throw IdempotencyStoreError(
                "\(directory) was made by an earlier version of the file store (a file per key, format 1), which "
                    + "this version does not read; give a new folder (the old one's records are not carried over)",
                code: .invalidConfiguration
            )
        case .read(let bytes):
            guard bytes == Array(formatMarker.utf8) else {
                throw IdempotencyStoreError(
                    "\(directory) holds something other than an idempotency file store of this version (its FORMAT "
                        + "file does not match); give an empty folder or one this store made",
                    code: .invalidConfiguration
                )
            }
        case .missing:
            // A `FORMAT.tmp-` file is another process making the store at this moment, or one killed while doing
            // so: neither makes the folder foreign.
            let entries = Self.entries(of: directory).filter {
                !["tables", "locks", "quarantine"].contains($0) && !$0.hasPrefix("FORMAT.tmp-")
            }
            // Another process may have put FORMAT in place since we looked: look again, at what it wrote.
            if entries == ["FORMAT"] { return try checkFormat(directory) }
            guard entries.isEmpty else {
                throw IdempotencyStoreError(
                    "\(directory) is not empty and is not an idempotency file store (no FORMAT file); give an empty "
                        + "folder or one this store made",
                    code: .invalidConfiguration
                )
            }
            let temporary = path + ".tmp-" + Self.randomSuffix()
            try Self.writeNewFile(temporary, Array(Self.formatMarker.utf8))
            if rename(temporary, path) != 0 {
                unlink(temporary)
                throw Self.fileSystemError("write", path, .last())
            }
        case .failed(let code):
            throw IdempotencyStoreError(
                "cannot read \(path): \(Self.describe(code))",
                code: .fileSystem,
                systemErrorNumber: code
            )
        }
        try Self.makeDirectory(directory + "/tables")
    }

    /// Removes temporary tables left by processes killed while rebuilding one.
    func removeStaleTemporaryFiles(olderThan cutoff: Int64) {
        let folder = directory + "/tables"
        for name in Self.entries(of: folder) where name.contains(".tmp-") {
            var status = stat()
            let path = folder + "/" + name
            guard stat(path, &status) == 0 else { continue }
            #if canImport(Darwin)
            let modified = Int64(status.st_mtimespec.tv_sec)
            #else
            let modified = Int64(status.st_mtim.tv_sec)
            #endif
            if modified * 1000 < cutoff { unlink(path) }
        }
    }

    static func entries(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { buffer in
                String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16)
    }

    static func describe(_ code: Int32) -> String { SystemIO.describe(code) }
}
