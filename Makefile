# The two commands of the README's quick start. Both install what the machine lacks first.
.PHONY: run test setup

setup:
	scripts/install-system-packages.sh

# A 10-message SQS batch through retry and fault injection: the response on stdout, logs and EMF on stderr.
run: setup
	swift run batchproc process Examples/events/sqs-orders.json --fail msg-03 --fail msg-07 --max-attempts 2

# The test suite, with a real journald (started for the run when none is running).
test: setup
	scripts/with-journald.sh swift test
