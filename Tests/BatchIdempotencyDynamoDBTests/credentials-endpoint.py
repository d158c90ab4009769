#!/usr/bin/env python3
"""A stand-in for the container credentials endpoint (ECS, Lambda SnapStart), for the credentials tests.

    credentials-endpoint.py TOKEN LIFETIME_SECONDS

Listens on a free port of 127.0.0.1 and prints `port N`. Each GET answered with a `TOKEN` Authorization header gets
new credentials, `{"AccessKeyId": "ASIAFETCHn", "SecretAccessKey": …, "Token": …, "Expiration": now + LIFETIME}`
(n counts the fetches); any other Authorization is answered 401. Each request is reported on standard output as
`GET PATH AUTHORIZATION`. Ends when standard input closes.
"""
import datetime
import http.server
import json
import sys
import threading

token, lifetime = sys.argv[1], int(sys.argv[2])
fetches = 0
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *arguments):
        pass

    def do_GET(self):
        global fetches
        authorization = self.headers.get("Authorization", "-")
        print(f"GET {self.path} {authorization}", flush=True)
        if authorization != token:
            body = b'{"message": "unauthorized"}'
            self.send_response(401)
        else:
            with lock:
                fetches += 1
                n = fetches
            expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
            body = json.dumps({
                "AccessKeyId": f"ASIAFETCH{n}",
                "SecretAccessKey": f"secret-{n}",
                "Token": f"token-{n}",
                "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(f"port {server.server_address[1]}", flush=True)
sys.stdin.read()
