/// Control characters made visible, for text lines (the text log format, command-line errors): a value holding a
/// newline must not start a line of its own that a reader would take for another log line.
package enum ControlCharacters {
    /// `text` with every control character (and the Unicode line and paragraph separators) written as an escape:
    /// `\n`, `\r`, `\t`, or `\u{…}`.
    package static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isEscaped) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where isEscaped(scalar): result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// True for the scalars ``escaped(_:)`` writes as escapes.
    package static func isEscaped(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
