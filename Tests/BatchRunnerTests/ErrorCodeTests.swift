import BatchRunner
import Foundation
import Testing

@Suite("Runner errors carry codes a caller can switch on, with messages that say where")
struct RunnerErrorCodeTests {
    @Test("An event that cannot be read: a missing file, a folder")
    func unreadableEvents() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("codes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let missing = #expect(throws: UsageError.self) {
            try EventInput.read(folder + "/none.json", streams: StandardStreams())
        }
        #expect(missing?.code == .unreadableInput)
        #expect(missing?.message.contains("none.json") == true, "\(String(describing: missing))")
        let directory = #expect(throws: UsageError.self) { try EventInput.read(folder, streams: StandardStreams()) }
        #expect(directory?.code == .unreadableInput)
        #expect(directory?.message.contains("it is a directory") == true, "\(String(describing: directory))")
    }

    @Test("A spool whose folders cannot be made: a file where the spool should be")
    func spoolInPlaceOfAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: SpoolError.self) { try SpoolInput(directory: path) }
        #expect(error?.code == .cannotCreate)
        #expect(error?.message.contains(path) == true, "\(String(describing: error))")
    }
}
