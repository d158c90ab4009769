#!/usr/bin/env python3
"""The cold start of a Lambda bootstrap, measured from outside as Lambda would see it:

    Benchmarks/coldstart.py BOOTSTRAP EVENT.json [RUNS]      (default 30 runs)

(1) process start to its first `GET /next` on a local stand-in Runtime API (which never answers: the program is
killed once it has asked), and (2) a whole `BOOTSTRAP invoke EVENT.json`, each the median of RUNS runs on the
monotonic clock, this script's own fork and exec included; (3) `/bin/true` started the same way, the cost of that
path alone, to subtract. For the figures of Benchmarks/README.md ("Lambda packages"):

    scripts/package-lambda.sh sqs-orders && mkdir -p /tmp/sqs && cd /tmp/sqs && unzip -o .../.build-lambda/sqs-orders.zip
    Benchmarks/coldstart.py /tmp/sqs/bootstrap one-record.json 40
"""
import http.server
import os
import statistics
import subprocess
import sys
import threading
import time

if len(sys.argv) < 3:
    sys.exit(__doc__)
program, event = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
arrived = threading.Event()
stamp = [0.0]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *arguments):
        pass

    def do_GET(self):
        if not arrived.is_set():
            stamp[0] = time.monotonic()
            arrived.set()
        self.close_connection = True


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}", AWS_LAMBDA_FUNCTION_NAME="f")


def timed(arguments):
    start = time.monotonic()
    subprocess.run(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.monotonic() - start) * 1000


first_next = []
for _ in range(runs):
    arrived.clear()
    start = time.monotonic()
    child = subprocess.Popen([program], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not arrived.wait(10):
        child.kill()
        sys.exit(f"coldstart: {program} did not ask for an invocation within 10 s")
    first_next.append((stamp[0] - start) * 1000)
    child.kill()
    child.wait()
invokes = [timed([program, "invoke", event]) for _ in range(runs)]
baseline = [timed(["/bin/true"]) for _ in range(runs)]
print(
    f"start to first /next: median {statistics.median(first_next):.1f} ms (min {min(first_next):.1f}); "
    f"invoke one record: median {statistics.median(invokes):.1f} ms (min {min(invokes):.1f}); "
    f"/bin/true the same way: median {statistics.median(baseline):.1f} ms"
)
