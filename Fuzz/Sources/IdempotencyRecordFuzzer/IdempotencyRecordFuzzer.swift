import BatchIdempotency
import Dispatch
import Foundation

/// libFuzzer's entry point: every input is the content of a record file of the file store. Reading it must give a
/// record or an error (the file quarantined), never a crash, and the key must then be claimable afresh.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    // The first byte picks the file: a claim (in progress) or a completed record.
    let suffix = size > 0 && data[0] & 1 == 1 ? ".claim" : ".json"
    let path = FuzzStore.leaf + "/" + FuzzStore.key.hex + suffix
    guard FileManager.default.createFile(atPath: path, contents: bytes) else { return 0 }
    blocking {
        _ = try? await FuzzStore.store.record(for: FuzzStore.key)
        // Whatever the file held, the key can then be claimed and released: the store is never stuck.
        let now: Int64 = 2_000_000_000_000
        let claim = try? await FuzzStore.store.claim(
            key: FuzzStore.key,
            token: "fuzz",
            payloadHash: nil,
            inProgressUntil: now + 1,
            expiresAt: now + 2,
            now: now
        )
        if claim == .claimed || claim.map({ if case .tookOver = $0 { true } else { false } }) == true {
            _ = try? await FuzzStore.store.release(key: FuzzStore.key, token: "fuzz")
        }
    }
    // Start the next input from no record at all.
    try? FileManager.default.removeItem(atPath: FuzzStore.leaf + "/" + FuzzStore.key.hex + ".claim")
    try? FileManager.default.removeItem(atPath: FuzzStore.leaf + "/" + FuzzStore.key.hex + ".json")
    try? FileManager.default.removeItem(atPath: FuzzStore.directory + "/quarantine")
    return 0
}

/// One store for the whole run, in a fresh temporary folder.
enum FuzzStore {
    static let directory = NSTemporaryDirectory() + "idempotency-fuzz-" + UUID().uuidString
    static let key = IdempotencyKey(hex: String(repeating: "a", count: 64))!
    static let store: FileIdempotencyStore = {
        do {
            return try FileIdempotencyStore(directory: directory)
        } catch {
            fatalError("cannot create the fuzzing store in \(directory): \(error)")
        }
    }()
    /// The folder of the key's files, made by a first claim.
    static let leaf: String = {
        blocking {
            _ = try? await store.claim(
                key: key,
                token: "setup",
                payloadHash: nil,
                inProgressUntil: 1,
                expiresAt: 2,
                now: 0
            )
            _ = try? await store.release(key: key, token: "setup")
        }
        return directory + "/records/aa/a"
    }()
}

/// Runs `body` to completion from libFuzzer's synchronous callback.
func blocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    done.wait()
}

// SwiftPM links an executable's `main` to `<target>_main`; libFuzzer's driver is started from there.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("IdempotencyRecordFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzRecordFile)
}
