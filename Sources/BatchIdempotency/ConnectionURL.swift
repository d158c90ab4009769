/// Connection URLs (`postgres://user:password@host/…`) as messages may show them.
package enum ConnectionURL {
    /// The URL with its password (in the user part or the query) replaced by `***`, for messages.
    package static func redacted(_ url: String) -> String {
        var text = Substring(url)
        var result = ""
        if let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") {
            let afterScheme = text.index(colon, offsetBy: 3)
            result += text[..<afterScheme]
            text = text[afterScheme...]
            let end = text.firstIndex { $0 == "/" || $0 == "?" } ?? text.endIndex
            if let at = text[..<end].lastIndex(of: "@") {
                let userInfo = text[..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    result += userInfo[..<colon] + ":***"
                } else {
                    result += userInfo
                }
                text = text[at...]
            }
        }
        result += text
        // password=… in the query
        guard let query = result.firstIndex(of: "?") else { return result }
        let head = result[...query]
        let pairs = result[result.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map {
            $0.hasPrefix("password=") ? "password=***" : String($0)
        }
        return head + pairs.joined(separator: "&")
    }
}
