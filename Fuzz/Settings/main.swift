import FuzzDriver

runFuzzer(fuzzSettings)
