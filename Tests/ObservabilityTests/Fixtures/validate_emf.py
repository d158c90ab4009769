"""Validate EMF documents (one JSON object per line on stdin) against emf-schema.json and the rules of the
specification that a JSON Schema cannot express: every dimension key and metric name refers to a member of the
root; dimension targets are strings; metric targets are numbers or arrays of at most 100 numbers; names are unique
within a document. Prints 'valid N' and exits 0, or prints each problem and exits 1."""
import json
import pathlib
import sys

import jsonschema

schema = json.loads((pathlib.Path(__file__).parent / "emf-schema.json").read_text())
validator = jsonschema.Draft7Validator(schema)
problems = []
count = 0
for number, line in enumerate(sys.stdin, start=1):
    if not line.strip():
        continue
    count += 1
    try:
        document = json.loads(line)
    except json.JSONDecodeError as error:
        problems.append(f"document {number}: not JSON: {error}")
        continue
    for error in validator.iter_errors(document):
        problems.append(f"document {number}: {'/'.join(map(str, error.path))}: {error.message}")
    for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
        for dimension_set in directive.get("Dimensions", []):
            for key in dimension_set:
                if not isinstance(document.get(key), str):
                    problems.append(f"document {number}: dimension {key!r} has no string target")
        names = [metric.get("Name") for metric in directive.get("Metrics", [])]
        if len(names) != len(set(names)):
            problems.append(f"document {number}: a metric name repeats")
        for name in names:
            target = document.get(name)
            numbers = target if isinstance(target, list) else [target]
            if isinstance(target, list) and len(target) > 100:
                problems.append(f"document {number}: metric {name!r} has {len(target)} values")
            if not numbers or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
                problems.append(f"document {number}: metric {name!r} has no numeric target")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"valid {count}")
