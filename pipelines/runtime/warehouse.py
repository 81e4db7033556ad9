"""The warehouse every loader writes to: one DuckDB file, dlt pipelines sized so memory stays flat.

DuckDB takes 80% of RAM by default and a merge into a million-row table uses it: the cap makes it
spill to disk instead. Its default load files are SQL INSERT statements, which it parses whole (a
million invoices do not fit in memory): parquet streams. dlt writes one file per table and step
unless told otherwise: rotating them keeps normalising and loading a million invoices to bounded
files; extracting one entity at a time and loading one job at a time keep only one entity's
pages and one merge in memory. The dlt settings are environment defaults, so a user can override them
the dlt way (EXTRACT__NEXT_ITEM_MODE, LOAD__WORKERS, ...).
(bench/sync_bench.py measures all three.)
"""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import dlt

# imported whole here, on the main thread: dlt's extract threads look pyarrow and pandas up in
# sys.modules, and one of them finding it half-imported by another thread fails the sync ("partially
# initialized module 'pyarrow'", "... 'pandas' has no attribute 'DataFrame'") when realms run in parallel
import pandas  # noqa: F401
import pyarrow  # noqa: F401
from dlt.pipeline.pipeline import Pipeline

log = logging.getLogger("qbo.warehouse")

DUCKDB_CONFIG = {"memory_limit": "256MB", "threads": 2, "preserve_insertion_order": False}
LOADER_FILE_FORMAT = "parquet"
QBO_DATASET = "raw_qbo"  # every realm's QBO records, one table per entity
PLATFORM_DATASET = "raw_platform"  # the platform's records, as its DTOs
PUSH_DATASET = "raw_push"  # the push log
DLT_LIMITS = {
    # one resource at a time (its page and buffers), not a page of every entity at once
    "EXTRACT__NEXT_ITEM_MODE": "fifo",
    "EXTRACT__DATA_WRITER__BUFFER_MAX_ITEMS": "1000",
    "EXTRACT__DATA_WRITER__FILE_MAX_ITEMS": "100000",
    "NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS": "100000",
    "NORMALIZE__DATA_WRITER__BUFFER_MAX_ITEMS": "2000",
    # one load job at a time: DuckDB has one writer, and two merges would share its memory cap
    "LOAD__WORKERS": "1",
}


def warehouse_destination(warehouse: Path) -> Any:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.destinations.duckdb({"database": str(warehouse), "global_config": dict(DUCKDB_CONFIG)})


def warehouse_pipeline(name: str, warehouse: Path, pipelines_dir: Path, dataset: str) -> Pipeline:
    """A dlt pipeline into `dataset` of the warehouse, its state kept under `pipelines_dir`."""
    for key, value in DLT_LIMITS.items():
        os.environ.setdefault(key, value)
    return dlt.pipeline(
        pipeline_name=name,
        destination=warehouse_destination(warehouse),
        dataset_name=dataset,
        pipelines_dir=str(pipelines_dir),
        progress="log" if logging.getLogger("qbo").isEnabledFor(logging.INFO) else None,
    )


def qbo_pipeline(realm_id: str, warehouse: Path, pipelines_dir: Path) -> Pipeline:
    return warehouse_pipeline(f"qbo_{realm_id}", warehouse, pipelines_dir, QBO_DATASET)


def finish_pending(pipeline: Pipeline, load_lock: AbstractContextManager[Any]) -> None:
    """Normalise and load what a killed run left behind, so its checkpoint lands before a new one."""
    if not pipeline.has_pending_data:
        return
    log.warning("pipeline %s: finishing an interrupted load first", pipeline.pipeline_name)
    if pipeline.list_extracted_load_packages():
        pipeline.normalize()
    if pipeline.list_normalized_load_packages():
        with load_lock:
            pipeline.load()


def root_cause(exc: BaseException) -> BaseException:
    """dlt wraps what a source raised in PipelineStepFailed; the typed QBO error is underneath."""
    seen = exc
    while True:
        inner = getattr(seen, "exception", None) or seen.__cause__
        if inner is None or inner is seen:
            return seen
        seen = inner
