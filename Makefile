# cloud_registry.auth — developer entry points.
#   make demo   run the local demo (local registry with token auth + local fleet)
#   make test   the whole suite: lint, sanity, unit, integration, molecule (both CI matrix legs)
#   make docs   lint the documentation and build the collection docsite (.tmp/docsite/build/html)
#   make kube   build (or reuse) etcd, kube-apiserver, kube-controller-manager, kubelet, crictl
SHELL := /bin/bash
ROOT := $(CURDIR)
PY311 ?= $(shell command -v python3.11 2>/dev/null || echo $(HOME)/.pyenv/versions/3.11.7/bin/python3.11)
PY312 ?= $(shell ls $$(pyenv root 2>/dev/null || echo $(HOME)/.pyenv)/versions/3.12*/bin/python3.12 2>/dev/null | tail -n 1)
PY313 ?= $(shell ls $$(pyenv root 2>/dev/null || echo $(HOME)/.pyenv)/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1)
COLL := $(ROOT)/.tmp/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLL)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := true

.PHONY: deps system-deps venv venv312 venv313 venv-eda venv-docs docs dockerd collection kube demo test lint sanity unit integration molecule perf base-image ee clean

deps: system-deps venv collection
system-deps:
	@tests/setup/system-deps.sh
venv: .venv/.stamp
.venv/.stamp: requirements.txt requirements-test.txt tests/setup/constraints-py311.txt
	$(PY311) -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -c tests/setup/constraints-py311.txt -r requirements-test.txt ansible-core ansible
	touch $@
# ansible-core 2.20 (Python 3.12): only ansible-test sanity runs there, so every core in
# meta/runtime.yml's requires_ansible is checked
venv312: .venv312/.stamp
.venv312/.stamp: tests/setup/constraints-py312.txt
	@test -n "$(PY312)" || { echo "python3.12 not found (pyenv)"; exit 1; }
	$(PY312) -m venv .venv312
	.venv312/bin/pip install -q --upgrade pip
	.venv312/bin/pip install -q -c tests/setup/constraints-py312.txt ansible-core
	touch $@
venv313: .venv313/.stamp
.venv313/.stamp: requirements.txt requirements-test.txt tests/setup/constraints-py313.txt
	@test -n "$(PY313)" || { echo "python3.13 not found (pyenv)"; exit 1; }
	$(PY313) -m venv .venv313
	.venv313/bin/pip install -q --upgrade pip
	.venv313/bin/pip install -q -c tests/setup/constraints-py313.txt -r requirements-test.txt ansible-core ansible
	touch $@
# ansible-rulebook (Event-Driven Ansible, needs Java 17) for the rulebook tests: its own venv,
# its pyparsing range excludes the main venv's pin
venv-eda: .venv-eda/.stamp
.venv-eda/.stamp: requirements.txt tests/setup/constraints-eda.txt
	$(PY311) -m venv .venv-eda
	.venv-eda/bin/pip install -q --upgrade pip
	.venv-eda/bin/pip install -q -c tests/setup/constraints-eda.txt -r requirements.txt ansible-rulebook ansible-core
	touch $@
# antsibull-docs + Sphinx for the collection docsite (lint stage, docsite test, make docs):
# their own venv and pins, like the rulebook's
venv-docs: .venv-docs/.stamp
.venv-docs/.stamp: tests/setup/constraints-docs.txt
	$(PY311) -m venv .venv-docs
	.venv-docs/bin/pip install -q --upgrade pip
	.venv-docs/bin/pip install -q -c tests/setup/constraints-docs.txt antsibull-docs ansible-core sphinx sphinx-ansible-theme ansible-pygments
	touch $@
collection:
	@mkdir -p $(COLL)/ansible_collections/cloud_registry
	@ln -sfn $(ROOT) $(COLL)/ansible_collections/cloud_registry/auth
dockerd: system-deps
	@tests/setup/dockerd.sh

kube: system-deps
	@tests/setup/kube-build.sh >/dev/null

demo: deps dockerd
	@PATH=$(ROOT)/.venv/bin:$$PATH scripts/demo.sh

# the prerequisites in parallel: the Kubernetes build (CPU) beside the venvs (network)
test:
	@$(MAKE) --no-print-directory -j3 deps venv312 venv313 venv-eda venv-docs dockerd kube
	@tests/setup/run-tests.sh

docs: deps venv-docs
	@tests/setup/docs-build.sh

lint: deps venv-docs
	@PATH=$(ROOT)/.venv/bin:$$PATH tests/setup/run-tests.sh lint
sanity: deps venv312 venv313
	@PATH=$(ROOT)/.venv/bin:$$PATH tests/setup/run-tests.sh sanity
unit: venv venv313 collection  # Python only: no apt, no gcloud (systemd-analyze checks skip without it)
	@tests/setup/run-tests.sh unit
integration: deps venv-docs dockerd kube
	@tests/setup/run-tests.sh integration
molecule: deps dockerd kube
	@tests/setup/run-tests.sh molecule
base-image: dockerd
	@tests/setup/base-image.sh
ee: deps dockerd
	@tests/setup/ee-build.sh
# PERF_ARGS go to every bench (e.g. PERF_ARGS='--sizes 10,100 --repeats 3');
# PERF_REPORT_DIR=tests/perf/reports keeps the report for the docs
perf: deps dockerd kube
	@PATH=$(ROOT)/.venv/bin:$$PATH tests/perf/run-all.sh $(PERF_ARGS)

clean:
	rm -rf .tmp tests/output .pytest_cache
