/// A replay as one self-contained HTML page (no network, no script; charts as inline SVG): the summary table, the
/// outcomes per source, a histogram of record durations, the failures by error type and the slowest records. The
/// local view of what the dashboards show on AWS.
///
/// Every figure of the summary table carries `data-source` and `data-column` attributes, so that a test (or a
/// script) can read it back.
package enum ReplayReport {
    /// The page for `summary`.
    package static func html(_ summary: ReplaySummary, title: String = "Batch replay") -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2430; max-width: 72rem; }
            h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
            table { border-collapse: collapse; } th, td { padding: .25rem .6rem; border-bottom: 1px solid #d8dde6; }
            th { text-align: left; background: #f2f4f8; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
            .legend span { display: inline-block; margin-right: 1rem; } .swatch { width: .8rem; height: .8rem;
            display: inline-block; vertical-align: middle; margin-right: .3rem; }
            svg text { font: 12px system-ui, sans-serif; fill: #1d2430; }
            </style>
            </head>
            <body>
            <h1>\(escape(title))</h1>

            """
        page += summaryTable(summary)
        page += outcomesChart(summary)
        page += histogram(summary)
        page += failures(summary)
        page += slowest(summary)
        page += wholeFailures(summary)
        page += "</body>\n</html>\n"
        return page
    }

    static let colors = (succeeded: "#2f9e44", failed: "#e03131", skipped: "#f59f00", replays: "#1971c2")

    private static func summaryTable(_ summary: ReplaySummary) -> String {
        var html = "<h2>Summary</h2>\n<table id=\"summary\">\n<tr>"
        for column in ReplaySummary.columns { html += "<th>\(escape(column))</th>" }
        html += "</tr>\n"
        for row in summary.rows {
            let values = [
                String(row.events), String(row.records), String(row.succeeded), String(row.failed),
                String(row.skipped), String(row.replays), String(row.wholeFailures),
                ReplaySummary.milliseconds(row.duration),
            ]
            html += "<tr><th data-source=\"\(escape(row.source))\">\(escape(row.source))</th>"
            for (column, value) in zip(ReplaySummary.columns.dropFirst(), values) {
                html +=
                    "<td class=\"n\" data-source=\"\(escape(row.source))\" data-column=\"\(escape(column))\">"
                    + "\(escape(value))</td>"
            }
            html += "</tr>\n"
        }
        return html + "</table>\n"
    }

    /// One stacked bar per source: succeeded (less replays), replays, failed, skipped.
    private static func outcomesChart(_ summary: ReplaySummary) -> String {
        let rows = summary.rows.filter { $0.source != "total" }
        let width = 640.0
        let barHeight = 22.0
        let labelWidth = 130.0
        let most = Double(rows.map(\.records).max() ?? 0)
        var svg = """
            <h2>Outcomes per event source</h2>
            <p class="legend"><span><i class="swatch" style="background:\(colors.succeeded)"></i>succeeded</span>\
            <span><i class="swatch" style="background:\(colors.replays)"></i>replays</span>\
            <span><i class="swatch" style="background:\(colors.failed)"></i>failed</span>\
            <span><i class="swatch" style="background:\(colors.skipped)"></i>skipped</span></p>
            <svg id="outcomes" xmlns="http://www.w3.org/2000/svg" width="\(Int(labelWidth + width + 60))" \
            height="\(Int(Double(rows.count) * (barHeight + 8) + 8))" role="img" aria-label="Outcomes per event source">

            """
        for (number, row) in rows.enumerated() {
            let y = 4 + Double(number) * (barHeight + 8)
            svg += "<text x=\"0\" y=\"\(format(y + 15))\">\(escape(row.source))</text>\n"
            var x = labelWidth
            let parts = [
                (row.succeeded - row.replays, colors.succeeded, "succeeded"), (row.replays, colors.replays, "replays"),
                (row.failed, colors.failed, "failed"), (row.skipped, colors.skipped, "skipped"),
            ]
            for (count, color, name) in parts where count > 0 && most > 0 {
                let length = width * Double(count) / most
                svg +=
                    "<rect x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(length))\" height=\"\(Int(barHeight))\" "
                    + "fill=\"\(color)\"><title>\(escape(row.source)): \(count) \(name)</title></rect>\n"
                x += length
            }
            svg += "<text x=\"\(format(x + 6))\" y=\"\(format(y + 15))\">\(row.records)</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// Buckets of record durations, by powers of ten of milliseconds.
    static let buckets: [(label: String, upTo: Double)] = [
        ("< 0.01 ms", 0.01), ("0.01–0.1 ms", 0.1), ("0.1–1 ms", 1), ("1–10 ms", 10), ("10–100 ms", 100),
        ("0.1–1 s", 1000), ("≥ 1 s", .infinity),
    ]

    private static func histogram(_ summary: ReplaySummary) -> String {
        var counts = Array(repeating: 0, count: buckets.count)
        for duration in summary.recordDurations {
            let milliseconds = Self.milliseconds(duration)
            let bucket = buckets.firstIndex { milliseconds < $0.upTo } ?? buckets.count - 1
            counts[bucket] += 1
        }
        let most = Double(counts.max() ?? 0)
        let columnWidth = 90.0
        let height = 160.0
        var svg = """
            <h2>Record durations (\(summary.recordDurations.count) records that ran)</h2>
            <svg id="durations" xmlns="http://www.w3.org/2000/svg" width="\(Int(columnWidth * Double(buckets.count)))" \
            height="\(Int(height + 40))" role="img" aria-label="Histogram of record durations">

            """
        for (index, bucket) in buckets.enumerated() {
            let barHeight = most > 0 ? height * Double(counts[index]) / most : 0
            let x = Double(index) * columnWidth
            svg +=
                "<rect x=\"\(format(x + 8))\" y=\"\(format(height - barHeight + 16))\" width=\"\(format(columnWidth - 16))\" "
                + "height=\"\(format(barHeight))\" fill=\"#4263eb\" data-bucket=\"\(escape(bucket.label))\" "
                + "data-count=\"\(counts[index])\"><title>\(escape(bucket.label)): \(counts[index])</title></rect>\n"
                + "<text x=\"\(format(x + 8))\" y=\"\(format(height - barHeight + 12))\">\(counts[index])</text>\n"
                + "<text x=\"\(format(x + 4))\" y=\"\(format(height + 34))\">\(escape(bucket.label))</text>\n"
        }
        return svg + "</svg>\n"
    }

    private static func failures(_ summary: ReplaySummary) -> String {
        var html = "<h2>Failures by error type</h2>\n"
        guard !summary.failuresByType.isEmpty else { return html + "<p>No record failed.</p>\n" }
        html += "<table id=\"failures\">\n<tr><th>error type</th><th>records</th></tr>\n"
        for (type, count) in summary.failuresByType.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            html +=
                "<tr><td>\(escape(type))</td><td class=\"n\" data-error-type=\"\(escape(type))\">\(count)</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private static func slowest(_ summary: ReplaySummary) -> String {
        var html = "<h2>Slowest records</h2>\n"
        guard !summary.slowest.isEmpty else { return html + "<p>No record ran.</p>\n" }
        html += "<table id=\"slowest\">\n<tr><th>event</th><th>record</th><th>item identifier</th><th>outcome</th>"
        html += "<th>duration</th></tr>\n"
        for timing in summary.slowest {
            html += "<tr><td>\(escape(timing.event))</td><td class=\"n\">\(timing.index)</td>"
            html += "<td>\(escape(timing.itemIdentifier))</td><td>\(escape(timing.outcome))</td>"
            html += "<td class=\"n\">\(escape(ReplaySummary.milliseconds(timing.duration)))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private static func wholeFailures(_ summary: ReplaySummary) -> String {
        let failed = summary.events.filter { $0.wholeFailure != nil }
        guard !failed.isEmpty else { return "" }
        var html = "<h2>Events that failed as a whole</h2>\n<table id=\"whole-failures\">\n"
        html += "<tr><th>event</th><th>error type</th></tr>\n"
        for event in failed {
            html += "<tr><td>\(escape(event.name))</td><td>\(escape(event.wholeFailure ?? ""))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    private static func format(_ value: Double) -> String {
        String((value * 10).rounded() / 10)
    }

    /// Text made safe for HTML content and attribute values.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
