# Connect Number Watch: every command a developer or CI needs. Each target installs what it uses.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
AWSCLI_VENV := .venv-awscli
AWSCLI := $(AWSCLI_VENV)/bin/aws
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# A Python 3.13 venv for `sam build` (the layer's runtime): pip pinned, on PATH ahead of pyenv's shims.
BUILD_VENV := .venv-build
PYTHON313 ?= $(shell bash tests/e2e/python313.sh)
EVENT ?= events/dry-run.json
ARCH ?= arm64
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled
export SAM_CLI_TELEMETRY := 0

.PHONY: install run run-org test test-slow lint locks-fresh lock typecheck validate unit integration stack invoke sam-invoke build \
	awscli bench bench-million bench-details bench-parse bench-write bench-org bench-report bench-cli browser screenshot e2e clean

# Every venv starts from pip pinned by hash (requirements/pip.lock), then installs one lock with
# every hash checked. $(1): the Python, $(2): the venv, $(3): its lock.
define hashed_venv
	$(1) -m venv $(2)
	$(2)/bin/pip install --quiet --require-hashes -r requirements/pip.lock
	$(if $(3),$(2)/bin/pip install --quiet --require-hashes -r $(3))
endef

# Then the project itself, editable, from nothing but this checkout (no index, no dependencies, the build
# backend from the lock just installed): it puts the `numberwatch` command in .venv/bin.
$(INSTALLED): requirements/pip.lock requirements-dev.lock pyproject.toml
	$(call hashed_venv,$(PYTHON),$(VENV),requirements-dev.lock)
	$(BIN)/pip install --quiet --no-index --no-deps --no-build-isolation --editable .
	touch $@

# The AWS CLI pins botocore exactly, so it lives in a venv of its own.
$(AWSCLI): requirements/pip.lock requirements/awscli.lock
	$(call hashed_venv,$(PYTHON),$(AWSCLI_VENV),requirements/awscli.lock)
	touch $@

# checkov has its own dependency tree too.
$(CHECKOV): requirements/pip.lock requirements/checkov.lock
	$(call hashed_venv,$(PYTHON),$(CHECKOV_VENV),requirements/checkov.lock)
	touch $@

$(BUILD_VENV)/.installed: requirements/pip.lock
	$(call hashed_venv,$(PYTHON313),$(BUILD_VENV),)
	touch $@

install: $(INSTALLED)

## The AWS CLI the README's `aws` commands mean: .venv-awscli/bin/aws.
awscli: $(AWSCLI)

## The main job on the embedded local AWS stack: no AWS account, no Docker.
run: $(INSTALLED)
	PYTHONPATH=local:layers/numberwatch:functions/scan_numbers $(BIN)/python -m localaws.walkthrough

## Organization mode on the embedded local AWS stack: 3 member accounts x 2 Regions through the state machine.
run-org: $(INSTALLED)
	PYTHONPATH=local:layers/numberwatch:functions/scan_numbers $(BIN)/python -m localaws.walkthrough_organization

## The whole default test suite: lint, types, template checks, unit and integration tests.
test: $(INSTALLED) $(AWSCLI) lint typecheck validate
	$(BIN)/pytest -m "(unit or integration) and not slow" tests

lint: $(INSTALLED) locks-fresh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Offline: fails when a lock's inputs changed without `make lock`.
locks-fresh: $(INSTALLED)
	$(BIN)/python .ci/locks.py --check

## Regenerate the locks whose inputs changed (after adding or changing a pin), with hashes for every platform.
lock: $(INSTALLED)
	$(BIN)/python .ci/locks.py --uv $(BIN)/uv

typecheck: $(INSTALLED)
	$(BIN)/mypy
	$(BIN)/mypy .ci/locks.py

validate: $(INSTALLED) $(CHECKOV)
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml member-role.yaml
	$(CHECKOV) --file template.yaml --file member-role.yaml --framework cloudformation --compact --quiet --skip-download

unit: $(INSTALLED)
	$(BIN)/pytest -m unit tests

integration: $(INSTALLED) $(AWSCLI)
	$(BIN)/pytest -m "integration and not slow" tests

## The slow integration tests (each 10 s or more: the walkthrough, the demo estate, the quota, the kill
## matrix's next-night half, the upgrade, organization mode end to end): a few minutes. CI runs them after make test.
test-slow: $(INSTALLED) $(AWSCLI)
	$(BIN)/pytest -m slow tests

## `sam build` for ARCH (arm64, or x86_64 for sam local invoke) with Python 3.13, every download
## checked against the layer's lock (SAM fetches wheels for the target platform one by one, unpinned:
## pip takes their hashes from the lock as constraints). Never from SAM's cache: SAM 1.170 reuses a
## layer's cached dependencies across architectures (x86_64 wheels in an arm64 build).
build: $(INSTALLED) $(BUILD_VENV)/.installed
	PATH="$(CURDIR)/$(BUILD_VENV)/bin:$$PATH" PIP_REQUIRE_HASHES=1 \
	  PIP_CONSTRAINT="$(CURDIR)/layers/numberwatch/requirements.txt" \
	  $(BIN)/sam build --no-cached --parameter-overrides Architecture=$(ARCH)

## The handler in-process with EVENT (default events/dry-run.json) against `make stack` on
## 127.0.0.1:4566, or a seeded stack of its own when none runs there. No Docker.
invoke: $(INSTALLED)
	PYTHONPATH=local:layers/numberwatch:functions/scan_numbers $(BIN)/python -m localaws.invoke $(EVENT)

## The same through `sam local invoke` in Docker (prepares the daemon, an image and a network; minutes the first time).
sam-invoke: $(INSTALLED)
	bash tests/e2e/sam_invoke.sh $(EVENT)

## The e2e tier: sam build + sam local invoke against the local stack (Docker; several minutes).
e2e: $(INSTALLED)
	bash tests/e2e/run.sh

## The browser tier: the monthly report in headless Chromium (Debian's `chromium`, installed with apt-get
## where it is missing and this shell may; elsewhere the tier is skipped, saying why).
browser: $(INSTALLED)
	bash tests/browser/install_chromium.sh
	$(BIN)/pytest -m browser tests/browser -p no:cacheprovider

## docs/report.png: the demo's monthly report (`make run`'s) in headless Chromium.
screenshot: $(INSTALLED)
	bash tests/browser/install_chromium.sh
	$(MAKE) --no-print-directory run
	mkdir -p docs
	$(BIN)/python -m tests.browser.chromium screenshot "$$(ls .local/report-*.html | sort | tail -1)" docs/report.png

## The monthly report at 100,000 numbers: a month of 30 nights archived in the local stack's S3, then
## render_month timed (seconds, peak RSS; writes benchmarks/results/monthly-report.*). NUMBERS=... for another size.
bench-report: $(INSTALLED)
	PYTHONPATH=local:layers/numberwatch:. $(BIN)/python -m benchmarks.monthly_report $(if $(NUMBERS),--numbers $(NUMBERS),)

## The benchmark: 1,000 to 100,000 numbers, three nights, ours against the naive baseline
## (figures only; writes benchmarks/results/). SIZES=1000,10000 for a shorter run.
bench: $(INSTALLED)
	$(BIN)/pip install --quiet --require-hashes -r benchmarks/requirements.lock
	PYTHONPATH=local:. $(BIN)/python -m benchmarks.run $(if $(SIZES),--sizes $(SIZES),)

## One account of a million numbers (10 instances of 100,000 in 2 Regions), each night until every
## target is observed (about 45 minutes here; writes benchmarks/results/million.json after every night).
bench-million: $(INSTALLED)
	$(BIN)/pip install --quiet --require-hashes -r benchmarks/requirements.lock
	PYTHONPATH=local:. $(BIN)/python -m benchmarks.run --million

## The nights with details asked for (DetailCallsPerRun 300: tags and status of what changed, then the rest in
## rotation), the naive script alongside (writes benchmarks/results/details.json, then the report; about 40
## minutes, most of it the rotation's describes at 1 a second). SIZES=1000,10000 for a shorter run.
bench-details: $(INSTALLED)
	$(BIN)/pip install --quiet --require-hashes -r benchmarks/requirements.lock
	PYTHONPATH=local:. $(BIN)/python -m benchmarks.run --details $(if $(SIZES),--sizes $(SIZES),)

## CPU of one ListPhoneNumbersV2 page of 1,000 summaries: botocore's parse against ours, three runs (seconds;
## the figures are kept in benchmarks/results/listing-parse.json).
bench-parse: $(INSTALLED)
	PYTHONPATH=layers/numberwatch:. $(BIN)/python -m benchmarks.listing_parse

## CPU of one TransactWriteItems of 99 numbers: botocore's serializer against ours, three runs (about a minute;
## the figures are kept in benchmarks/results/transaction-write.json).
bench-write: $(INSTALLED)
	PYTHONPATH=layers/numberwatch:. $(BIN)/python -m benchmarks.transaction_write

## Organization mode: one account's Regions before and after they ran in parallel, a small organization
## through the state machine, and the model of 200 accounts (writes benchmarks/results/organization.*).
bench-org: $(INSTALLED)
	PYTHONPATH=local:layers/numberwatch:functions/scan_numbers:. $(BIN)/python -m benchmarks.organization $(if $(ACCOUNTS),--accounts $(ACCOUNTS),)

## `numberwatch inventory` over an archive of 100,000 numbers: seconds and peak RSS per format
## (figures only; writes benchmarks/results/cli.*).
bench-cli: $(INSTALLED)
	PYTHONPATH=local:layers/numberwatch:. $(BIN)/python -m benchmarks.cli $(if $(NUMBERS),--numbers $(NUMBERS),)

## The local AWS stack in the foreground on http://127.0.0.1:4566 (HOST=..., PORT=... to change; SEED=1 seeds the
## demo estate; a HOST other than loopback needs ALLOW_NON_LOOPBACK=1).
stack: $(INSTALLED)
	PYTHONPATH=local $(BIN)/python -m localaws --host $${HOST:-127.0.0.1} --port $${PORT:-4566} \
	  $(if $(SEED),--seed-demo,) $(if $(ALLOW_NON_LOOPBACK),--allow-non-loopback,)

clean:
	rm -rf $(VENV) $(AWSCLI_VENV) $(CHECKOV_VENV) $(BUILD_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
