#!/usr/bin/env python3
"""The code blocks of the README, the examples' READMEs and the DocC articles, checked against code that compiles.

Every ```swift block in those files is preceded by a marker naming the file it is cut from:

    <!-- code: Documentation/Code/readme-program.swift -->
    ```swift
    ...
    ```

The file is compiled (type-checked, as its own module) against the package's built modules, and the block must be
the file's shown part: the whole file, or the lines between `// docs: begin` and `// docs: end` (what is outside
them is compiled but not shown: the imports and stand-ins a fragment needs). `Package.swift` files are checked
against SwiftPM's PackageDescription.

    scripts/docs-code.py check     # after a debug build (`swift build --build-tests`); `make test` runs it
    scripts/docs-code.py update    # rewrite the blocks from their files, then check

A block without a marker, a marker naming a missing file, a block that differs from its file, or a file that does
not compile fails the check, naming the file and line.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = "Documentation/Code"
STAND_INS = os.path.join(CODE, "StandIns")
MARKER = re.compile(r"^<!-- code: (\S+) -->$")
FENCE_OPEN = "```swift"


def documents():
    patterns = ["README.md", "Examples/README.md", "Examples/*/README.md", "Sources/*/Documentation.docc/*.md"]
    found = []
    for pattern in patterns:
        found += sorted(glob.glob(os.path.join(ROOT, pattern)))
    return found


def shown_part(path):
    """The lines of a code file that its blocks show."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    begins = [i for i, line in enumerate(lines) if line.strip() == "// docs: begin"]
    ends = [i for i, line in enumerate(lines) if line.strip() == "// docs: end"]
    if not begins and not ends:
        return lines
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ValueError(f"{path}: expected one `// docs: begin` before one `// docs: end`")
    part = lines[begins[0] + 1 : ends[0]]
    indents = [len(line) - len(line.lstrip(" ")) for line in part if line.strip()]
    cut = min(indents) if indents else 0
    return [line[cut:] for line in part]


def blocks(document):
    """The document's lines, and per swift block: the marker's path (or None), the index of its first line (the
    fence's line number), the index after its last line, its lines and their indent."""
    with open(document, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    result = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == FENCE_OPEN:
            indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
            marker = None
            if index > 0:
                match = MARKER.match(lines[index - 1].strip())
                if match:
                    marker = match.group(1)
            end = index + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[index + 1 : end]]
            result.append((marker, index + 1, end, body, indent))
            index = end + 1
        else:
            index += 1
    return lines, result


def module_flags():
    modules = os.path.join(ROOT, ".build", "debug", "Modules")
    if not os.path.isdir(modules):
        sys.exit("docs-code: no .build/debug/Modules: build first (swift build --build-tests)")
    flags = ["-I", modules]
    maps = glob.glob(os.path.join(ROOT, ".build", "debug", "*.build", "module.modulemap"))
    maps += glob.glob(os.path.join(ROOT, ".build", "checkouts", "*", "Sources", "**", "module.modulemap"), recursive=True)
    maps += glob.glob(os.path.join(ROOT, "Sources", "**", "module.modulemap"), recursive=True)
    for path in sorted(maps):
        flags += ["-Xcc", f"-fmodule-map-file={path}", "-Xcc", f"-I{os.path.dirname(path)}"]
    return flags


def manifest_flags():
    swiftc = subprocess.run(["which", "swiftc"], capture_output=True, text=True).stdout.strip()
    api = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(swiftc))), "lib", "swift", "pm", "ManifestAPI")
    return ["-I", api, "-L", api, "-lPackageDescription", "-package-description-version", "6.0"]


def compile_all(files):
    failures = []
    with tempfile.TemporaryDirectory() as scratch:
        flags = module_flags() + ["-I", scratch]
        # Stand-ins for packages this machine cannot fetch, each built as the module it stands in for.
        for stand_in in sorted(glob.glob(os.path.join(ROOT, STAND_INS, "*.swift"))):
            name = os.path.splitext(os.path.basename(stand_in))[0]
            run = subprocess.run(
                ["swiftc", "-emit-module", "-parse-as-library", "-module-name", name, "-o",
                 os.path.join(scratch, name + ".swiftmodule"), stand_in] + flags,
                capture_output=True, text=True,
            )
            if run.returncode != 0:
                failures.append(f"{os.path.relpath(stand_in, ROOT)} does not compile:\n{run.stderr}")
        for path in files:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            if os.path.basename(path) == "Package.swift":
                command = ["swiftc", "-typecheck", path] + manifest_flags()
            else:
                command = ["swiftc", "-typecheck", "-module-name", "DocumentationCode", path] + flags
                if re.search(r"^\s*@main\b", text, re.MULTILINE):
                    command.insert(2, "-parse-as-library")
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"{os.path.relpath(path, ROOT)} does not compile:\n{run.stderr}")
    return failures


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "check"
    if mode not in ("check", "update"):
        sys.exit("usage: scripts/docs-code.py check|update")
    failures = []
    used = set()
    count = 0
    for document in documents():
        lines, found = blocks(document)
        changed = False
        for marker, first, end, body, indent in reversed(found):
            where = f"{os.path.relpath(document, ROOT)}:{first}"
            count += 1
            if marker is None:
                failures.append(f"{where}: a swift block without a `<!-- code: FILE -->` line before it")
                continue
            path = os.path.join(ROOT, marker)
            if not os.path.isfile(path):
                failures.append(f"{where}: {marker} does not exist")
                continue
            used.add(os.path.realpath(path))
            try:
                shown = shown_part(path)
            except ValueError as error:
                failures.append(f"{where}: {error}")
                continue
            if shown != body:
                if mode == "update":
                    lines[first:end] = [indent + line if line else line for line in shown]
                    changed = True
                else:
                    failures.append(f"{where}: the block differs from {marker} (scripts/docs-code.py update)")
        if changed:
            with open(document, "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines))
    files = sorted(
        path for path in glob.glob(os.path.join(ROOT, CODE, "**", "*.swift"), recursive=True)
        if not path.startswith(os.path.join(ROOT, STAND_INS))
    )
    for path in files:
        if os.path.realpath(path) not in used:
            failures.append(f"{os.path.relpath(path, ROOT)}: no document shows it")
    failures += compile_all(files)
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(f"docs-code: {len(failures)} problem(s)")
    print(f"docs-code: {count} swift blocks match their files; {len(files)} files compile")


if __name__ == "__main__":
    main()
