import FuzzDriver

runFuzzer(fuzzRecording)
