#!/usr/bin/env python3
"""botocore's Signature Version 4 of requests, the reference the Swift signer is compared with.

Reads a JSON array of requests on standard input, each
    {"method", "path", "query": [[name, value]...], "headers": [[name, value]...], "body": hex,
     "accessKeyID", "secretAccessKey", "sessionToken" (or null), "region", "service", "epochSeconds"}
and writes a JSON array of {"canonicalRequest", "stringToSign", "authorization", "securityToken"} in the same order,
computed by botocore.auth.SigV4Auth at that moment (add_auth's own steps, with the time given). The query is given to botocore as parameters (which
it encodes itself), the headers one by one (so that a name may repeat).
"""
import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

results = []
for case in json.load(sys.stdin):
    moment = datetime.datetime.fromtimestamp(case["epochSeconds"], tz=datetime.timezone.utc)
    request = AWSRequest(
        method=case["method"],
        url="https://" + dict((n.lower(), v) for n, v in case["headers"])["host"] + case["path"],
        params=[tuple(pair) for pair in case["query"]],
        data=bytes.fromhex(case["body"]),
    )
    request.headers = HTTPHeaders()
    for name, value in case["headers"]:
        request.headers[name] = value  # appends: a repeated name keeps every value
    credentials = Credentials(case["accessKeyID"], case["secretAccessKey"], case.get("sessionToken"))
    signer = botocore.auth.SigV4Auth(credentials, case["service"], case["region"])
    # add_auth's steps, one by one, to keep the canonical request and the string to sign it computes.
    request.context["timestamp"] = moment.strftime(botocore.auth.SIGV4_TIMESTAMP)
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    signer._inject_signature_to_request(request, signer.signature(string_to_sign, request))
    results.append(
        {
            "canonicalRequest": canonical,
            "stringToSign": string_to_sign,
            "authorization": request.headers["Authorization"],
            "securityToken": request.headers.get("X-Amz-Security-Token"),
        }
    )
json.dump(results, sys.stdout)
