#!/usr/bin/env python3
"""A proxy in front of a DynamoDB API that misbehaves on command, for the DynamoDB store's fault tests.

    dynamodb-fault-proxy.py UPSTREAM_URL

Listens on a free port of 127.0.0.1 and prints `port N` on standard output; forwards each request to UPSTREAM_URL
(HTTP/1.1, kept alive) and its answer back. Commands, one per line on standard input, each answered with a line:
    throttle N   the next N requests are answered 400 ProvisionedThroughputExceededException, as DynamoDB throttles
    fail N       the next N requests are answered 500 InternalServerError
    down         stop listening and cut every open connection: as a server that went away (connection refused)
    up           listen again on the same port
    counts       print {"forwarded": n, "throttled": n, "failed": n} as JSON
Ends when standard input closes.
"""
import http.client
import http.server
import json
import socket
import sys
import threading
import urllib.parse

upstream = urllib.parse.urlsplit(sys.argv[1])
lock = threading.Lock()
state = {"throttle": 0, "fail": 0, "forwarded": 0, "throttled": 0, "failed": 0}
connections = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *arguments):
        pass

    def setup(self):
        super().setup()
        with lock:
            connections.add(self.connection)

    def finish(self):
        with lock:
            connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            if state["throttle"] > 0:
                state["throttle"] -= 1
                state["throttled"] += 1
                verdict = "throttle"
            elif state["fail"] > 0:
                state["fail"] -= 1
                state["failed"] += 1
                verdict = "fail"
            else:
                state["forwarded"] += 1
                verdict = "forward"
        if verdict == "throttle":
            return self.answer(400, json.dumps({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded.",
            }).encode())
        if verdict == "fail":
            return self.answer(500, json.dumps({
                "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "message": "Internal server error",
            }).encode())
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        self.answer(response.status, data)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(port):
    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


server = serve(0)
port = server.server_address[1]
print(f"port {port}", flush=True)
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] in ("throttle", "fail"):
        with lock:
            state[words[0]] = int(words[1])
        print("ok", flush=True)
    elif words[0] == "down":
        if server is not None:
            server.shutdown()
            server.server_close()
            server = None
        with lock:
            for connection in list(connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        print("ok", flush=True)
    elif words[0] == "up":
        if server is None:
            server = serve(port)
        print("ok", flush=True)
    elif words[0] == "counts":
        with lock:
            print(json.dumps({k: state[k] for k in ("forwarded", "throttled", "failed")}), flush=True)
    else:
        print(f"unknown command {words[0]}", flush=True)
