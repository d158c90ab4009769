#!/usr/bin/env python3
"""Writes the dashboards from one description: the CloudWatch dashboard body (cloudwatch/dashboard.json), the
CloudFormation template that deploys it with its alarms (cloudwatch/template.yaml), and the Grafana dashboard
(grafana/batch-processing.json).

    python3 Dashboards/generate.py

Edit this file, not the outputs. A test (CommandLineTests, DashboardContractTests) runs batchproc and checks that
every metric name, unit and dimension set these files use is one the code emits.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# Placeholders that CloudFormation's Fn::Sub fills in.
NS, SVC, REGION = "${Namespace}", "${Service}", "${AWS::Region}"
SOURCES = ["aws:sqs", "aws:kinesis", "aws:dynamodb", "aws:kafka", "SelfManagedKafka"]
PERIOD = 300

# (title, metric, statistics): one CloudWatch widget and one Grafana panel each, one line per event source.
COUNTS = [
    ("Records received", "RecordsReceived"),
    ("Records succeeded", "RecordsSucceeded"),
    ("Records failed", "RecordsFailed"),
    ("Records skipped (policy, deadline, cancellation)", "RecordsSkipped"),
    ("Records reported to Lambda (batchItemFailures)", "RecordsReported"),
    ("Idempotent replays", "RecordsReplayed"),
    ("Retries (extra attempts)", "RecordRetries"),
]
DURATIONS = [
    ("Record duration p50 / p90 / p99 (ms, all attempts)", "RecordDuration", ["p50", "p90", "p99"]),
    ("Batch duration p50 / p99 / max (ms)", "BatchDuration", ["p50", "p99", "Maximum"]),
]


def search(metric, stat, ident, label=None, dimensions="service,event_source"):
    expression = {
        "expression": "SEARCH('{%s,%s} MetricName=\"%s\" service=\"%s\"', '%s', %d)"
        % (NS, dimensions, metric, SVC, stat, PERIOD),
        "id": ident,
    }
    if label is not None:
        expression["label"] = label
    return [expression]


def widget(title, metrics, x, y, stat="Sum", y_axis=None):
    properties = {
        "title": title,
        "region": REGION,
        "view": "timeSeries",
        "stacked": False,
        "period": PERIOD,
        "stat": stat,
        "metrics": metrics,
    }
    if y_axis:
        properties["yAxis"] = {"left": y_axis}
    return {"type": "metric", "x": x, "y": y, "width": 8, "height": 6, "properties": properties}


def cloudwatch_body():
    widgets = [
        {
            "type": "text",
            "x": 0,
            "y": 0,
            "width": 24,
            "height": 2,
            "properties": {
                "markdown": "# Batch processing: %s\n" % SVC
                + "One line per event source, from the EMF metrics swift-batch-processing writes in namespace `%s`. " % NS
                + "Failed and skipped records go back to Lambda in `batchItemFailures`; a replay is a record the "
                + "idempotency middleware answered without running it."
            },
        }
    ]
    cells = [(x, y) for y in range(2, 26, 6) for x in (0, 8, 16)]
    panels = []
    for number, (title, metric) in enumerate(COUNTS, start=1):
        panels.append((title, [search(metric, "Sum", "e%d" % number)], "Sum", None))
    rate = []
    for number, source in enumerate(SOURCES, start=1):
        dimensions = ["service", SVC, "event_source", source]
        rate.append([NS, "RecordsFailed"] + dimensions + [{"id": "f%d" % number, "visible": False, "stat": "Sum"}])
        rate.append([NS, "RecordsReceived"] + dimensions + [{"id": "r%d" % number, "visible": False, "stat": "Sum"}])
        rate.append([{"expression": "100 * FILL(f%d, 0) / r%d" % (number, number), "label": source, "id": "rate%d" % number}])
    panels.append(("Failure rate (% of records received)", rate, "Sum", {"min": 0, "label": "%", "showUnits": False}))
    for number, (title, metric, stats) in enumerate(DURATIONS, start=1):
        lines = [search(metric, stat, "d%d%d" % (number, index), label=stat) for index, stat in enumerate(stats, 1)]
        panels.append((title, lines, stats[0], None))
    panels.append(
        (
            "Invocations failed as a whole (BatchFailures)",
            [
                search("BatchFailures", "Sum", "w1"),
                search("BatchFailures", "Sum", "w2", label="event source unknown", dimensions="service"),
            ],
            "Sum",
            None,
        )
    )
    panels.append(("Cold starts (Lambda)", [search("ColdStart", "Sum", "c1", dimensions="service,function_name")], "Sum", None))
    for (title, metrics, stat, y_axis), (x, y) in zip(panels, cells):
        widgets.append(widget(title, metrics, x, y, stat=stat, y_axis=y_axis))
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": widgets}


def template(body_text):
    indented = "\n".join(("          " + line) if line else "" for line in body_text.splitlines())
    metric = lambda name: {
        "Namespace": {"Ref": "Namespace"},
        "MetricName": name,
        "Dimensions": [
            {"Name": "service", "Value": {"Ref": "Service"}},
            {"Name": "event_source", "Value": {"Ref": "EventSource"}},
        ],
    }
    return f"""AWSTemplateFormatVersion: "2010-09-09"
Description: >-
  The swift-batch-processing dashboard (records per event source by outcome, failure rate, replays, retries, record
  and batch durations) and alarms on the failure rate and on skipped records. Generated by Dashboards/generate.py.

Parameters:
  Namespace:
    Type: String
    Default: BatchProcessing
    Description: The EMF namespace (POWERTOOLS_METRICS_NAMESPACE of the functions).
  Service:
    Type: String
    Description: The service dimension (POWERTOOLS_SERVICE_NAME of the functions).
  DashboardName:
    Type: String
    Default: batch-processing
  EventSource:
    Type: String
    Default: aws:sqs
    AllowedValues: [aws:sqs, aws:kinesis, aws:dynamodb, aws:kafka, SelfManagedKafka]
    Description: The event source the alarms watch.
  FailureRateThreshold:
    Type: Number
    Default: 5
    MinValue: 0
    MaxValue: 100
    Description: Alarm when more than this percentage of the records received in five minutes failed.
  SkippedRecordsThreshold:
    Type: Number
    Default: 0
    MinValue: 0
    Description: Alarm when more records than this were skipped in five minutes.
  AlarmTopicArn:
    Type: String
    Default: ""
    Description: An SNS topic to notify, or empty for none.

Conditions:
  NotifyTopic:
    Fn::Not:
      - Fn::Equals: [Ref: AlarmTopicArn, ""]

Resources:
  Dashboard:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardName:
        Ref: DashboardName
      DashboardBody:
        Fn::Sub: |
{indented}

  FailureRateAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription:
        Fn::Sub: More than ${{FailureRateThreshold}}% of ${{EventSource}} records failed in five minutes (service ${{Service}}).
      ComparisonOperator: GreaterThanThreshold
      Threshold:
        Ref: FailureRateThreshold
      EvaluationPeriods: 1
      TreatMissingData: notBreaching
      Metrics:
        - Id: failed
          ReturnData: false
          MetricStat:
            Metric: {json.dumps(metric("RecordsFailed"))}
            Period: {PERIOD}
            Stat: Sum
            Unit: Count
        - Id: received
          ReturnData: false
          MetricStat:
            Metric: {json.dumps(metric("RecordsReceived"))}
            Period: {PERIOD}
            Stat: Sum
            Unit: Count
        - Id: rate
          Label: Failure rate (%)
          Expression: 100 * FILL(failed, 0) / received
          ReturnData: true
      AlarmActions:
        Fn::If: [NotifyTopic, [Ref: AlarmTopicArn], [Ref: AWS::NoValue]]

  SkippedRecordsAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription:
        Fn::Sub: ${{EventSource}} records were skipped (not run) in five minutes (service ${{Service}}).
      Namespace:
        Ref: Namespace
      MetricName: RecordsSkipped
      Dimensions:
        - Name: service
          Value:
            Ref: Service
        - Name: event_source
          Value:
            Ref: EventSource
      Statistic: Sum
      Unit: Count
      Period: {PERIOD}
      EvaluationPeriods: 1
      ComparisonOperator: GreaterThanThreshold
      Threshold:
        Ref: SkippedRecordsThreshold
      TreatMissingData: notBreaching
      AlarmActions:
        Fn::If: [NotifyTopic, [Ref: AlarmTopicArn], [Ref: AWS::NoValue]]

Outputs:
  DashboardURL:
    Value:
      Fn::Sub: https://${{AWS::Region}}.console.aws.amazon.com/cloudwatch/home?region=${{AWS::Region}}#dashboards:name=${{DashboardName}}
"""


def grafana():
    panels = []
    grid = [(x, y) for y in range(0, 40, 8) for x in (0, 8, 16)]

    def target(ref, metric, stat, dimensions, label=None, hide=False):
        return {
            "refId": ref,
            "datasource": {"type": "cloudwatch", "uid": "${DS_CLOUDWATCH}"},
            "queryMode": "Metrics",
            "metricQueryType": 0,
            "metricEditorMode": 0,
            "region": "$region",
            "namespace": "$namespace",
            "metricName": metric,
            "dimensions": dimensions,
            "matchExact": True,
            "statistic": stat,
            "period": str(PERIOD),
            "id": ref.lower(),
            "label": label or "${PROP('Dim.event_source')}",
            "hide": hide,
        }

    every_source = {"service": "$service", "event_source": "*"}
    entries = []
    for title, metric in COUNTS:
        entries.append((title, [target("A", metric, "Sum", every_source)], "short"))
    rate_targets = []
    for number, source in enumerate(SOURCES, start=1):
        dimensions = {"service": "$service", "event_source": source}
        rate_targets.append(target("F%d" % number, "RecordsFailed", "Sum", dimensions, hide=True))
        rate_targets.append(target("R%d" % number, "RecordsReceived", "Sum", dimensions, hide=True))
        rate_targets.append(
            {
                "refId": "RATE%d" % number,
                "datasource": {"type": "cloudwatch", "uid": "${DS_CLOUDWATCH}"},
                "queryMode": "Metrics",
                "metricEditorMode": 1,
                "region": "$region",
                "expression": "100 * FILL(f%d, 0) / r%d" % (number, number),
                "id": "rate%d" % number,
                "label": source,
                "hide": False,
            }
        )
    entries.append(("Failure rate (% of records received)", rate_targets, "percent"))
    for title, metric, stats in DURATIONS:
        targets = [
            target(chr(ord("A") + index), metric, stat, every_source, label="%s ${PROP('Dim.event_source')}" % stat)
            for index, stat in enumerate(stats)
        ]
        entries.append((title, targets, "ms"))
    entries.append(
        (
            "Invocations failed as a whole (BatchFailures)",
            [
                target("A", "BatchFailures", "Sum", every_source),
                target("B", "BatchFailures", "Sum", {"service": "$service"}, label="event source unknown"),
            ],
            "short",
        )
    )
    entries.append(
        ("Cold starts (Lambda)", [target("A", "ColdStart", "Sum", {"service": "$service", "function_name": "*"},
                                         label="${PROP('Dim.function_name')}")], "short")
    )
    for number, ((title, targets, unit), (x, y)) in enumerate(zip(entries, grid), start=1):
        panels.append(
            {
                "id": number,
                "type": "timeseries",
                "title": title,
                "gridPos": {"x": x, "y": y, "w": 8, "h": 8},
                "datasource": {"type": "cloudwatch", "uid": "${DS_CLOUDWATCH}"},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
                "targets": targets,
            }
        )
    return {
        "__inputs": [
            {
                "name": "DS_CLOUDWATCH",
                "label": "CloudWatch",
                "description": "The CloudWatch data source of the account the functions run in",
                "type": "datasource",
                "pluginId": "cloudwatch",
                "pluginName": "CloudWatch",
            }
        ],
        "__requires": [
            {"type": "datasource", "id": "cloudwatch", "name": "CloudWatch", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
        ],
        "title": "Batch processing",
        "uid": "swift-batch-processing",
        "description": "swift-batch-processing: records per event source by outcome, failure rate, replays, retries, "
        + "durations. Generated by Dashboards/generate.py.",
        "tags": ["lambda", "batch-processing"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                {"name": "namespace", "label": "Namespace", "type": "textbox", "query": "BatchProcessing",
                 "current": {"text": "BatchProcessing", "value": "BatchProcessing"}},
                {"name": "service", "label": "Service", "type": "textbox", "query": "service_undefined",
                 "current": {"text": "service_undefined", "value": "service_undefined"}},
                {"name": "region", "label": "Region", "type": "textbox", "query": "default",
                 "current": {"text": "default", "value": "default"}},
            ]
        },
        "panels": panels,
    }


def main():
    body_text = json.dumps(cloudwatch_body(), indent=2, ensure_ascii=False)
    with open(os.path.join(HERE, "cloudwatch", "dashboard.json"), "w") as out:
        out.write(body_text + "\n")
    with open(os.path.join(HERE, "cloudwatch", "template.yaml"), "w") as out:
        out.write(template(body_text))
    with open(os.path.join(HERE, "grafana", "batch-processing.json"), "w") as out:
        out.write(json.dumps(grafana(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
