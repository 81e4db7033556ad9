"""The house (docs/architecture.md): imports point down, jobs never call each other, the product never
imports its sandbox, and no module outgrows one concept. Every import counts, deferred ones too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("sources", "pipelines", "service", "flows")
# what each top-level package may import of the others
MAY_IMPORT = {
    "sources": set(),
    "pipelines": {"sources"},
    "service": {"sources", "pipelines"},
    "flows": {"sources", "pipelines"},
}
# inside pipelines/, from the bottom up; a room may import the rooms listed before it
LAYERS = ("mapping", "store", "runtime", "jobs", "cli")
JOBS = (
    "sync",
    "backfill",
    "platform_load",
    "transform",
    "push",
    "drain",
    "report",
    "ask",
    "connect",
    "status",
    "deliver",
    "retention",
)
# the sandbox's QBO lookalike stands alone; its demo world and commands sit on top of everything
SANDBOX_ON_TOP = ("sandbox.demo", "sandbox.cli")
MAX_LINES = 600


def modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        yield dotted.removesuffix(".__init__"), path


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def room(dotted: str) -> str | None:
    """The room of a pipelines/ module: a layer, or `jobs.<job>`."""
    parts = dotted.split(".")
    if parts[0] != "pipelines" or len(parts) < 2:
        return None
    if parts[1] in LAYERS:
        return parts[1]
    return f"jobs.{parts[1]}" if parts[1] in JOBS else None


def test_top_level_packages_import_only_what_sits_below_them() -> None:
    wrong = [
        f"{name} imports {target}"
        for package in PRODUCT
        for name, path in modules(package)
        for target in imports(path)
        if (head := target.split(".")[0]) in (*PRODUCT, "sandbox", "bench", "tests")
        and head != package
        and head not in MAY_IMPORT[package]
    ]
    assert wrong == [], "\n".join(wrong)


def test_inside_pipelines_layers_point_down_and_jobs_never_sideways() -> None:
    wrong = []
    for name, path in modules("pipelines"):
        here = room(name)
        if here is None:
            continue
        for target in imports(path):
            there = room(target)
            if there is None or there == here:
                continue
            here_layer, there_layer = here.split(".")[0], there.split(".")[0]
            if here_layer == there_layer == "jobs" or LAYERS.index(there_layer) > LAYERS.index(here_layer):
                wrong.append(f"{name} ({here}) imports {target} ({there})")
    assert wrong == [], "\n".join(wrong)


def test_every_pipelines_module_has_a_room() -> None:
    homeless = [name for name, _ in modules("pipelines") if name != "pipelines" and room(name) is None]
    assert homeless == [], f"add them to a layer or JOBS (and docs/architecture.md): {homeless}"


def test_the_sandboxs_qbo_lookalike_does_not_depend_on_the_product_above_sources() -> None:
    wrong = [
        f"{name} imports {target}"
        for name, path in modules("sandbox")
        if not name.startswith(SANDBOX_ON_TOP)
        for target in imports(path)
        if target.split(".")[0] in ("pipelines", "service", "flows")
    ]
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("package", [*PRODUCT, "sandbox"])
def test_no_module_outgrows_one_concept(package: str) -> None:
    big = {
        name: lines
        for name, path in modules(package)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert big == {}, f"split by concept (docs/architecture.md): {big}"


def test_only_the_store_touches_the_integration_stores_tables() -> None:
    wrong = [
        f"{name} imports {target}"
        for package in (*PRODUCT, "sandbox")
        for name, path in modules(package)
        if not name.startswith("pipelines.store")
        for target in imports(path)
        if target.startswith("pipelines.store.schema")
    ]
    assert wrong == [], "go through IntegrationStore's table families:\n" + "\n".join(wrong)
