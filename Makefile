# Two entry points for a fresh machine with Python 3.11+ and the package registries:
#   make demo   runs samestory on the bundled example articles
#   make test   runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLES ?= ../shared/examples
OUT ?= out

.PHONY: demo test bench-extraction bench-dedup bench-embeddings bench-scorer train-scorer bench-cluster train-linker bench-spark bench-bad-input clean-venv

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	@mkdir -p $(OUT)
	$(BIN)/samestory clean $(EXAMPLES)/*.txt -o $(OUT)/examples.cleaned.jsonl
	@$(BIN)/python -c "import json,sys; [print(f\"{r['date'] or '(no date)'}  {r['byline'] or '(no byline)'}  |  {r['title']}\n  {len(r['text'].split())} words kept, {len(r['removed'])} lines removed: \" + '; '.join(f'{w}' for w in r['removed_reasons'])) for r in map(json.loads, open('$(OUT)/examples.cleaned.jsonl'))]"
	@echo "Full records: $(OUT)/examples.cleaned.jsonl"
	@echo
	$(BIN)/samestory dedup --no-clean $(OUT)/examples.cleaned.jsonl -o $(OUT)/examples.dedup.csv
	@cat $(OUT)/examples.dedup.csv
	@echo
	rm -rf $(OUT)/demo.store
	$(BIN)/samestory cluster --no-clean --store $(OUT)/demo.store $(OUT)/examples.cleaned.jsonl -o $(OUT)/examples.stories.csv
	@cat $(OUT)/examples.stories.csv
	@echo
	$(BIN)/samestory story --store $(OUT)/demo.store --all --min-size 1
	@echo
	$(BIN)/samestory compare $(EXAMPLES)/*.txt
	@echo
	@echo "Open the stories in a browser:  $(BIN)/samestory serve --store $(OUT)/demo.store   then visit http://127.0.0.1:8000/"
	@echo "(API docs at http://127.0.0.1:8000/docs)"

test: $(BIN)/.installed
	$(BIN)/ruff check --quiet samestory tests bench
	$(BIN)/python -m pytest -q

bench-extraction: $(BIN)/.installed
	$(BIN)/python bench/extraction.py

bench-dedup: $(BIN)/.installed
	$(BIN)/python bench/dedup.py

bench-embeddings: $(BIN)/.installed
	$(BIN)/python bench/embeddings.py

bench-scorer: $(BIN)/.installed
	$(BIN)/python bench/scorer.py

train-scorer: $(BIN)/.installed
	$(BIN)/python bench/train_scorer.py

bench-cluster: $(BIN)/.installed
	$(BIN)/python bench/cluster.py

train-linker: $(BIN)/.installed
	$(BIN)/python bench/train_linker.py --baseline

bench-spark: $(BIN)/.installed
	$(BIN)/python bench/spark.py

bench-bad-input: $(BIN)/.installed
	$(BIN)/python bench/bad_input.py

clean-venv:
	rm -rf $(VENV)
