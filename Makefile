# Connect Number Watch: every command a developer or CI needs. Each target installs what it uses.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
AWSCLI_VENV := .venv-awscli
AWSCLI := $(AWSCLI_VENV)/bin/aws
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled
export SAM_CLI_TELEMETRY := 0

.PHONY: install run test lint typecheck validate unit integration stack bench e2e clean

$(INSTALLED): requirements-dev.txt layers/numberwatch/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The AWS CLI pins botocore exactly, so it lives in a venv of its own.
$(AWSCLI):
	$(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/pip install --quiet --upgrade pip
	$(AWSCLI_VENV)/bin/pip install --quiet awscli==1.46.3

# checkov has its own dependency tree too.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==3.3.30

install: $(INSTALLED)

## The main job on the embedded local AWS stack: no AWS account, no Docker.
run: $(INSTALLED)
	PYTHONPATH=local:layers/numberwatch:functions/scan_numbers $(BIN)/python -m localaws.walkthrough

## The whole default test suite: lint, types, template checks, unit and integration tests.
test: $(INSTALLED) $(AWSCLI) lint typecheck validate
	$(BIN)/pytest -m "unit or integration" tests

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

validate: $(INSTALLED) $(CHECKOV)
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml
	$(CHECKOV) --file template.yaml --framework cloudformation --compact --quiet --skip-download

unit: $(INSTALLED)
	$(BIN)/pytest -m unit tests

integration: $(INSTALLED) $(AWSCLI)
	$(BIN)/pytest -m integration tests

## The e2e tier: sam build + sam local invoke against the local stack (Docker; several minutes).
e2e: $(INSTALLED)
	bash tests/e2e/run.sh

## The benchmark: 1,000 to 100,000 numbers, three nights, ours against the naive baseline
## (figures only; writes benchmarks/results/). SIZES=1000,10000 for a shorter run.
bench: $(INSTALLED)
	$(BIN)/pip install --quiet -r benchmarks/requirements.txt
	PYTHONPATH=local:. $(BIN)/python -m benchmarks.run $(if $(SIZES),--sizes $(SIZES),)

## The local AWS stack in the foreground on http://127.0.0.1:4566 (HOST=..., PORT=... to change; SEED=1 seeds the demo estate;
## a non-loopback HOST also needs ALLOW_NON_LOOPBACK=1).
stack: $(INSTALLED)
	PYTHONPATH=local $(BIN)/python -m localaws --host $${HOST:-127.0.0.1} --port $${PORT:-4566} $(if $(SEED),--seed-demo,) $(if $(ALLOW_NON_LOOPBACK),--allow-non-loopback,)

clean:
	rm -rf $(VENV) $(AWSCLI_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
