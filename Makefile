# One entry point for developer tasks. `make help` lists them.
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/tests/cluster

.PHONY: help setup build images cluster-up cluster-down kubeconfig demo lint test unit check clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed  ## create .venv with taipod (editable) and the dev tools

build: setup  ## build etcd, kube-* and kwok once into ~/.cache/taipod (about 10 min cold)
	$(PY) -m localkube build

images: setup  ## build the operator and runner images with buildah (Debian packages, installed as root), cached
	$(PY) -m localkube images

cluster-up: setup  ## start the local cluster (keeps running); prints its kubeconfig
	$(PY) -m localkube up

cluster-down: setup  ## stop the local cluster and every pod process
	$(PY) -m localkube down

kubeconfig: setup  ## print the local cluster's kubeconfig path: export KUBECONFIG=$$(make -s kubeconfig)
	@$(PY) -m localkube kubeconfig

demo: setup  ## the main job: cluster (if none configured), install taipod, run example scenarios, show their jobs
	$(PY) examples/demo.py

lint: setup  ## ruff and mypy (strict)
	$(VENV)/bin/ruff check operator tests examples
	$(VENV)/bin/ruff format --check operator tests examples --exclude examples/sdk  # the documentation's code, verbatim
	$(VENV)/bin/mypy

unit: setup  ## the tests that need no cluster
	$(VENV)/bin/pytest tests/unit

# The images (mostly downloads and package installs) build while the Go binaries (CPU) compile: a cold run's longest
# steps overlap. Each has its own lock in the cache; a failure of either fails the target.
test: lint  ## lint, then the whole suite against the local cluster (or the one of KUBECONFIG)
	@$(PY) -m localkube images --if-possible & images=$$!; \
	if [ -z "$$KUBECONFIG$$TAIPOD_TEST_KUBECONFIG" ]; then \
	  $(PY) -m localkube build --real-node || { kill $$images 2>/dev/null; exit 1; }; \
	fi; \
	wait $$images
	$(VENV)/bin/pytest

.PHONY: bench
bench: setup  ## benchmarks of issue 6 on a cluster of their own, not part of `make test` (BENCH_ARGS="--only latency")
	$(PY) -m tests.bench $(BENCH_ARGS)

clean:  ## remove the venv and caches in the repository (not the binary cache)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
