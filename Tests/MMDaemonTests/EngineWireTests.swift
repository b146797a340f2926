import Foundation
import MMAPI
import MMCore
import MMEngine
import MMStorage
import MMStrategy
import Testing
@testable import MMDaemon

/// The typed API over the engine's socket (`POST /v1/engine/{call}`), as `RemoteEngine` and curl use it.
@Suite(.serialized) struct EngineWireTests {
    @Test func theDocumentNamesEveryCall() throws {
        let doc = try #require(JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        let post = try #require(paths["/v1/engine/{call}"]?["post"] as? [String: Any])
        let parameters = try #require(post["parameters"] as? [[String: Any]])
        let call = try #require(parameters.first { $0["name"] as? String == "call" })
        let names = try #require((call["schema"] as? [String: Any])?["enum"] as? [String])
        #expect(names == EngineWire.calls)
        #expect(EngineWire.streamed.isSubset(of: Set(EngineWire.calls)))
    }

    @Test func callsWithJSONArgumentsAndErrorsWithTheirKind() async throws {
        let engine = try await RunningEngine()
        let created = try await engine.post("/v1/engine/createInstance", #"["desk", 10, {"sim.takers": "0"}]"#)
        #expect(created.status == 200 && created.body.contains(#""name":"desk""#), "\(created.body)")
        let set = try await engine.post("/v1/engine/updateSettings", #"[1, {"spread.bid": "0.2%", "sim.takers": null}, null]"#)
        #expect(set.status == 200 && set.body == "{\"result\":null}\n", "\(set.body)")
        let stored = try await engine.post("/v1/engine/storedSettings", "[1]")
        #expect(stored.body == "{\"result\":{\"spread.bid\":\"0.2%\"}}\n", "\(stored.body)")
        #expect(try await engine.post("/v1/engine/instances").body.contains(#""id":1"#))
        let start = try await engine.post("/v1/engine/start", "[1]")
        #expect(start.status == 200, "\(start.body)")
        let again = try await engine.post("/v1/engine/start", "[1]")
        #expect(again.status == 409 && again.body.contains(#""kind":"conflict""#) && errorMessage(again.body) == "instance 1 'desk' is running already", "\(again.body)")
        let report = try await engine.post("/v1/engine/report", "[1]")
        #expect(report.status == 200 && report.body.contains(#""state":"running""#), "\(report.body.prefix(300))")
        let stopped = try await engine.post("/v1/engine/stop", "[1]")
        #expect(stopped.status == 200 && stopped.body.hasPrefix(#"{"result":"#), "\(stopped.body)")

        // Refusals: what was wrong, and nothing changed.
        let before = try await engine.post("/v1/engine/storedSettings", "[1]").body
        for (call, body, status, words) in [
            ("instance", #"["one"]"#, 400, "instance: the arguments are not what it takes (expected Int at [0])"),
            ("updateSettings", #"[1, {"spread.bid": "-1"}]"#, 400, "2 arguments where it takes 3"),
            ("updateSettings", #"[1, {"spread.bid": 5}, null]"#, 400, "expected String at [1].spread.bid"),
            ("instance", #"{"id": 1}"#, 400, "not a JSON array"),
            ("instance", "[1", 400, "the arguments are not what it takes"),
            ("nosuch", "[]", 404, "there is no engine call 'nosuch'"),
            ("deleteInstance", "[9]", 404, "there is no instance 9"),
        ] {
            let r = try await engine.post("/v1/engine/\(call)", body)
            #expect(r.status == status && (errorMessage(r.body) ?? "").contains(words), "\(call) \(body): \(r.status) \(r.body)")
        }
        let badValue = try await engine.post("/v1/engine/updateSettings", #"[1, {"spread.bid": "lots"}, null]"#)
        #expect(badValue.status == 400 && errorMessage(badValue.body)?.contains("spread.bid") == true, "\(badValue.body)")
        #expect(try await engine.post("/v1/engine/storedSettings", "[1]").body == before)
        await engine.stop()
    }

    @Test func theRemoteEngineIsTheEngineOverItsSocket() async throws {
        let engine = try await RunningEngine()
        let api = RemoteEngine(socket: engine.socket)
        defer { api.close() }
        let r = try await api.createInstance(name: "desk", limit: 10, settings: ["sim.takers": "600", "sim.seed": "5"])
        #expect(r.id == 1 && r.name == "desk")
        try await api.start(1)
        do { try await api.start(1); Issue.record("started twice") } catch {
            #expect(error.kind == .conflict && error.message == "instance 1 'desk' is running already")
        }
        #expect(await api.isRunning(1))
        #expect(await api.runningIds() == [1])
        // The report with its strategy's state: preview of a running instance starts from it.
        var report: InstanceReport?
        for _ in 0..<100 {
            report = await api.report(1)
            if report?.snapshot != nil && report?.strategyState != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let local = await engine.service.engine.report(1)
        #expect(report?.snapshot?.book.bids.isEmpty == false)
        #expect(report?.rules == local?.rules)
        #expect(report?.strategyState?.createAt == local?.strategyState?.createAt)
        // Following the log: an entry logged after the call arrives.
        let (id, events) = await api.followEvents()
        await api.logEvent(instance: 1, level: .warning, kind: "test", message: "over the socket")
        var heard: EventRecord?
        for await e in events where e.message == "over the socket" { heard = e; break }
        api.endFollowing(id)
        #expect(heard?.level == "warning" && heard?.instanceId == 1)
        let cancelled = await api.stop(1)
        #expect(cancelled != nil)
        #expect(await api.isRunning(1) == false)
        #expect(try await api.lastRun(instance: 1)?.endState == "stopped")
        // Decimals cross as strings, exactly.
        let fills = try await api.ledgerTally(FillQuery(instance: 1), baseAsset: "BTC", by: .hour, offset: 0)
        let localTally = try await engine.service.engine.ledgerTally(FillQuery(instance: 1), baseAsset: "BTC", by: .hour, offset: 0)
        #expect(fills.whole == localTally.whole && fills.buckets.count == localTally.buckets.count)
        await engine.stop()
        // The engine gone: calls that can fail say so, the others answer as for an engine that runs nothing.
        do { _ = try await api.instances(); Issue.record("answered with no engine") } catch {
            #expect(error.message.hasPrefix("cannot reach the engine"), "\(error.message)")
        }
        #expect(await api.runningIds() == [])
    }
}

