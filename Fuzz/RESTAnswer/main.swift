import FuzzDriver

runFuzzer(fuzzRESTAnswer)
