"""Legacy data directories for the import/export tests, made by the shared generator."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

# A verbatim copy of the shared legacy generator, so the tests need nothing outside the repo.
MAKE_SAMPLE = Path(__file__).resolve().parent / "make_sample.py"


@pytest.fixture
def legacy_dir(tmp_path):
    """make_sample.py OUT_DIR --predictions 500 → (directory, its MANIFEST.json)."""
    out = tmp_path / "legacy"
    subprocess.run(
        [sys.executable, str(MAKE_SAMPLE), str(out), "--predictions", "500", "--seed", "7"],
        check=True, capture_output=True,
    )
    return out, json.loads((out / "MANIFEST.json").read_text())


def write_jsonl(path: Path, lines) -> Path:
    """Write records (dicts) or raw strings, one a line."""
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line if isinstance(line, str) else json.dumps(line))
            out.write("\n")
    return path
