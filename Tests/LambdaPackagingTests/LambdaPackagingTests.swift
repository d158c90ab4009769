import Foundation
import LambdaPackaging
import Testing

/// Reads a zip with Python's zipfile (another implementation than ours): each entry's name, Unix mode and bytes as
/// base64; zipfile checks every CRC-32 as it reads.
func readWithPython(_ zip: String) throws -> [(name: String, mode: Int, bytes: [UInt8])] {
    let script = """
        import base64, json, sys, zipfile
        with zipfile.ZipFile(sys.argv[1]) as z:
            print(json.dumps([[i.filename, i.external_attr >> 16, base64.b64encode(z.read(i)).decode()] for i in z.infolist()]))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, zip]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "python3's zipfile could not read \(zip)")
    let rows = try #require(try JSONSerialization.jsonObject(with: data) as? [[Any]])
    return rows.map { row in
        (row[0] as? String ?? "", row[1] as? Int ?? 0, Array(Data(base64Encoded: row[2] as? String ?? "") ?? Data()))
    }
}

/// A folder of its own for a test, removed after.
final class Scratch {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("packaging-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("The zip a Lambda package is")
struct ZipArchiveTests {
    @Test("Another zip reader gets every file back whole, with its permissions; the same inputs give the same bytes")
    func roundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let program = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Array(String(repeating: "middleware:\n  - retry: { maxAttempts: 3 }\n", count: 200).utf8)
        let entries = [
            ZipArchive.Entry(path: "bootstrap", bytes: program, mode: 0o755),
            ZipArchive.Entry(path: "orders.yaml", bytes: text, mode: 0o644),
            ZipArchive.Entry(path: "events/é-empty.json", bytes: [], mode: 0o644),
        ]
        let archive = try ZipArchive.make(entries)
        #expect(try ZipArchive.make(entries) == archive, "two runs, two archives")
        #expect(archive.count < program.count + text.count / 10 + 1000, "the text is compressed")
        let scratch = try Scratch()
        let zip = try scratch.write("package.zip", archive)
        let read = try readWithPython(zip)
        #expect(read.map(\.name) == ["bootstrap", "orders.yaml", "events/é-empty.json"])
        #expect(read.map(\.mode) == [0o100755, 0o100644, 0o100644])
        #expect(read[0].bytes == program)
        #expect(read[1].bytes == text)
        #expect(read[2].bytes.isEmpty)
    }

    @Test("CRC-32 as zip files compute it")
    func crc() {
        #expect(ZipArchive.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(ZipArchive.crc32([]) == 0)
    }
}

@Suite("What a program needs from the system, read from its ELF headers")
struct ELFFileTests {
    @Test("A dynamically linked program names its loader and libraries; a static-pie one needs nothing")
    func programs() throws {
        let dynamic = try ELFFile(Array(try Data(contentsOf: URL(fileURLWithPath: "/bin/ls"))))
        #expect(dynamic.interpreter?.contains("ld-linux") == true, "\(String(describing: dynamic.interpreter))")
        #expect(dynamic.neededLibraries.contains("libc.so.6"), "\(dynamic.neededLibraries)")
        #expect(!dynamic.isSelfContained)
        // Debian's ldconfig is linked static-pie: a dynamic section, but no loader and no library.
        let staticPie = try ELFFile(Array(try Data(contentsOf: URL(fileURLWithPath: "/sbin/ldconfig"))))
        #expect(staticPie.isSelfContained, "\(staticPie.neededLibraries)")
        #if arch(x86_64)
        #expect(dynamic.machine == .x86_64 && dynamic.machine.lambdaArchitecture == "x86_64")
        #elseif arch(arm64)
        #expect(dynamic.machine == .arm64 && dynamic.machine.lambdaArchitecture == "arm64")
        #endif
    }

    @Test("What is not a whole program is an error that says so")
    func notPrograms() throws {
        let text = #expect(throws: ELFFile.Failure.self) { try ELFFile(Array("#!/bin/sh\necho hello\n".utf8)) }
        #expect(text?.description.contains("not an ELF file") == true)
        let ls = Array(try Data(contentsOf: URL(fileURLWithPath: "/bin/ls")))
        let cut = #expect(throws: ELFFile.Failure.self) { try ELFFile(Array(ls.prefix(100))) }
        #expect(cut?.description.contains("ends before its headers do") == true, "\(String(describing: cut))")
        var thirtyTwoBit = ls
        thirtyTwoBit[4] = 1
        let old = #expect(throws: ELFFile.Failure.self) { try ELFFile(thirtyTwoBit) }
        #expect(old?.description.contains("64-bit little-endian") == true)
    }
}

@Suite("A Lambda package: bootstrap and the files named")
struct LambdaPackageTests {
    @Test("A self-contained program is zipped as bootstrap with the resources; the report says it needs nothing")
    func packaged() throws {
        let scratch = try Scratch()
        let program = try scratch.write(
            "build/orders",
            Array(try Data(contentsOf: URL(fileURLWithPath: "/sbin/ldconfig")))
        )
        let chain = try scratch.write("orders.yaml", Array("middleware: []\n".utf8))
        _ = try scratch.write("events/a.json", Array("{}".utf8))
        _ = try scratch.write("events/.hidden", Array("x".utf8))
        let report = try LambdaPackage(
            program: program,
            name: "orders",
            resources: [chain, scratch.path + "/events"],
            outputDirectory: scratch.path + "/out"
        ).make()
        #expect(report.zip == scratch.path + "/out/orders.zip")
        #expect(report.entries == ["bootstrap", "orders.yaml", "events/a.json"])
        #expect(report.lines.contains { $0.contains("needs nothing from the system") })
        let read = try readWithPython(report.zip)
        #expect(read.map(\.name) == report.entries)
        #expect(read[0].mode == 0o100755)
        #expect(read[1].bytes == Array("middleware: []\n".utf8))
    }

    @Test("A dynamic program, a resource named bootstrap or twice, a missing file: each refused with the reason")
    func refused() throws {
        let scratch = try Scratch()
        func make(_ program: String, _ resources: [String] = [], dynamic: Bool = false) throws {
            _ = try LambdaPackage(
                program: program,
                name: "p",
                resources: resources,
                outputDirectory: scratch.path,
                allowsDynamic: dynamic
            ).make()
        }
        let dynamic = #expect(throws: LambdaPackage.Failure.self) { try make("/bin/ls") }
        #expect(dynamic?.description.contains("is dynamically linked (it needs") == true)
        #expect(dynamic?.description.contains("libc.so.6") == true)
        #expect(dynamic?.description.contains("-static-executable") == true)
        try make("/bin/ls", dynamic: true)
        let named = try scratch.write("bootstrap", [1])
        let replacing = #expect(throws: LambdaPackage.Failure.self) { try make("/sbin/ldconfig", [named]) }
        #expect(replacing?.description.contains("would replace the program") == true)
        let first = try scratch.write("a/chain.yaml", [1])
        let second = try scratch.write("b/chain.yaml", [2])
        let twice = #expect(throws: LambdaPackage.Failure.self) { try make("/sbin/ldconfig", [first, second]) }
        #expect(twice?.description.contains("two files would be chain.yaml") == true)
        let missing = #expect(throws: LambdaPackage.Failure.self) { try make("/sbin/ldconfig", ["/nonexistent.yaml"]) }
        #expect(missing?.description.contains("/nonexistent.yaml does not exist") == true)
    }
}
