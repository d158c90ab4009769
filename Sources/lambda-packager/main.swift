// lambda-packager: the tool behind the `lambda-package` plugin and scripts/package-lambda.sh. Given a built program,
// it checks that the program needs nothing from the system it runs on and writes NAME.zip with `bootstrap` and the
// files named, for AWS Lambda's provided.al2023 runtime.
//
//     lambda-packager --program PATH --name NAME --output DIR [--resource PATH]... [--allow-dynamic]
//
// Exit status 0 with the package's summary on standard output; 1 with the reason on standard error.
import Foundation
import LambdaPackaging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func fail(_ message: String) -> Never {
    // write(2) reports a closed or full standard error by its result instead of trapping.
    let line = Array(("lambda-packager: " + message + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

var program: String?
var name: String?
var output: String?
var resources: [String] = []
var allowsDynamic = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func value() -> String {
        guard let value = arguments.popFirst() else { fail("\(argument) needs a value") }
        return value
    }
    switch argument {
    case "--program": program = value()
    case "--name": name = value()
    case "--output": output = value()
    case "--resource": resources.append(value())
    case "--allow-dynamic": allowsDynamic = true
    default:
        fail(
            "unknown argument '\(argument)'; usage: lambda-packager --program PATH --name NAME --output DIR [--resource PATH]... [--allow-dynamic]"
        )
    }
}
guard let program, let name, let output else { fail("--program, --name and --output are needed") }
do {
    let report = try LambdaPackage(
        program: program,
        name: name,
        resources: resources,
        outputDirectory: output,
        allowsDynamic: allowsDynamic
    ).make()
    print(report.lines.joined(separator: "\n"))
} catch {
    fail(error.description)
}
