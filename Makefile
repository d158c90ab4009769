# The two commands of the README's quick start. Both install what the machine lacks first.
.PHONY: run test setup

setup:
	scripts/install-system-packages.sh

# A 10-message SQS batch through the chain of Examples/batchproc/orders.yaml (retry, then idempotency on the file
# store in .build/idempotency-store) and fault injection: the response on stdout, logs and EMF on stderr. Run it
# again and the eight records that succeeded are replays.
run: setup
	swift run batchproc process Examples/batchproc/events/sqs-orders.json --config Examples/batchproc/orders.yaml --fail msg-03 --fail msg-07

# The templates checked with cfn-lint, then the test suite, with a real journald (started for the run when none is
# running) and a real PostgreSQL server of its own (in a temporary folder, on a free local port; stopped after).
# (The index store stays on: on Linux, test discovery reads it.)
test: setup
	scripts/lint-templates.sh
	scripts/with-journald.sh scripts/with-postgres.sh swift test
