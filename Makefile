# The two commands of the README's quick start. Each installs what it uses that the machine lacks first: `make run`
# only what building needs (libsystemd), `make test` also what the tests use (journald, PostgreSQL, Chromium, ...).
.PHONY: run test setup setup-run

setup-run:
	scripts/install-system-packages.sh run

setup:
	scripts/install-system-packages.sh test

# The SQS example (Examples/SQSOrders): eight orders through its chain (Examples/SQSOrders/orders.yaml: retry,
# then idempotency on the embedded file store in .build/example-stores), as one Lambda invocation. The partial
# batch response (the two refused orders) on stdout; the logs (an "order charged" line per order) and the EMF
# metrics on stderr. Run it again and the six charged orders are replays: no "order charged" line, RecordsReplayed 6.
run: setup-run
	swift run sqs-orders invoke Examples/Events/sqs-orders/orders-1.json --config Examples/SQSOrders/orders.yaml

# The templates checked with cfn-lint, then the test suite, with a real journald (started for the run when none is
# running), a real PostgreSQL server of its own (in a temporary folder, on a free local port; stopped after) and a
# DynamoDB API on loopback (moto's server; stopped after),
# then every swift block of the READMEs and DocC articles checked against the code it is cut from, type-checked
# against the modules the tests built (scripts/docs-code.py). (The index store stays on: on Linux, test discovery
# reads it.)
test: setup
	scripts/lint-templates.sh
	scripts/with-journald.sh scripts/with-postgres.sh scripts/with-dynamodb.sh swift test
	scripts/docs-code.py check
