import ArgumentParser
import CCurl
print("x")
