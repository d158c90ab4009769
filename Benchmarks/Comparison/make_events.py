"""Writes the comparison's events: SQS, Kinesis, DynamoDB Streams and Kafka (MSK), 1,000 and 10,000 records each.

The records look like what Lambda delivers (the fields of AWS's sample events) with an order as JSON for payload,
so that both sides read, decode and answer the same bytes. Deterministic: the same files every run.
"""

import base64
import json
import random
import sys
from pathlib import Path


def order(rng, i):
    return {
        "orderId": f"order-{i:07d}",
        "customer": {"id": rng.randrange(10**6), "name": "Zoë Ünal", "email": f"customer{i}@example.com"},
        "items": [{"sku": f"SKU-{rng.randrange(1000):04d}", "quantity": rng.randrange(1, 5), "price": 19.99}
                  for _ in range(3)],
        "note": "Leave at the door \u2014 ring twice",
    }


def sqs(count, rng):
    records = []
    for i in range(count):
        records.append({
            "messageId": f"059f36b4-87a3-44ab-83d2-{i:012d}",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + base64.b64encode(rng.randbytes(60)).decode(),
            "body": json.dumps(order(rng, i)),
            "attributes": {
                "ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185",
            },
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:orders",
            "awsRegion": "us-east-2",
        })
    return {"Records": records}


def kinesis(count, rng):
    records = []
    for i in range(count):
        sequence = f"49590338271490256608559692538361571095921575989136{i:06d}"
        records.append({
            "kinesis": {
                "kinesisSchemaVersion": "1.0", "partitionKey": f"customer-{rng.randrange(100)}",
                "sequenceNumber": sequence,
                "data": base64.b64encode(json.dumps(order(rng, i)).encode()).decode(),
                "approximateArrivalTimestamp": 1545084650.987,
            },
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": f"shardId-000000000006:{sequence}", "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role", "awsRegion": "us-east-2",
            "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/clicks",
        })
    return {"Records": records}


def dynamodb(count, rng):
    records = []
    for i in range(count):
        image = {
            "Id": {"N": str(i)}, "Customer": {"S": f"customer{i}@example.com"},
            "Total": {"N": f"{rng.randrange(10000) / 100:.2f}"}, "Paid": {"BOOL": rng.random() < 0.5},
            "Items": {"L": [{"M": {"Sku": {"S": f"SKU-{rng.randrange(1000):04d}"}, "Qty": {"N": "2"}}}
                            for _ in range(2)]},
        }
        records.append({
            "eventID": f"{i:032x}", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-2",
            "dynamodb": {
                "ApproximateCreationDateTime": 1428537600, "Keys": {"Id": {"N": str(i)}},
                "NewImage": image, "OldImage": image, "SequenceNumber": f"{4421584500000000017450439091 + i}",
                "SizeBytes": 59, "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-2:123456789012:table/Orders/stream/2015-06-27T00:48:05.899",
        })
    return {"Records": records}


def kafka(count, rng):
    partitions = {}
    for i in range(count):
        partition = i % 4
        partitions.setdefault(f"orders-{partition}", []).append({
            "topic": "orders", "partition": partition, "offset": i // 4, "timestamp": 1545084650987,
            "timestampType": "CREATE_TIME",
            "key": base64.b64encode(f"customer-{rng.randrange(100)}".encode()).decode(),
            "value": base64.b64encode(json.dumps(order(rng, i)).encode()).decode(),
            "headers": [{"traceparent": list(b"00-abc-def-01")}],
        })
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:us-east-2:123456789012:cluster/orders/abc",
        "bootstrapServers": "b-1.orders.kafka.us-east-2.amazonaws.com:9092",
        "records": partitions,
    }


MAKERS = {"sqs": sqs, "kinesis": kinesis, "dynamodb": dynamodb, "kafka": kafka}


def label(count):
    return f"{count // 1000}k"


def main():
    """`make_events.py FOLDER [COUNT...]`: every source at each count (1,000 and 10,000 unless given)."""
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "events")
    counts = [int(argument) for argument in sys.argv[2:]] or [1000, 10000]
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in MAKERS.items():
        for count in counts:
            path = folder / f"{name}-{label(count)}.json"
            if count > 10000 and path.exists():
                continue  # large events take a while to make, and are the same every time
            rng = random.Random(f"{name}-{count}")
            path.write_text(json.dumps(make(count, rng)))


if __name__ == "__main__":
    main()
