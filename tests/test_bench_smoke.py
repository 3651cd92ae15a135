"""The benchmark harness runs end to end at small sizes and reports numbers (never speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--only", "M1,M5", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "M1 starts/s to receipt sent" in run.stdout
    assert "M5 figures query p95" in run.stdout
    results = json.loads(out.read_text())
    assert results["machine"]["cores"] >= 1 and results["machine"]["python"]
    m1, m5 = results["measures"]["M1"], results["measures"]["M5"]
    assert "error" not in m1 and "error" not in m5, (m1, m5)
    assert m1["case_starts_per_s"]["median"] > 0 and m1["twin_starts_per_s"]["median"] > 0
    assert m1["case_start_to_row"]["p95_ms"] > 0 and isinstance(m1["ratio"], float)
    assert m5["rows"] == 5000 and m5["page_query_latest"]["p95_ms"] > 0
    assert m5["minimal_count"]["p95_ms"] > 0 and m5["page_http"]["p95_ms"] > 0
