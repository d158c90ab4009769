import CZlib

/// A zip file written in one go: each entry compressed with DEFLATE (zlib, raw), its CRC-32, Unix permissions and a
/// fixed time, so that the same inputs give the same bytes. What AWS Lambda accepts as a deployment package.
///
/// Limits: no ZIP64, so an entry and the archive must stay under 4 GiB (Lambda's own limit is 250 MB unpacked).
package struct ZipArchive {
    /// One file of the archive.
    package struct Entry {
        /// The path inside the archive, `/`-separated, without a leading `/`.
        package var path: String
        package var bytes: [UInt8]
        /// Unix permissions, such as `0o755` for `bootstrap`.
        package var mode: UInt32

        package init(path: String, bytes: [UInt8], mode: UInt32) {
            self.path = path
            self.bytes = bytes
            self.mode = mode
        }
    }

    /// Why an archive could not be made.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Every entry's time: 1 January 1980, 00:00, the earliest a zip can say (the same bytes for the same inputs).
    private static let dosTime: UInt16 = 0
    private static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    /// Version 2.0 (DEFLATE), made on Unix (3), so that the permissions in the external attributes are read.
    private static let versionNeeded: UInt16 = 20
    private static let versionMadeBy: UInt16 = (3 << 8) | 20

    /// The archive's bytes.
    ///
    /// - Throws: ``Failure`` for an entry or an archive too large for a zip without ZIP64, or a compression error.
    package static func make(_ entries: [Entry], level: Int32 = 9) throws(Failure) -> [UInt8] {
        var archive: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            guard entry.bytes.count < Int(UInt32.max), archive.count < Int(UInt32.max) else {
                throw Failure(description: "\(entry.path) is too large for a zip without ZIP64 (4 GiB)")
            }
            let compressed = try deflate(entry.bytes, level: level)
            let crc = crc32(entry.bytes)
            let name = Array(entry.path.utf8)
            let offset = UInt32(archive.count)
            // Local file header.
            archive.append(littleEndian: UInt32(0x0403_4b50))
            archive.append(littleEndian: versionNeeded)
            archive.append(littleEndian: UInt16(0x0800))  // flags: the name is UTF-8
            archive.append(littleEndian: UInt16(8))  // DEFLATE
            archive.append(littleEndian: dosTime)
            archive.append(littleEndian: dosDate)
            archive.append(littleEndian: crc)
            archive.append(littleEndian: UInt32(compressed.count))
            archive.append(littleEndian: UInt32(entry.bytes.count))
            archive.append(littleEndian: UInt16(name.count))
            archive.append(littleEndian: UInt16(0))  // no extra field
            archive += name
            archive += compressed
            // Its central directory record.
            central.append(littleEndian: UInt32(0x0201_4b50))
            central.append(littleEndian: versionMadeBy)
            central.append(littleEndian: versionNeeded)
            central.append(littleEndian: UInt16(0x0800))
            central.append(littleEndian: UInt16(8))
            central.append(littleEndian: dosTime)
            central.append(littleEndian: dosDate)
            central.append(littleEndian: crc)
            central.append(littleEndian: UInt32(compressed.count))
            central.append(littleEndian: UInt32(entry.bytes.count))
            central.append(littleEndian: UInt16(name.count))
            central.append(littleEndian: UInt16(0))  // extra
            central.append(littleEndian: UInt16(0))  // comment
            central.append(littleEndian: UInt16(0))  // disk
            central.append(littleEndian: UInt16(0))  // internal attributes
            central.append(littleEndian: (0o100000 | entry.mode) << 16)  // a regular file, its permissions
            central.append(littleEndian: offset)
            central += name
        }
        guard entries.count < Int(UInt16.max), archive.count + central.count < Int(UInt32.max) else {
            throw Failure(description: "the archive is too large for a zip without ZIP64 (4 GiB, 65,535 files)")
        }
        let centralOffset = UInt32(archive.count)
        archive += central
        // End of central directory.
        archive.append(littleEndian: UInt32(0x0605_4b50))
        archive.append(littleEndian: UInt16(0))
        archive.append(littleEndian: UInt16(0))
        archive.append(littleEndian: UInt16(entries.count))
        archive.append(littleEndian: UInt16(entries.count))
        archive.append(littleEndian: UInt32(central.count))
        archive.append(littleEndian: centralOffset)
        archive.append(littleEndian: UInt16(0))
        return archive
    }

    /// `bytes` compressed with raw DEFLATE (no zlib header, as zip files hold it).
    package static func deflate(_ bytes: [UInt8], level: Int32) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        // -15: raw DEFLATE with a 32 KiB window; memory level 8 is zlib's default.
        guard
            deflateInit2_(
                &stream,
                level,
                Z_DEFLATED,
                -15,
                8,
                Z_DEFAULT_STRATEGY,
                ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)
            ) == Z_OK
        else { throw Failure(description: "zlib could not start compressing") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        var input = bytes
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw Failure(description: "zlib could not compress (status \(status))") }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// The CRC-32 of `bytes`, as zip files carry it.
    package static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(CZlib.crc32(0, buffer.baseAddress, UInt32(buffer.count)))
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func append<T: FixedWidthInteger>(littleEndian value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
