# `make test` and `make tour` are all the set-up a fresh clone needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test

.PHONY: test tour tour-full lint typecheck pytest bench mutation docs docs-serve clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	@echo "installing tinygrad_lite and its test tools into $(VENV) ..."
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,book]"
	touch $(STAMP)

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(PY) -m ruff check tinygrad_lite tests examples benchmarks tools
	$(PY) -m ruff format --check tinygrad_lite tests examples benchmarks tools

typecheck: $(STAMP)
	$(PY) -m mypy tinygrad_lite

pytest: $(STAMP)
	$(PY) -m pytest

tour: $(STAMP)
	$(PY) examples/book_neuron.py
	$(PY) examples/micrograd_expression.py
	$(PY) -m tinygrad_lite tour --out tour_out

# the gallery's exhibits at full size (the books' tasks as in `make tour`): several minutes
# more; docs/gallery.md gives each exhibit's time
tour-full: $(STAMP)
	$(PY) -m tinygrad_lite tour --out tour_out --full

bench: $(STAMP)
	@echo "installing micrograd (the reference engine of W1 and W5) into $(VENV) ..."
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/run.py

# the documentation site, into site/ (open site/index.html, no server or network needed);
# --strict: a broken link or a missing reference fails the build
DOCS_STAMP := $(VENV)/.installed-docs

$(DOCS_STAMP): pyproject.toml $(STAMP)
	@echo "installing MkDocs, Material and mkdocstrings into $(VENV) ..."
	$(PY) -m pip install --quiet -e ".[test,book,docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(PY) -m mkdocs build --strict -d site

docs-serve: $(DOCS_STAMP)
	$(PY) -m mkdocs serve

# slow (hours on two cores): kept out of `make test`; see docs/testing.md
mutation: $(STAMP)
	$(PY) tools/mutate_ops.py --json mutation.json

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache .hypothesis
