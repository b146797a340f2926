import Foundation

/// Charts for the terminal and for files: series in, text (or SVG) out, nothing else. Lines are
/// drawn in Braille dots (U+2800–U+28FF, 2 × 4 dots a cell); markers are single characters.
public enum Chart {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// nil: a line through the points; a character: that mark at each point (fills).
        public var marker: Character?
        public init(_ name: String, _ points: [(x: Double, y: Double)], marker: Character? = nil) {
            self.name = name
            self.points = points
            self.marker = marker
        }
    }

    /// One row of a drawn chart: runs of text, each with the series it belongs to (nil: axes and labels).
    public typealias Row = [(text: String, series: Int?)]

    public struct Frame: Sendable, Equatable {
        public var minX, maxX, minY, maxY: Double
    }

    /// The range the series cover, a little widened so that a flat series still has a height.
    public static func frame(_ series: [Series], band: (Double, Double)? = nil) -> Frame? {
        let all = series.flatMap(\.points)
        guard let first = all.first else { return nil }
        var f = Frame(minX: first.x, maxX: first.x, minY: first.y, maxY: first.y)
        for p in all {
            f.minX = min(f.minX, p.x); f.maxX = max(f.maxX, p.x)
            f.minY = min(f.minY, p.y); f.maxY = max(f.maxY, p.y)
        }
        if let band { f.minY = min(f.minY, band.0); f.maxY = max(f.maxY, band.1) }
        if f.maxY == f.minY {
            let pad = f.maxY == 0 ? 1 : abs(f.maxY) * 0.001
            f.minY -= pad; f.maxY += pad
        }
        if f.maxX == f.minX { f.maxX = f.minX + 1 }
        return f
    }

    /// Draws the series in `width` × `height` cells (axes and labels included). `yLabel` and
    /// `xLabel` turn values into text; `band` draws two dotted guide lines (a target band).
    public static func draw(_ series: [Series], width: Int, height: Int, yLabel: (Double) -> String, xLabel: (Double) -> String,
                            band: (Double, Double)? = nil) -> [Row] {
        guard let f = frame(series, band: band), height >= 3 else { return [[("no data to draw", nil)]] }
        let labels = [yLabel(f.maxY), yLabel((f.maxY + f.minY) / 2), yLabel(f.minY)]
        let labelWidth = labels.map(\.count).max() ?? 0
        let plotWidth = max(4, width - labelWidth - 2)
        let plotHeight = height - 2
        let dotsX = plotWidth * 2, dotsY = plotHeight * 4
        // Per cell: its dots, which series owns it, and a marker if any.
        var dots = [[UInt8]](repeating: [UInt8](repeating: 0, count: plotWidth), count: plotHeight)
        var owner = [[Int?]](repeating: [Int?](repeating: nil, count: plotWidth), count: plotHeight)
        var marks = [[Character?]](repeating: [Character?](repeating: nil, count: plotWidth), count: plotHeight)

        func dot(_ x: Int, _ y: Int, _ s: Int) {
            guard x >= 0, x < dotsX, y >= 0, y < dotsY else { return }
            let row = y / 4, col = x / 2, dx = x % 2, dy = y % 4
            let bit: UInt8 = dy == 3 ? (dx == 0 ? 0x40 : 0x80) : UInt8(1 << (dy + dx * 3))
            dots[row][col] |= bit
            owner[row][col] = s
        }
        func place(_ p: (x: Double, y: Double)) -> (Int, Int) {
            let x = Int(((p.x - f.minX) / (f.maxX - f.minX) * Double(dotsX - 1)).rounded())
            let y = Int(((f.maxY - p.y) / (f.maxY - f.minY) * Double(dotsY - 1)).rounded())
            return (x, y)
        }
        if let band {
            for value in [band.0, band.1] {
                let (_, y) = place((f.minX, value))
                for x in stride(from: 0, to: dotsX, by: 3) { dot(x, y, -1) }
            }
        }
        for (index, s) in series.enumerated() {
            let placed = s.points.map(place)
            if let marker = s.marker {
                for (x, y) in placed { marks[min(y / 4, plotHeight - 1)][min(x / 2, plotWidth - 1)] = marker; owner[min(y / 4, plotHeight - 1)][min(x / 2, plotWidth - 1)] = index }
                continue
            }
            if placed.count == 1 { dot(placed[0].0, placed[0].1, index) }
            for (a, b) in zip(placed, placed.dropFirst()) {
                // Bresenham between consecutive points.
                var (x0, y0) = a
                let (x1, y1) = b
                let dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1
                var err = dx + dy
                while true {
                    dot(x0, y0, index)
                    if x0 == x1 && y0 == y1 { break }
                    let e2 = 2 * err
                    if e2 >= dy { err += dy; x0 += sx }
                    if e2 <= dx { err += dx; y0 += sy }
                }
            }
        }

        var rows: [Row] = []
        for r in 0..<plotHeight {
            let label = r == 0 ? labels[0] : r == plotHeight - 1 ? labels[2] : r == plotHeight / 2 ? labels[1] : ""
            var row: Row = [(String(repeating: " ", count: labelWidth - label.count) + label + (label.isEmpty ? " │" : " ┤"), nil)]
            for c in 0..<plotWidth {
                let text: String
                if let m = marks[r][c] { text = String(m) } else if dots[r][c] == 0 { text = " " } else {
                    text = String(UnicodeScalar(0x2800 + UInt32(dots[r][c]))!)
                }
                let s = owner[r][c].flatMap { $0 >= 0 ? $0 : nil }
                if let last = row.last, last.series == s, row.count > 1 { row[row.count - 1].text += text } else { row.append((text, s)) }
            }
            rows.append(row)
        }
        rows.append([(String(repeating: " ", count: labelWidth) + " └" + String(repeating: "─", count: plotWidth), nil)])
        let left = xLabel(f.minX), right = xLabel(f.maxX)
        let gap = max(1, plotWidth - left.count - right.count)
        rows.append([(String(repeating: " ", count: labelWidth + 2) + left + String(repeating: " ", count: gap) + right, nil)])
        return rows
    }

    /// A sparkline: one block a value, ▁ for the lowest to █ for the highest; the newest `width` values.
    public static func sparkline(_ values: [Double], width: Int) -> String {
        let shown = values.suffix(width)
        guard let lo = shown.min(), let hi = shown.max() else { return "" }
        let blocks = Array("▁▂▃▄▅▆▇█")
        return String(shown.map { hi > lo ? blocks[Int((($0 - lo) / (hi - lo) * 7).rounded())] : blocks[3] })
    }

    /// The same chart as a standalone SVG document: title, axes with their labels, a legend.
    public static func svg(_ series: [Series], title: String, width: Int = 800, height: Int = 400, yLabel: (Double) -> String,
                           xLabel: (Double) -> String, band: (Double, Double)? = nil) -> String {
        let colors = ["#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b"]
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let left = 90.0, right = 20.0, top = 40.0, bottom = 50.0
        let w = Double(width) - left - right, h = Double(height) - top - bottom
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">\n"
        out += "<title>\(escape(title))</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(left)\" y=\"24\" font-family=\"sans-serif\" font-size=\"16\">\(escape(title))</text>\n"
        guard let f = frame(series, band: band) else { return out + "<text x=\"\(left)\" y=\"\(top + 20)\">no data</text>\n</svg>\n" }
        func px(_ x: Double) -> String { String(format: "%.1f", left + (x - f.minX) / (f.maxX - f.minX) * w) }
        func py(_ y: Double) -> String { String(format: "%.1f", top + (f.maxY - y) / (f.maxY - f.minY) * h) }
        out += "<g id=\"axes\" stroke=\"#444\" fill=\"none\"><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + h)\"/>"
        out += "<line x1=\"\(left)\" y1=\"\(top + h)\" x2=\"\(left + w)\" y2=\"\(top + h)\"/></g>\n"
        out += "<g font-family=\"sans-serif\" font-size=\"11\" fill=\"#444\">"
        for y in [f.maxY, (f.maxY + f.minY) / 2, f.minY] {
            out += "<text x=\"\(left - 6)\" y=\"\(py(y))\" text-anchor=\"end\">\(escape(yLabel(y)))</text>"
        }
        out += "<text x=\"\(left)\" y=\"\(top + h + 18)\">\(escape(xLabel(f.minX)))</text>"
        out += "<text x=\"\(left + w)\" y=\"\(top + h + 18)\" text-anchor=\"end\">\(escape(xLabel(f.maxX)))</text></g>\n"
        if let band {
            for v in [band.0, band.1] {
                out += "<line x1=\"\(left)\" y1=\"\(py(v))\" x2=\"\(left + w)\" y2=\"\(py(v))\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n"
            }
        }
        for (i, s) in series.enumerated() {
            let color = colors[i % colors.count]
            if s.marker != nil {
                out += "<g id=\"series-\(i)\" fill=\"\(color)\">"
                for p in s.points { out += "<circle cx=\"\(px(p.x))\" cy=\"\(py(p.y))\" r=\"3\"/>" }
                out += "</g>\n"
            } else {
                let points = s.points.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
                out += "<polyline id=\"series-\(i)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points)\"/>\n"
            }
        }
        out += "<g id=\"legend\" font-family=\"sans-serif\" font-size=\"12\">"
        for (i, s) in series.enumerated() {
            let x = left + Double(i) * 160
            out += "<rect x=\"\(x)\" y=\"\(Double(height) - 18)\" width=\"10\" height=\"10\" fill=\"\(colors[i % colors.count])\"/>"
            out += "<text x=\"\(x + 14)\" y=\"\(Double(height) - 9)\">\(escape(s.name))</text>"
        }
        return out + "</g>\n</svg>\n"
    }
}
