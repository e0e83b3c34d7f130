# leadlake: `make run` (set up + demo pipeline) and `make test` (set up + tests).
# Works on a fresh Debian/Ubuntu machine; needs only python3 and, for Spark, Java 17+
# (installed with apt-get when missing and we are allowed to).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
LAKEHOUSE ?= ./lakehouse
# torch is pinned (CPU build) in pyproject.toml, so this install never pulls a multi-GB CUDA build.
PIP_FLAGS ?= --disable-pip-version-check --quiet

export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))

.PHONY: run test setup java chromium lint bench clean help

help:
	@echo "make run    set up .venv and run the demo pipeline on $(LAKEHOUSE)"
	@echo "make test   set up .venv and run the test suite"
	@echo "make lint   ruff"
	@echo "make bench  benchmarks under bench/ (prints ratios)"

java:
	@if ! command -v java >/dev/null 2>&1 && [ -z "$$JAVA_HOME" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Java not found: installing openjdk-17-jre-headless with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null \
	      || { echo "error: could not install Java 17; install a Java 17+ runtime and retry"; exit 1; }; \
	  else \
	    echo "error: Java 17+ is required by Spark: install it (sudo apt-get install openjdk-17-jre-headless) or set JAVA_HOME"; \
	    exit 1; \
	  fi; \
	fi

# Debian's Chromium renders the HTML report in the tests (headless); without it those tests skip, saying why.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Chromium not found: installing Debian's chromium with apt-get (the report's browser tests)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "warning: could not install chromium; the report's browser tests will be skipped"; \
	  else \
	    echo "note: chromium is not installed (sudo apt-get install chromium); the report's browser tests will be skipped"; \
	  fi; \
	fi

$(STAMP): pyproject.toml setup.py
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.10-3.12"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade pip
	$(PIP) install $(PIP_FLAGS) -e '.[dev]'
	@touch $(STAMP)

setup: java $(STAMP)

run: setup
	$(VENV)/bin/leadlake demo --lakehouse $(LAKEHOUSE)

test: setup chromium
	$(VENV)/bin/ruff check .
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/delta_io.py
	$(PY) bench/embeddings.py
	$(PY) bench/lead_model.py
	$(PY) bench/recommend.py
	$(PY) bench/clv.py
	$(PY) bench/pipeline_cpu.py
	$(PY) bench/scale.py --sizes 10000 30000 --budget-min 60

clean:
	rm -rf $(VENV) lakehouse spark-warehouse .pytest_cache
