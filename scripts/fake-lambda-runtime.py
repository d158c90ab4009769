#!/usr/bin/env python3
"""A stand-in for the Lambda Runtime API, to run a packaged `bootstrap` (or any runner program) as Lambda would.

    scripts/fake-lambda-runtime.py [--keep-alive] [--host NAME] [--concurrency N] [--lambda-environment]
        [--env NAME=VALUE]... EVENT.json... -- PROGRAM [ARGUMENTS...]

Starts an HTTP server on a free local port, starts PROGRAM with AWS_LAMBDA_RUNTIME_API pointing at it (and the
variables Lambda sets: AWS_LAMBDA_FUNCTION_NAME, _MEMORY_SIZE, _VERSION, AWS_REGION...), hands it the events one
invocation at a time, and when every event is answered stops the server, so that the program's next call fails and
it exits. Prints one JSON object on standard output: each invocation's request id with its response or its error,
any start-up error, and the program's exit status. The program's standard output and error pass through to this
script's standard error. With --keep-alive the server answers in HTTP/1.1 and keeps each connection open even when
the client asks to close it, as a server may: the client must stop reading once the body is whole. Gives up after
120 seconds. With --host, AWS_LAMBDA_RUNTIME_API names the server by NAME (which must lead to 127.0.0.1 where the
program looks it up: an /etc/hosts line, a DNS server) instead of 127.0.0.1. With --concurrency N, it stands in for
Lambda Managed Instances: AWS_LAMBDA_MAX_CONCURRENCY=N, and up to N invocations are handed out before the first is
answered; the output's "maxInFlight" says how many were out at once. With --lambda-environment, PROGRAM gets no
variable of this machine's environment: only those Lambda documents for a provided.al2023 function (PATH, LANG, TZ,
LAMBDA_TASK_ROOT, _HANDLER...), as in an empty root, where this machine's SSL_CERT_FILE or PATH mean nothing.
"""
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import uuid

args = sys.argv[1:]
if "--" not in args:
    sys.exit(__doc__)
split = args.index("--")
options, program = args[:split], args[split + 1 :]
extra_env = {}
events = []
keep_alive = False
host = "127.0.0.1"
concurrency = None
lambda_environment = False
i = 0
while i < len(options):
    if options[i] == "--keep-alive":
        keep_alive = True
        i += 1
    elif options[i] == "--lambda-environment":
        lambda_environment = True
        i += 1
    elif options[i] == "--concurrency":
        concurrency = int(options[i + 1])
        i += 2
    elif options[i] == "--host":
        host = options[i + 1]
        i += 2
    elif options[i] == "--env":
        name, _, value = options[i + 1].partition("=")
        extra_env[name] = value
        i += 2
    else:
        events.append(options[i])
        i += 1
if not program or not events:
    sys.exit(__doc__)

pending = [(f"req-{n}-{uuid.uuid4().hex[:8]}", open(path, "rb").read()) for n, path in enumerate(events)]
results = {"invocations": [], "initError": None, "maxInFlight": 0}
in_flight = 0
answered = threading.Event()
lock = threading.Lock()
expected = len(pending)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if not keep_alive:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if keep_alive:
            # Ignore the client's Connection: close; the connection ends when the client closes it.
            self.close_connection = False

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_GET(self):
        if self.path != "/2018-06-01/runtime/invocation/next":
            return self.reply(404)
        global in_flight
        with lock:
            item = pending.pop(0) if pending else None
            if item is not None:
                in_flight += 1
                results["maxInFlight"] = max(results["maxInFlight"], in_flight)
        if item is None:
            # Every event was handed out: wait for the last answer, then let the connection drop.
            answered.wait(60)
            self.close_connection = True
            return
        request_id, event = item
        deadline = int(time.time() * 1000) + 30000
        self.reply(
            200,
            event,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:eu-west-1:123456789012:function:example",
                "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            },
        )

    def do_POST(self):
        body = self.body()
        parts = self.path.split("/")
        if self.path == "/2018-06-01/runtime/init/error":
            results["initError"] = {"errorType": self.headers.get("Lambda-Runtime-Function-Error-Type"), "body": json.loads(body or b"null")}
            answered.set()
            return self.reply(202, b'{"status":"OK"}')
        if len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
            entry = {"requestId": parts[4]}
            if parts[5] == "response":
                entry["response"] = json.loads(body)
            else:
                entry["error"] = json.loads(body)
                entry["errorTypeHeader"] = self.headers.get("Lambda-Runtime-Function-Error-Type")
            global in_flight
            with lock:
                in_flight -= 1
                results["invocations"].append(entry)
                if len(results["invocations"]) == expected:
                    answered.set()
            return self.reply(202, b'{"status":"OK"}')
        self.reply(404)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
if lambda_environment:
    # Lambda's reserved variables for an OS-only runtime (the Lambda Developer Guide, "Defined runtime environment
    # variables"), without the credentials.
    env = {
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        "TZ": ":UTC",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
else:
    env = dict(os.environ)
env.update(
    {
        "AWS_LAMBDA_RUNTIME_API": f"{host}:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "example",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/example",
        "AWS_REGION": "eu-west-1",
    }
)
if concurrency is not None:
    env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(concurrency)
env.update(extra_env)
child = subprocess.Popen(program, env=env, stdout=sys.stderr, stderr=sys.stderr)
answered.wait(120)
server.shutdown()
server.server_close()
try:
    results["exitStatus"] = child.wait(30)
except subprocess.TimeoutExpired:
    child.kill()
    results["exitStatus"] = "killed: it did not exit when the Runtime API went away"
print(json.dumps(results))
