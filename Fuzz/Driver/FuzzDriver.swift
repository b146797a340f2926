import Foundation

/// libFuzzer drives each target: SwiftPM gives the executable its own entry point, so
/// libFuzzer's main is not used; its driver is called with the arguments instead (corpus
/// directories, -max_total_time, …). `test` gets each input; a crash in it is what is sought.
public func runFuzzer(_ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var arguments = CommandLine.argc
    var values = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&arguments, &values, test))
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
