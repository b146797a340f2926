import FuzzDriver

runFuzzer(fuzzStreamFrame)
