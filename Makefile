# The README's two commands: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
VENV := .venv
COPRODUCE := $(VENV)/bin/coproduce
export RASA_TELEMETRY_ENABLED := false

.PHONY: run test install serve bench clean

## Install if needed, train if the data changed, start the assistant and open the chat.
run: install
	@$(COPRODUCE) run

## Install if needed and run every test.
test: install
	@bash scripts/test.sh

## Create .venv with Python 3.10 and install the project (skipped when up to date).
install:
	@bash scripts/bootstrap.sh

## Start the Rasa and action servers only (REST on 127.0.0.1:5005).
serve: install
	@$(COPRODUCE) serve

## Print the benchmark figures (run by hand, not in CI).
bench: install
	@for script in bench/*.py; do echo "== $$script"; $(VENV)/bin/python $$script || exit 1; done

## Remove runtime data and models (answers in var/ are deleted!).
clean:
	rm -rf var models
