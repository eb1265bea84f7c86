"""The built-in manifests' container tables: same service as the process table, by construction.

reference@container must give the same results as reference (process); a container env that drifts from the
process env would make them differ for reasons that are ours, not the implementation's.
"""

from __future__ import annotations

import pytest

from atcheck.targets.manifest import builtin_manifests

#: Keys whose container value differs on purpose, and why.
CONTAINER_ONLY = {
    "ATCHECK_BIND_HOST": "the start scripts bind 127.0.0.1 by default; a published port needs {host}",
}
DIFFERENT = {
    "PDS_DID_PLC_URL": "the PLC by its network alias ({plc.url}), not localhost:port ({plc.host_url})",
}


@pytest.mark.parametrize("service", ["plc", "pds"])
def test_reference_container_table_matches_its_process_table(service: str) -> None:
    spec = next(s for s in builtin_manifests()["reference"].services if s.name == service)
    assert spec.process is not None and spec.container is not None
    assert spec.container.image == "atcheck/reference"
    assert spec.container.command == spec.process.command
    process_env, container_env = spec.process.env, spec.container.env
    assert set(container_env) - set(process_env) == set(CONTAINER_ONLY)
    assert container_env["ATCHECK_BIND_HOST"] == "{host}"
    assert set(process_env) == set(container_env) - set(CONTAINER_ONLY)
    differing = {k for k in process_env if process_env[k] != container_env[k]}
    assert differing <= set(DIFFERENT)


def test_skyware_labeler_container_table_matches_its_process_table() -> None:
    """skyware-labeler@container: the process env but for the bind host and the PLC's network alias."""
    (spec,) = builtin_manifests()["skyware-labeler"].services
    assert spec.process is not None and spec.container is not None
    assert spec.container.image == "atcheck/skyware-labeler"
    assert spec.container.command == spec.process.command
    process_env, container_env = spec.process.env, spec.container.env
    assert set(container_env) - set(process_env) == set(CONTAINER_ONLY)
    assert container_env["ATCHECK_BIND_HOST"] == "{host}"
    differing = {k for k in process_env if process_env[k] != container_env[k]}
    assert differing == {"PLC_URL"} and container_env["PLC_URL"] == "{plc.url}"
