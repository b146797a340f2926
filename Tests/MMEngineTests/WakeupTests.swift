import Testing
@testable import MMEngine

@Suite struct WakeupTests {
    @Test func aSignalWakesTheWaiterAndOneKeptForLaterReturnsAtOnce() async {
        let w = Wakeup()
        let clock = ContinuousClock()
        // Nobody waits: the signal is kept.
        w.signal()
        w.signal()
        // Bounds far from the timeouts: the suite runs tests in parallel on a loaded machine.
        let kept = await clock.measure { await w.wait(upTo: .seconds(60)) }
        #expect(kept < .seconds(20))
        // The two signals coalesced: the next wait runs to its timeout.
        let timedOut = await clock.measure { await w.wait(upTo: .milliseconds(150)) }
        #expect(timedOut >= .milliseconds(140))
        // A signal during a wait ends it.
        Task {
            try? await Task.sleep(for: .milliseconds(50))
            w.signal()
        }
        let woken = await clock.measure { await w.wait(upTo: .seconds(60)) }
        #expect(woken < .seconds(20))
    }

    @Test func cancellingTheWaitingTaskEndsTheWait() async {
        let w = Wakeup()
        let task = Task { await w.wait(upTo: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let clock = ContinuousClock()
        let ended = await clock.measure { await task.value }
        #expect(ended < .seconds(20))
    }
}
