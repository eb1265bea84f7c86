# The two commands of the README, plus the checks CI runs. Every target sets up what it needs first;
# setup is idempotent and takes a couple of seconds once done.
.PHONY: setup run test selftest containers lint bench clean stability

PY := .venv/bin/python
# Property-based suites draw the same examples on every run, so a verdict changes only when a server's
# behaviour does, and the baseline of known failures stays exact. (Run atcheck directly to explore.)
export ATCHECK_DERANDOMIZE := 1

setup:
	@bash scripts/setup.sh

## The main job: stand up the default targets, run every suite, write reports/<run-id>/ and reports/latest.
run: setup
	.venv/bin/atcheck run --baseline suites/baseline.toml

## The main job RUNS times over (default 10), then whether every result got the same verdict each time
## (`atcheck report stability`, exit 1 if any differs). Each run's report stays in reports/<run-id>/.
RUNS ?= 10
stability: setup
	@set -e; dirs=""; for i in $$(seq 1 $(RUNS)); do \
	  echo "== run $$i of $(RUNS)"; \
	  .venv/bin/atcheck run --baseline suites/baseline.toml || echo "== run $$i exited non-zero"; \
	  dirs="$$dirs $$(readlink -f reports/latest)"; \
	done; .venv/bin/atcheck report stability $$dirs

## The project's tests: lint, self-tests of the harness, the suites against the default targets, then the
## reference stack under the container launcher, whose verdicts must equal the process launcher's.
test: setup lint
	bash scripts/ci-containers.sh -- $(PY) -m pytest tests suites --atcheck-baseline suites/baseline.toml

containers: setup
	bash scripts/ci-containers.sh

selftest: setup
	$(PY) -m pytest tests

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check src tests suites benchmarks
	.venv/bin/mypy

bench: setup
	@for b in benchmarks/[a-z]*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf reports/[0-9]* reports/latest .hypothesis
