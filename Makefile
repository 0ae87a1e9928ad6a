# Plain entry points; each one calls scripts/dev.py, which needs only Python.
.PHONY: run test test-pg lint bench ci

run:            ## set up and serve the site on 127.0.0.1:8000 (SQLite)
	python3 scripts/dev.py serve

test:           ## the whole test suite on the configured database (SQLite by default)
	python3 scripts/dev.py test

test-pg:        ## the whole test suite on the local PostgreSQL
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python3 scripts/dev.py test

lint:
	.venv/bin/ruff check .

bench:          ## benchmarks against this machine's raw database speed (minutes)
                ## (options: make bench BENCH_ARGS="--scale 0.1 --db-prefix mybench")
	python3 scripts/dev.py manage check >/dev/null && .venv/bin/python -m bench $(BENCH_ARGS)

ci:
	bash .ci/run
