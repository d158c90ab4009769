"""Runs batchproc and AWS Lambda Powertools for Python on the same events, alternating, and prints the ratios.

In process: `batchproc bench` against Powertools' best of N in one interpreter (start-up and reading the file left
out on both sides). Whole process: `batchproc process EVENT` against `python powertools_batch.py EVENT KIND once`,
each started afresh, timed from outside, with its peak resident memory. Rounds alternate the two sides so that a
machine busy for a moment harms both alike; each figure is the best (in process) or median (whole process) over
the rounds.
"""

import argparse
import json
import os
import statistics
import subprocess
import time

KINDS = ["sqs", "kinesis", "dynamodb", "kafka"]
SIZES = ["1k", "10k"]


def run_json(command):
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_process(command):
    """Wall time in seconds and peak resident memory in MiB of one whole process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batchproc", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--process-runs", type=int, default=5)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    powertools = os.path.join(here, "powertools_batch.py")

    header = (f"{'event':<13}{'records':>8}{'MB':>7} | {'in process: Swift':>17}{'Python':>9}{'ratio':>7} | "
              f"{'whole process: Swift':>20}{'Python':>9}{'ratio':>7} | {'peak MiB Swift':>14}{'Python':>8}")
    print(header)
    print("-" * len(header))
    for kind in KINDS:
        for size in SIZES:
            event = os.path.join(args.events, f"{kind}-{size}.json")
            swift_best, python_best = [], []
            swift_wall, python_wall, swift_peak, python_peak = [], [], [], []
            records = 0
            for _ in range(args.rounds):
                swift = run_json([args.batchproc, "bench", event, "--iterations", str(args.iterations),
                                  "--max-attempts", "1"])
                python = run_json([args.python, powertools, event, kind, "bench", str(args.iterations)])
                if swift["records"] != python["records"]:
                    raise SystemExit(f"{event}: batchproc read {swift['records']} records, Powertools "
                                     f"{python['records']}")
                records = swift["records"]
                swift_best.append(swift["best_s"])
                python_best.append(python["best_s"])
            for _ in range(args.process_runs):
                seconds, peak = run_process([args.batchproc, "process", event])
                swift_wall.append(seconds)
                swift_peak.append(peak)
                seconds, peak = run_process([args.python, powertools, event, kind, "once"])
                python_wall.append(seconds)
                python_peak.append(peak)
            inner_swift, inner_python = min(swift_best) * 1e3, min(python_best) * 1e3
            outer_swift = statistics.median(swift_wall) * 1e3
            outer_python = statistics.median(python_wall) * 1e3
            megabytes = os.path.getsize(event) / 1e6
            print(f"{kind + '-' + size:<13}{records:>8}{megabytes:>7.1f} | {inner_swift:>14.1f} ms{inner_python:>6.1f} ms"
                  f"{inner_python / inner_swift:>6.1f}x | {outer_swift:>17.1f} ms{outer_python:>6.1f} ms"
                  f"{outer_python / outer_swift:>6.1f}x | {max(swift_peak):>14.0f}{max(python_peak):>8.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
