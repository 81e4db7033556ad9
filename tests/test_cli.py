"""The README's commands, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox.background import connect, free_port
from tests.demo_runs import MODELS_ONLY

ROOT = Path(__file__).resolve().parents[1]


def test_qbo_sandbox_prints_what_it_serves_and_serves_it() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--company",
            "tiny",
            "--realms",
            "2",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner: list[str] = []
        assert process.stdout is not None
        while not any("Ctrl+C" in line for line in banner):
            line = process.stdout.readline()
            assert line, "".join(banner)
            banner.append(line)
        text = "".join(banner)
        base = f"http://127.0.0.1:{port}"
        for expected in (
            base,
            "client id",
            "qbo-sandbox-client",
            "client secret",
            "webhook verifier",
            "9341450000000001",
            "9341450000000002",
        ):
            assert expected in text
        deadline = time.monotonic() + 20
        while True:
            try:
                realms = requests.get(f"{base}/_sandbox/realms", timeout=1).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert [r["realm_id"] for r in realms] == ["9341450000000001", "9341450000000002"]
        tokens = connect(base, "qbo-sandbox-client", "qbo-sandbox-secret", "9341450000000002")
        info = requests.get(
            f"{base}/v3/company/9341450000000002/companyinfo/9341450000000002",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=10,
        )
        assert info.status_code == 200 and info.json()["CompanyInfo"]["CompanyName"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_bad_cli_arguments_name_the_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "sandbox", "--company", "huge"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "huge" in result.stderr and "empty, tiny, demo, medium, large" in result.stderr


@pytest.mark.slow
def test_make_demo_runs_end_to_end() -> None:
    result = subprocess.run(["make", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "connected realm 9341450000000001 through OAuth" in out
    assert "incremental sync with nothing changed: 2 HTTP requests" in out
    section = out.split("rows per entity:")[1].split("  total")[0]
    rows = [line.split() for line in section.splitlines() if line.startswith("  ")]
    counts = {parts[0]: int(parts[1].replace(",", "")) for parts in rows}
    for entity in ("Customer", "Invoice", "Payment", "Bill", "Item", "Account", "VendorCredit", "Attachable"):
        assert counts[entity] > 0, entity
    total = int(out.split("  total")[1].split()[0].replace(",", ""))
    assert total == sum(counts.values())
    # then the platform records, the transform and the report
    assert "Customer          65 loaded, 1 refused" in out
    # before the push, after the sync that follows it, and after the webhook for the platform's feed
    assert out.count("dbt build passed") == 3
    assert "batch requests" in out and "STOPPED" not in out
    # the gateway: a record pushed in real time, a back-office edit arriving by webhook
    assert "POST /integrations/quickbooks/customers: created QBO Customer" in out
    assert "in the warehouse: 'edited in the back office'" in out
    assert "notes 'edited in the back office' (upsert, cursor" in out  # the edit in the platform's feed
    report = Path(out.split("drift report: ")[1].split()[0])
    assert report.is_file() and "QuickBooks drift report" in report.read_text(encoding="utf-8")


def test_bench_script_runs_and_prints_its_figures(tmp_path: Path) -> None:
    """`make bench` runs the same script on the large company; here it runs on the tiny one."""
    result = subprocess.run(
        [
            sys.executable,
            "bench/sandbox_query_bench.py",
            "--company",
            "tiny",
            "--rounds",
            "1",
            "--db",
            str(tmp_path / "bench.db"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sandbox query bench: Invoice has" in result.stdout
    assert "worst median page" in result.stdout and "sandbox memory: RSS" in result.stdout


def test_sync_bench_runs_and_prints_its_figures(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "bench/sync_bench.py", "--company", "tiny"),
            *("--db", str(tmp_path / "bench.db"), "--process-rounds", "1"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "records/s" in result.stdout and "peak memory of the syncing process" in result.stdout
    idle = next(line for line in result.stdout.splitlines() if line.strip().startswith("idle"))
    assert " 2 HTTP requests" in idle
    assert "no dlt step ran" in result.stdout  # the idle sync ended after its two requests
    # and as a person runs it: connect, a first sync, an idle one, each a `qbo` process
    assert "qbo sync as a process: first " in result.stdout and "(median of 1)" in result.stdout
    assert '"name": "sync.tiny.idle_process.seconds"' in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_warehouses_bench_runs_and_prints_its_figures(tmp_path: Path) -> None:
    """`bench/warehouses_bench.py --company medium --realms 4` at its smallest, on PostgreSQL; its dbt
    builds without the data tests (tests/transform and test_dbt_on_postgres run them)."""
    result = subprocess.run(
        [
            sys.executable,
            "bench/warehouses_bench.py",
            "--company",
            "tiny",
            "--realms",
            "2",
            "--warehouse",
            "postgres",
            "--db",
            str(tmp_path / "bench.db"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **MODELS_ONLY},
    )
    if "connection" in result.stderr and "5432" in result.stderr:
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 realms at once" in result.stdout and "x one realm's wall" in result.stdout
    assert "transform (dbt build)" in result.stdout
    assert "the edit is in the warehouse" in result.stdout


def test_transform_and_push_benches_run_and_print_their_figures(tmp_path: Path) -> None:
    """`bench/transform_bench.py --company large` and `bench/push_bench.py` at their smallest."""
    transform = subprocess.run(
        [sys.executable, "bench/transform_bench.py", "--company", "tiny", "--rebuild"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert transform.returncode == 0, transform.stderr[-2000:]
    assert "dbt build passed" in transform.stdout and "slowest nodes" in transform.stdout
    push = subprocess.run(
        [sys.executable, "bench/push_bench.py", "--creates", "40"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert push.returncode == 0, push.stderr[-2000:]
    assert "operations/min against a bound of 1,200/min" in push.stdout


def test_the_cli_starts_without_the_heavy_stacks() -> None:
    """Issue 19: `qbo --help` and every command's start load none of the data stacks; each command
    imports its own when it runs (`qbo ask` loads DuckDB and the store, never dlt, dbt or Prefect)."""
    heavy = {"pandas", "dlt", "dbt", "prefect", "sqlalchemy", "duckdb", "psycopg", "pyarrow", "fastapi"}
    heavy |= {"requests", "rich"}
    probe = (
        "import sys, pipelines.cli.app; "
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(heavy)!r}))))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "", loaded.stdout
    # the help itself is click's plain one: typer's rich help imported rich's markdown and traceback
    helped = (
        "import sys\nfrom pipelines.cli.app import app\n"
        "try:\n    app(['review', '--help'], prog_name='qbo')\nexcept SystemExit:\n    pass\n"
        f"heavy = {{m.split('.')[0] for m in sys.modules}} & set({sorted(heavy)!r})\n"
        "print(','.join(sorted(heavy)), file=sys.stderr)"
    )
    shown = subprocess.run([sys.executable, "-c", helped], capture_output=True, text=True, check=True)
    assert "Usage: qbo review [OPTIONS] COMMAND" in shown.stdout and shown.stderr.strip() == "", shown.stderr
    asked = (
        "import sys, pipelines.cli.ask, pipelines.ask.run, pipelines.ask.rule_parser, "
        "pipelines.store.integration_store; "
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(heavy)!r}))))"
    )
    loaded = subprocess.run([sys.executable, "-c", asked], capture_output=True, text=True, check=True)
    assert set(loaded.stdout.strip().split(",")) == {"duckdb", "sqlalchemy"}, loaded.stdout


def test_malloc_arenas_are_capped_unless_the_environment_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two arenas keep a medium sync's peak at ~750 MiB where glibc's per-thread ones left ~945 MiB
    (bench/sync_bench.py); `qbo` sets them first thing, before any thread allocates."""
    from pipelines.runtime.memory import fewer_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert fewer_malloc_arenas() is False  # the person's choice stands
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    probe = "from pipelines.runtime.memory import fewer_malloc_arenas; print(fewer_malloc_arenas())"
    capped = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert capped.stdout.strip() == "True"  # glibc took it
