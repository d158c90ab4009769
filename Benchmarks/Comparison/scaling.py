"""Shows how batchproc's cost grows with the batch: 1,000, 10,000 and 100,000 records of each source.

For each event (made by make_events.py's generators, deterministic): in process, `batchproc bench` (best of the
iterations: decode, process with a no-op handler and full instrumentation, encode); as a whole process,
`batchproc process EVENT` (median of the runs, with its peak resident memory). Prints one row per event with the
time per record, so that linear growth shows as a flat column.
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from compare import run_json, run_process

COUNTS = [1000, 10000, 100000]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batchproc", required=True)
    parser.add_argument("--events", required=True, help="folder for the generated events")
    parser.add_argument("--kinds", default="sqs,kinesis,dynamodb,kafka")
    parser.add_argument("--runs", type=int, default=3, help="whole-process runs per event")
    options = parser.parse_args()
    folder = Path(options.events)
    # Made by another process: a child of this one would otherwise count this one's memory (the events it held)
    # in its own peak, since a child starts with its parent's pages.
    maker = Path(__file__).with_name("make_events.py")
    subprocess.run([sys.executable, str(maker), str(folder)] + [str(count) for count in COUNTS], check=True)

    print("| event | records | MB | in process | per record | whole process | per record | peak MiB | peak / event |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind in options.kinds.split(","):
        for count in COUNTS:
            label = f"{count // 1000}k"
            path = folder / f"{kind}-{label}.json"
            megabytes = path.stat().st_size / 1e6
            iterations = max(3, 100_000 // count)
            bench = run_json([options.batchproc, "bench", str(path), "--iterations", str(iterations)])
            runs = [run_process([options.batchproc, "process", str(path)]) for _ in range(options.runs)]
            wall = statistics.median(elapsed for elapsed, _ in runs)
            peak = max(memory for _, memory in runs)
            print(
                f"| {kind}-{label} | {count} | {megabytes:.1f} | {bench['best_s'] * 1e3:.1f} ms "
                f"| {bench['best_s'] / count * 1e6:.2f} µs | {wall * 1e3:.0f} ms | {wall / count * 1e6:.2f} µs "
                f"| {peak:.0f} | {peak / (megabytes / 1.048576):.1f}× |",
                flush=True,
            )


if __name__ == "__main__":
    main()
