import FuzzDriver

runFuzzer(fuzzShellLine)
