import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory lambda-package --product NAME [--resources PATH]...`: builds
/// an executable product of the package it runs in, statically linked (Swift, Foundation and the C library inside
/// the program, so that it runs on any Lambda runtime whatever glibc it has), checks that it needs nothing from the
/// system, and writes `NAME.zip` with `bootstrap` and the files named, for `provided.al2023`.
///
/// Options:
/// - `--product NAME` (repeatable): the executable products to package; by default the package's only one.
/// - `--resources PATH` (repeatable): files or folders to add beside `bootstrap` (chain files), relative to the
///   package's folder; a folder keeps its name and its files.
/// - `--output DIR`: where the zips go (default `.build/lambda`, in the package's folder).
/// - `--debug`: a debug build (quicker to make, slower to run: for checks, not for deploying).
/// - `--keep-symbols`: leave the symbol table in the program (larger; names in crash backtraces).
@main
struct LambdaPackagePlugin: CommandPlugin {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let requested = extractor.extractOption(named: "product")
        let resources = extractor.extractOption(named: "resources") + extractor.extractOption(named: "resource")
        let output = extractor.extractOption(named: "output").last
        let debug = extractor.extractFlag(named: "debug") > 0
        let keepSymbols = extractor.extractFlag(named: "keep-symbols") > 0
        guard extractor.remainingArguments.isEmpty else {
            throw Failure(
                description: "unknown arguments \(extractor.remainingArguments); use --product NAME, --resources "
                    + "PATH, --output DIR, --debug, --keep-symbols"
            )
        }
        #if !os(Linux)
        throw Failure(description: "lambda-package builds Linux programs: run it on Linux (x86_64 or arm64)")
        #else
        let package = context.package
        let executables = package.products.compactMap { $0 as? ExecutableProduct }.map(\.name)
        let products: [String]
        if requested.isEmpty {
            guard executables.count == 1 else {
                throw Failure(
                    description: executables.isEmpty
                        ? "\(package.displayName) has no executable product to package"
                        : "name the product to package with --product (one of \(executables.joined(separator: ", ")))"
                )
            }
            products = executables
        } else {
            for name in requested where !executables.contains(name) {
                throw Failure(
                    description: "\(name) is not an executable product of \(package.displayName) (its executable "
                        + "products: \(executables.isEmpty ? "none" : executables.joined(separator: ", ")))"
                )
            }
            products = requested
        }
        let directory = package.directoryURL
        // A relative --output (and --resources) is taken from the package's folder; an absolute one as it is.
        func resolved(_ path: String) -> String { path.hasPrefix("/") ? path : directory.appending(path: path).path }
        let outputDirectory = resolved(output ?? ".build/lambda")

        let packager = try context.tool(named: "lambda-packager").url
        for product in products {
            var parameters = PackageManager.BuildParameters(configuration: debug ? .debug : .release, logging: .concise)
            // Everything in the program: the Swift runtime, Foundation and its ICU data, and glibc.
            parameters.otherSwiftcFlags = ["-static-executable"]
            if !keepSymbols { parameters.otherLinkerFlags = ["-s"] }
            print("lambda-package: building \(product) (\(debug ? "debug" : "release"), static)…")
            let result = try packageManager.build(.product(product), parameters: parameters)
            guard result.succeeded else {
                print(result.logText)
                throw Failure(description: "the build of \(product) failed (above)")
            }
            guard let program = result.builtArtifacts.first(where: { $0.kind == .executable })?.url else {
                throw Failure(description: "the build of \(product) gave no executable")
            }
            var arguments = ["--program", program.path, "--name", product, "--output", outputDirectory]
            for resource in resources {
                arguments += [
                    "--resource", resource.hasPrefix("/") ? resource : directory.appending(path: resource).path,
                ]
            }
            let process = Process()
            process.executableURL = packager
            process.arguments = arguments
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw Failure(description: "\(product) was not packaged (above)")
            }
        }
        #endif
    }
}
