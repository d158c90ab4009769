"""The Python side of the comparison: AWS Lambda Powertools' BatchProcessor on an event, as a handler would run it.

`powertools_batch.py EVENT KIND bench N` times N iterations in one interpreter (after one untimed warm-up) of what
`batchproc bench` times: decode the event (json.loads), run every record through BatchProcessor with a no-op handler,
add and flush EMF metrics for the batch (Powertools' Metrics, to a discarded stdout), encode the response. Prints
{"records":…,"best_s":…,"median_s":…}.

`powertools_batch.py EVENT KIND once` does the job once and prints the response: run as a whole process, it is
what `batchproc process EVENT` does (import, read, decode, process, metrics, answer).
"""

import contextlib
import io
import json
import os
import sys
import time

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BatchProcessing")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "comparison")

from aws_lambda_powertools import Metrics  # noqa: E402
from aws_lambda_powertools.metrics import MetricUnit  # noqa: E402
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response  # noqa: E402

KINDS = {
    "sqs": EventType.SQS,
    "kinesis": EventType.KinesisDataStreams,
    "dynamodb": EventType.DynamoDBStreams,
    "kafka": EventType.Kafka,
}


def handler(record):
    return None


def count_records(event):
    if "Records" in event:
        return len(event["Records"])
    return sum(len(records) for records in event["records"].values())


def run_once(raw, kind, metrics):
    event = json.loads(raw)
    processor = BatchProcessor(event_type=KINDS[kind])
    response = process_partial_response(event=event, record_handler=handler, processor=processor, context=None)
    records = count_records(event)
    failed = len(response["batchItemFailures"])
    metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=records)
    metrics.add_metric(name="RecordsSucceeded", unit=MetricUnit.Count, value=records - failed)
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failed)
    metrics.flush_metrics()
    return json.dumps(response), records


def main():
    path, kind, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    metrics = Metrics()
    with open(path, "rb") as file:
        raw = file.read()
    if mode == "once":
        with contextlib.redirect_stdout(sys.stderr):
            answer, _ = run_once(raw, kind, metrics)
        print(answer)
        return
    iterations = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    times = []
    for iteration in range(iterations + 1):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            _, records = run_once(raw, kind, metrics)
        if iteration > 0:
            times.append(time.perf_counter() - start)
    times.sort()
    middle = len(times) // 2
    median = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
    print(json.dumps({"records": records, "best_s": times[0], "median_s": median}))


if __name__ == "__main__":
    main()
