"""A --target value is parsed once, into the value every part of a run carries."""

from __future__ import annotations

import os

import pytest

from atcheck import cli
from atcheck.errors import ManifestError
from atcheck.targets.model import Credentials
from atcheck.targets.spec import DEFAULT_TARGETS, parse_target, parse_targets


def test_a_builtin_name_runs_as_processes() -> None:
    spec = parse_target("reference")
    assert (spec.name, spec.launcher, spec.implementation_name) == ("reference", "process", "reference")


def test_the_container_suffix_names_the_same_implementation() -> None:
    spec = parse_target("reference@container")
    assert (spec.name, spec.launcher, spec.implementation_name) == (
        "reference@container",
        "container",
        "reference",
    )
    assert spec.manifest == parse_target("reference").manifest


def test_the_launcher_option_applies_to_names_but_not_to_urls() -> None:
    targets = parse_targets(["arroba", "http://127.0.0.1:9"], launcher="container")
    assert {n: t.launcher for n, t in targets.items()} == {
        "arroba@container": "container",
        "url:127.0.0.1:9": "url",
    }


def test_no_target_means_the_defaults() -> None:
    assert list(parse_targets([])) == list(DEFAULT_TARGETS)


def test_url_credentials_are_values_in_the_manifest() -> None:
    spec = parse_target(
        "http://127.0.0.1:9", credentials=Credentials(account_handle="me.test", account_password="p{w}")
    )
    (service,) = spec.manifest.services
    assert service.credentials == {"account_handle": "me.test", "account_password": "p{{w}}"}
    assert spec.manifest.provisioning == "given"
    assert parse_target("http://127.0.0.1:9").manifest.provisioning == "xrpc"


def test_an_unknown_target_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match="unknown target 'nope'"):
        parse_target("nope@container")


def test_the_cli_hands_credentials_over_as_values_not_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in (
        "ATCHECK_ADMIN_PASSWORD",
        "ATCHECK_ACCOUNT_HANDLE",
        "ATCHECK_ACCOUNT_PASSWORD",
        "ATCHECK_INVITE_CODE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ATCHECK_INVITE_CODE", "invite-from-env")
    before = dict(os.environ)
    args = cli.build_parser().parse_args(
        [
            "run",
            "--target",
            "http://127.0.0.1:9",
            "--admin-password",
            "flag-secret",
            "--requirement",
            "XRPC-HTTP-01",
        ]
    )
    options = cli.run_options(args)
    assert dict(os.environ) == before
    (target,) = options.targets
    creds = target.manifest.services[0].credentials
    assert creds == {"admin_password": "flag-secret", "invite_code": "invite-from-env"}
    assert options.requirements == ("XRPC-HTTP-01",) and options.report_dir is None


def test_a_second_instance_keeps_the_launcher_and_takes_its_own_name() -> None:
    spec = parse_target("reference@container")
    pds = tuple(s for s in spec.manifest.services if s.name == "pds")
    twin = spec.instance(2, pds)
    assert (twin.name, twin.launcher, twin.manifest.name) == ("reference@container#2", "container", twin.name)
    assert [s.name for s in twin.manifest.services] == ["pds"]
    with pytest.raises(ValueError, match="start at 2"):
        spec.instance(1, pds)
