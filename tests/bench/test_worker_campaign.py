"""The SIGKILL campaign of bench/worker_campaign.py, bounded for CI: worker
processes killed at random points 25 times over a mixed workload, then every
run must end as an undisturbed run does, every submission applied, no
`once` effect repeated after its result was saved, no two advancers of a
run at once. The long run (200+ kills) is `python bench/worker_campaign.py`
and bench/worker_bench.py, whose figures README quotes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.runtime.store.postgres_db import fresh_database

ROOT = Path(__file__).resolve().parents[2]


def _campaign() -> ModuleType:
    spec = importlib.util.spec_from_file_location("worker_campaign", ROOT / "bench" / "worker_campaign.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


worker_campaign = _campaign()


@pytest.mark.slow
def test_a_bounded_sigkill_campaign_on_sqlite(tmp_path: Path) -> None:
    report = worker_campaign.campaign(f"sqlite:///{tmp_path / 'runs.db'}", runs=40, kills=25, folder=tmp_path)
    assert report.kills == 25
    assert report.ok, report.summary()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_bounded_sigkill_campaign_on_postgres(tmp_path: Path) -> None:
    with fresh_database() as url:
        report = worker_campaign.campaign(url, runs=40, kills=25, folder=tmp_path)
    assert report.kills == 25
    assert report.ok, report.summary()
