"""Fault drills: real ``hfswim generate`` processes killed with SIGKILL, faulted, sharded, with an endpoint
killed under them; and every output searched for the credentials they were given (see
:mod:`hfswim.generation.drills`; ``benchmarks/fault_drills.py`` runs larger versions)."""

from __future__ import annotations

import pytest

from hfswim.generation.drills import (
    dead_endpoint_drill,
    faults_by_retry_kind,
    find_secrets,
    kill_resume_drill,
    shard_drill,
)

pytestmark = pytest.mark.slow  # subprocesses: a few seconds each


def test_sigkill_three_times_under_faults_then_resume(tmp_path):
    drill = kill_resume_drill(tmp_path, n_passages=24, kills=3, seed=1)
    assert drill.kills == 3 and drill.kills_survived == 3, drill.outputs[-1]
    assert drill.exit_codes[:3] == [-9, -9, -9] and drill.exit_codes[-1] == 0
    assert drill.lost == 0 and drill.duplicated == 0 and drill.resent == 0 and drill.failed == 0
    assert drill.records_final == drill.exported == drill.records_expected
    # Every kind of fault was served, and the last run's retries match the kinds it was served.
    assert {"503", "429", "drop", "garbage", "empty", "nul"} <= set(drill.faults_injected)
    assert set(drill.retries_last_run) <= set(faults_by_retry_kind(drill.faults_injected))
    assert find_secrets([tmp_path], drill.outputs) == []


def test_two_shard_jobs_in_one_folder_then_merge(tmp_path):
    drill = shard_drill(tmp_path, n_passages=30, shards=2)
    assert drill.exit_codes == [0, 0], drill.outputs
    assert drill.store_records == drill.records_expected and drill.duplicated == 0
    assert sum(drill.shard_exports) == drill.records_expected and min(drill.shard_exports) > 0
    assert drill.merged_records == drill.merged_manifest_total == drill.records_expected
    assert find_secrets([tmp_path], drill.outputs) == []


def test_endpoint_killed_mid_run_and_dead_at_start(tmp_path):
    drill = dead_endpoint_drill(tmp_path, n_passages=40)
    assert drill.exit_code == 0 and drill.failed == 0 and drill.records_final == drill.records_expected
    # Taken out of the pool at least once; a victim still closing its sockets gracefully may answer one more
    # request (counted back up) before it is taken out again, so the exact count depends on timing.
    assert drill.endpoints_down >= 1
    assert drill.dead_at_start_exit_code == 0 and drill.dead_at_start_failed == 0
    assert "does not answer" in drill.outputs[1]  # the warning, with the URL redacted
    assert find_secrets([tmp_path], drill.outputs) == []
