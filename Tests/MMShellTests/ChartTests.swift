import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MMCore
import Testing
@testable import MMShell

@Suite struct ChartTests {
    /// A fixed series drawn as it must be: Braille dots, axes, labels.
    @Test func aLineInBrailleGolden() {
        let points = (0..<9).map { (x: Double($0), y: Double([0, 1, 2, 3, 4, 3, 2, 1, 0][$0])) }
        let rows = Chart.draw([Chart.Series("s", points)], width: 14, height: 4, yLabel: { String(format: "%.0f", $0) },
                              xLabel: { String(format: "%.0f", $0) })
        let text = rows.map { $0.map(\.text).joined() }.joined(separator: "\n")
        // Nine points rising to 4 and back, on 11 × 2 cells (22 × 8 dots).
        #expect(text == [
            "4 ┤   ⣀⠔⠊⠢⣀   ",
            "0 ┤⡠⠔⠉     ⠑⠢⢄",
            "  └───────────",
            "   0         8",
        ].joined(separator: "\n"), "\n\(text)")
    }

    @Test func sparklines() {
        #expect(Chart.sparkline([1, 2, 3, 4, 5, 6, 7, 8], width: 20) == "▁▂▃▄▅▆▇█")
        #expect(Chart.sparkline([5, 5, 5], width: 20) == "▄▄▄")
        #expect(Chart.sparkline([0, 10, 0, 10], width: 2) == "▁█")
        #expect(Chart.sparkline([], width: 5) == "")
    }

    @Test func watchingStatusShowsTrends() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.takers 300; set sim.volatility 0.5%; start")
        await h.run(seconds: 600)
        // Ctrl-C once the first view is out (not after a fixed time: on a loaded machine, through
        // the socket, the first view took longer than the 300 ms this waited).
        let console = h.console
        Task {
            let deadline = ContinuousClock.now + .seconds(30)
            while !console.out.contains("P&L"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(100))
            console.interrupt()
        }
        let out = await h.run("status --watch 200ms").out
        #expect(out.contains("MID") && out.contains("P&L"))
        let row = try #require(out.split(separator: "\n").first { $0.contains("btc") })
        #expect(row.contains { "▁▂▃▄▅▆▇█".contains($0) }, "\(row)")
        await h.run("stop all")
    }

    @Test func markersFlatSeriesAndEmptyInput() {
        let rows = Chart.draw([Chart.Series("flat", [(0, 5), (10, 5)]), Chart.Series("buys", [(5, 5)], marker: "▲")],
                              width: 20, height: 5, yLabel: { String(format: "%.3f", $0) }, xLabel: { _ in "t" })
        let text = rows.map { $0.map(\.text).joined() }.joined(separator: "\n")
        #expect(text.contains("▲"))
        #expect(rows.allSatisfy { $0.map(\.text).joined().count <= 20 })
        #expect(Chart.draw([], width: 20, height: 5, yLabel: { _ in "" }, xLabel: { _ in "" }).first?.first?.text == "no data to draw")
    }

    @Test func svgIsValidXMLWithTitleAxesAndLegend() throws {
        let svg = Chart.svg([Chart.Series("mid <BTC>", [(0, 1), (1, 2), (2, 1.5)]), Chart.Series("buys", [(1, 2)], marker: "▲")],
                            title: "price & fills", yLabel: { String($0) }, xLabel: { String($0) })
        let doc = try XMLDocument(xmlString: svg)
        let root = try #require(doc.rootElement())
        #expect(root.name == "svg")
        #expect(try doc.nodes(forXPath: "//*[local-name()='title']").first?.stringValue == "price & fills")
        #expect(try doc.nodes(forXPath: "//*[local-name()='polyline']").count == 1)
        #expect(try doc.nodes(forXPath: "//*[local-name()='g'][@id='axes']").count == 1)
        #expect(svg.contains("mid &lt;BTC&gt;"))
    }

    @Test func chartsOfARunningInstance() async throws {
        let h = try await Harness()
        await h.run("new btc; set sim.seed 5; set sim.takers 300; set sim.volatility 0.5%; set spread.bid 0.02%; set spread.ask 0.02%; start")
        await h.run(seconds: 600)
        for what in ["price", "pnl", "inventory", "spread", "depth"] {
            let r = await h.run("chart btc \(what) --width 60 --height 12")
            #expect(r.error == nil, "\(what): \(r.err)")
            let lines = r.out.split(separator: "\n")
            #expect(lines.count >= 8, "\(what):\n\(r.out)")
            #expect(lines.dropFirst().allSatisfy { $0.count <= 60 }, "\(what) fits its width:\n\(r.out)")
        }
        // The price chart has the instance's own best bid and ask from its market samples.
        let price = try JSONSerialization.jsonObject(with: Data(await h.run("chart btc price --json").out.utf8)) as! [String: Any]
        let names = (price["series"] as! [[String: Any]]).map { $0["name"] as! String }
        #expect(names.starts(with: ["mid", "our bid", "our ask"]), "\(names)")
        let buys = try h.store.fills(instance: 1).filter { $0.side == "buy" }
        #expect(await h.run("chart btc price --width 60").out.contains("▲") || buys.isEmpty)
        let svg = h.url.appendingPathComponent("pnl.svg").path
        #expect(await h.run("chart btc pnl --svg \(svg)").out.contains("wrote the pnl chart"))
        _ = try XMLDocument(contentsOf: URL(fileURLWithPath: svg))
        await h.run("stop all")
        let bogus = await h.run("chart 1 bogus")
        #expect(bogus.error != nil && bogus.err.contains("bogus"), "\(bogus.err)")
    }
}
