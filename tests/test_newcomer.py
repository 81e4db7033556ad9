"""Issue 18's proof: the README's "By hand, step by step" block, run as a newcomer runs it.

The commands are read from the README itself (so the README cannot drift from what works), in a fresh
folder holding only the checkout's `.dlt/` files, each as a process of its own with no flag the README
does not show. Only what a person does with their hands is done here: the sandbox gets a free port
instead of 8765 (so parallel tests cannot collide), the key `qbo keygen` prints is pasted into
`.dlt/secrets.toml`, and the consent URL `qbo connect` prints is opened (the sandbox consents at once).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.background import free_port

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## By hand, step by step"
PLACEHOLDER = "paste-the-output-of-qbo-keygen-here"
# the line each step must print (stdout or stderr), beside its exit code 0
EXPECTED = {
    "keygen": r"^[A-Za-z0-9_-]{43}=$",
    "connect": r"connected realm \d+",
    "sync": r"^realm \d+: [\d,]+ rows in \d+ requests",
    "status": r"QBO: local sandbox http://127\.0\.0\.1:\d+",
    "platform generate": r"^wrote [\d,]+ platform records to var/platform",
    "platform load": r"^[\d,]+ record\(s\) loaded",
    "transform": r"dbt build passed .*models built",
    "report drift": r"^drift report: var/reports/drift_report\.html",
    "push": r"would create \d+",
    "ask": r"ran on: +warehouse",
}


def readme_steps() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh\n") + 6)]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def _env(work: Path) -> dict[str, str]:
    """A newcomer's shell: nothing of this checkout's settings, the telemetry off as in CI."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "WAREHOUSE__", "DLT_", "QBO_"))
    }
    return env | {"PYTHONPATH": str(ROOT), "HOME": str(work)}


def _qbo(words: list[str]) -> list[str]:
    assert words[:2] == ["uv", "run"] and words[2] == "qbo", words
    return [sys.executable, "-m", "pipelines.cli", *words[3:]]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / ".dlt").mkdir()
    for name in ("config.toml", "secrets.toml.example"):
        shutil.copy(ROOT / ".dlt" / name, tmp_path / ".dlt" / name)
    return tmp_path


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def sandbox(work: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """The README's first step, in a terminal of its own."""
    (first, *_) = readme_steps()
    words = shlex.split(first.replace("8765", str(port)))
    server = subprocess.Popen(
        _qbo(words), cwd=work, env=_env(work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/_sandbox/realms", timeout=2).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"the sandbox did not answer: {server.communicate()[0][-2000:]}")
    yield server
    server.terminate()
    server.wait(timeout=30)


def _command_name(args: list[str]) -> str:
    """The command of `qbo [global options] command [subcommand] ...`, as EXPECTED names it."""
    while args and args[0].startswith("--"):
        args = args[2:]  # a global option and its value
    two = " ".join(args[:2])
    return two if two in EXPECTED else args[0]


def _connect(command: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    """`qbo connect`, and a person opening the URL it prints (the sandbox's consent screen approves)."""
    process = subprocess.Popen(
        command, cwd=work, env=_env(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("http"):
            requests.get(line.strip(), timeout=60)  # the browser follows the redirect to qbo's loopback
            break
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(command, process.returncode, "".join(seen) + out, err)


def test_the_readme_by_hand(work: Path, port: int, sandbox: subprocess.Popen[str]) -> None:
    steps = readme_steps()
    assert steps[0].startswith("uv run qbo sandbox") and len(steps) == 12, steps
    for step in steps[1:]:
        words = shlex.split(step.replace("8765", str(port)))
        if words[0] == "cp":
            shutil.copy(work / words[1], work / words[2])
            continue
        command = _qbo(words)
        name = _command_name(words[3:])
        if name == "connect":
            done = _connect(command, work)
        else:
            done = subprocess.run(
                command, cwd=work, env=_env(work), capture_output=True, text=True, timeout=600
            )
        said = done.stdout + done.stderr
        shown = f"{step}\n{said[-3000:]}"
        assert done.returncode == 0 and "Traceback" not in said, shown
        assert re.search(EXPECTED[name], said, re.MULTILINE), f"no {EXPECTED[name]!r}: {shown}"
        print(f"$ {step}\n{said[-1500:]}")
        if name == "keygen":  # pasted as the README says
            secrets = work / ".dlt" / "secrets.toml"
            secrets.write_text(secrets.read_text().replace(PLACEHOLDER, done.stdout.strip()))
    assert (work / "var" / "warehouse.duckdb").is_file()  # the README's default places, nothing else
    assert (work / "var" / "integration.sqlite").is_file()
