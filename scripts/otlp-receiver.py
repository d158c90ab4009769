#!/usr/bin/env python3
"""A small OTLP/HTTP trace receiver for scripts/check-tracing-example.sh: takes POST /v1/traces
(application/x-protobuf), decodes the ExportTraceServiceRequest with opentelemetry-proto, and appends each span as
one JSON line to OUT. It listens on 127.0.0.1 on a free port, which it writes to PORT_FILE once it is ready.

    otlp-receiver.py PORT_FILE OUT
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PORT_FILE, OUT = sys.argv[1], sys.argv[2]


def value(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(item) for item in any_value.array_value.values]
    return getattr(any_value, kind)


def attributes(pairs):
    return {pair.key: value(pair.value) for pair in pairs}


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            with open(OUT, "a", encoding="utf-8") as out:
                out.write(json.dumps({"wrong_path": self.path}) + "\n")
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with open(OUT, "a", encoding="utf-8") as out:
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        out.write(json.dumps({
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "status": {1: "ok", 2: "error"}.get(span.status.code, "unset"),
                            "attributes": attributes(span.attributes),
                            "events": [event.name for event in span.events],
                            "links": [{"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                                      for link in span.links],
                            "service": resource.get("service.name"),
                        }) + "\n")
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Receiver)
with open(PORT_FILE, "w", encoding="utf-8") as handle:
    handle.write(str(server.server_address[1]))
server.serve_forever()
