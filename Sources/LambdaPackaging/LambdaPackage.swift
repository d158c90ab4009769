import Foundation

/// A Lambda deployment package for the `provided.al2023` runtime (or `provided.al2`): a zip holding the program as
/// `bootstrap`, which Lambda starts without arguments, and the files the program reads (chain files), which Lambda
/// unpacks beside it in `/var/task`.
package struct LambdaPackage {
    /// The built program.
    package var program: String
    /// The package's name: the zip is `NAME.zip`.
    package var name: String
    /// Files and folders to add: a file under its own name, a folder with its files under the folder's name.
    package var resources: [String] = []
    /// Where to write the zip (made when missing).
    package var outputDirectory: String
    /// Package a program that needs a dynamic loader or shared libraries (by default refused: it would depend on
    /// the libraries of the machine Lambda runs it on).
    package var allowsDynamic = false

    /// What was packaged.
    package struct Report {
        package var zip: String
        package var zipSize: Int
        package var programSize: Int
        package var program: ELFFile
        package var entries: [String]

        /// The lines the packager prints.
        package var lines: [String] {
            var lines = [
                "lambda-package: \(zip) (\(Self.megabytes(zipSize)) MB; bootstrap \(Self.megabytes(programSize)) MB "
                    + "unpacked): " + entries.joined(separator: " ")
            ]
            if program.isSelfContained {
                lines.append(
                    "lambda-package: bootstrap needs nothing from the system (static: no loader, no shared library)"
                )
            } else {
                lines.append(
                    "lambda-package: bootstrap needs from the system: "
                        + ([program.interpreter].compactMap { $0 } + program.neededLibraries).joined(separator: ", ")
                )
            }
            if let architecture = program.machine.lambdaArchitecture {
                lines.append(
                    "lambda-package: deploy with Architectures: [\(architecture)], Runtime: provided.al2023, Handler: bootstrap"
                )
            }
            return lines
        }

        private static func megabytes(_ bytes: Int) -> String {
            String(format: "%.1f", Double(bytes) / 1_000_000)
        }
    }

    /// Why a package could not be made, in one line.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package init(
        program: String,
        name: String,
        resources: [String] = [],
        outputDirectory: String,
        allowsDynamic: Bool = false
    ) {
        self.program = program
        self.name = name
        self.resources = resources
        self.outputDirectory = outputDirectory
        self.allowsDynamic = allowsDynamic
    }

    /// Checks the program, gathers the files and writes the zip.
    package func make() throws(Failure) -> Report {
        let binary = try read(program, what: "the program")
        let elf: ELFFile
        do {
            elf = try ELFFile(binary)
        } catch {
            throw Failure(description: "\(program) is not a Linux program: \(error)")
        }
        if !elf.isSelfContained && !allowsDynamic {
            let needs = ([elf.interpreter].compactMap { $0 } + elf.neededLibraries).joined(separator: ", ")
            throw Failure(
                description: "\(program) is dynamically linked (it needs \(needs)), so it would run only where "
                    + "Lambda's libraries match this machine's; build it with -Xswiftc -static-executable (the "
                    + "lambda-package plugin does)"
            )
        }
        var entries = [ZipArchive.Entry(path: "bootstrap", bytes: binary, mode: 0o755)]
        for resource in resources {
            for (path, file) in try files(of: resource) {
                guard !entries.contains(where: { $0.path == path }) else {
                    throw Failure(description: "two files would be \(path) in the package (from \(resource))")
                }
                entries.append(.init(path: path, bytes: try read(file, what: "the resource"), mode: 0o644))
            }
        }
        let archive: [UInt8]
        do {
            archive = try ZipArchive.make(entries)
        } catch {
            throw Failure(description: "cannot make \(name).zip: \(error)")
        }
        let zip = (outputDirectory as NSString).appendingPathComponent(name + ".zip")
        do {
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
            let temporary = zip + ".tmp"
            try Data(archive).write(to: URL(fileURLWithPath: temporary))
            _ = try? FileManager.default.removeItem(atPath: zip)
            try FileManager.default.moveItem(atPath: temporary, toPath: zip)
        } catch {
            throw Failure(description: "cannot write \(zip): \(error.localizedDescription)")
        }
        return Report(
            zip: zip,
            zipSize: archive.count,
            programSize: binary.count,
            program: elf,
            entries: entries.map(\.path)
        )
    }

    /// The files `resource` stands for, each with its path in the package: a file under its name, a folder's
    /// files (hidden ones left out) under the folder's name.
    private func files(of resource: String) throws(Failure) -> [(path: String, file: String)] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resource, isDirectory: &isFolder) else {
            throw Failure(description: "the resource \(resource) does not exist")
        }
        let base = (resource as NSString).lastPathComponent
        guard base != "bootstrap" else {
            throw Failure(description: "the resource \(resource) would replace the program (bootstrap)")
        }
        guard isFolder.boolValue else { return [(base, resource)] }
        guard let walker = FileManager.default.enumerator(atPath: resource) else {
            throw Failure(description: "cannot read the folder \(resource)")
        }
        var found: [(String, String)] = []
        while let relative = walker.nextObject() as? String {
            let full = (resource as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }),
                FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            found.append((base + "/" + relative, full))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    private func read(_ path: String, what: String) throws(Failure) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "cannot read \(what) \(path)")
        }
        return Array(data)
    }
}
