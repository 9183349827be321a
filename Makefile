# ATOM: `make run` sets up and serves the app; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PRISM_VERSION := 5.14.2
# pytest-xdist workers (make test); Prism tests of one plugin stay on one worker.
TEST_WORKERS ?= 2
PRISM := .prism/node_modules/.bin/prism
export ATOM_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: install run test test-heavy e2e screenshots bench lint clean

$(BIN)/.installed: setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# Prism (the OpenAPI mock server the contract tests run the plugins against), from npm, locally.
$(PRISM):
	mkdir -p .prism
	test -f .prism/package.json || echo '{"name": "atom-prism", "private": true}' > .prism/package.json
	cd .prism && npm install --no-audit --no-fund --loglevel=error @stoplight/prism-cli@$(PRISM_VERSION)

run: install
	$(BIN)/atom db upgrade
	$(BIN)/atom users bootstrap
	$(BIN)/gunicorn -c config/gunicorn.conf.py wsgi:app

# Debian's Chromium for the end-to-end tests (Playwright drives the system browser; browser
# downloads are not available here).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Chromium (Debian package chromium) at $(CHROMIUM)"; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# Everything but the heavy suites, in under 15 minutes on two cores; then the heavy ones
# (browser journeys, real gunicorn processes, schemathesis) with `make test-heavy`. CI
# (.ci/run) runs both. Prism servers are shared by the workers, so tests spread freely.
test: install $(PRISM)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not heavy" --durations=15
	@echo "Not run here: the heavy suites (e2e, system, schemathesis): make test-heavy (CI runs them)."

test-heavy: install $(PRISM) $(CHROMIUM)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup -m heavy

# The browser journeys alone, with their screenshots in build/e2e/.
e2e: install $(CHROMIUM)
	$(BIN)/python -m pytest tests/e2e -m e2e

# The README's tour pictures, refreshed from the journeys' screenshots.
TOUR := connections-add-and-test:connection workflows-from-template:workflow \
	executions-watch-it-finish:execution monitoring-board:monitoring settings-users:settings \
	connections-list-390:phone
screenshots: e2e
	mkdir -p docs
	for pair in $(TOUR); do cp build/e2e/$${pair%%:*}.png docs/dashboard-$${pair##*:}.png; done

bench: install
	$(BIN)/python tests/perf/bench_client.py
	$(BIN)/python tests/perf/bench_engine.py
	$(BIN)/python tests/perf/bench_monitoring.py
	$(BIN)/python tests/eval/eval_language.py
	$(BIN)/python tests/eval/eval_prediction.py
	$(BIN)/python tests/eval/eval_optimisation.py
	$(BIN)/python tests/eval/eval_troubleshooting.py
	$(BIN)/python tests/eval/eval_anomaly.py

clean:
	rm -rf $(VENV) .prism build *.egg-info
