"""Lexicon resolution in each library: NSID -> DID by the ``_lexicon`` DNS TXT record, then the schema record
``com.atproto.lexicon.schema/<NSID>`` in that DID's repository (lexicon §Lexicon Publication and Resolution).

atcheck publishes the schemas itself, on two accounts of the reference PDS (a helper of the library target),
serves the TXT records from its own DNS server on 127.0.0.1, and asks the library's resolver through its
harness, pointed at that server and the run's PLC (``lexicon.authority``, ``lexicon.resolve``:
src/atcheck/libs/PROTOCOL.md). Every case changes one thing against a record and a TXT record that would
resolve (:func:`atcheck.libs.cases_resolution.resolution_cases`). A library with no resolver answers
unsupported, and its tests are skipped before anything is started.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from atcheck.suite.lexicon_resolution import (
    LexiconScene,
    Resolution,
    check_resolutions,
    lexicon_scene,
    resolution_cases,
)
from atcheck.suite.libs import Library, library
from atcheck.suite.target import HelperService, TargetUnderTest

pytestmark = pytest.mark.role("lib")


@dataclass
class Scene:
    """This module's published schemas and TXT records, and the cases they make."""

    where: LexiconScene
    cases: list[Resolution]

    def check(self, lib: Library, rule: str, record_property: pytest.RecordProperty) -> None:
        cases = [c for c in self.cases if c.requirement == rule]
        check_resolutions(lib, self.where, cases, rule, lambda text: record_property("atcheck_note", text))


@pytest.fixture(scope="module")
def scene(helper_service: HelperService, target: TargetUnderTest) -> Iterator[Scene]:
    with lexicon_scene(helper_service, target, library(target)) as where:
        yield Scene(where, resolution_cases(where))


@pytest.mark.requirement("LEX-RES-01")
def test_authority_is_the_txt_record_at_the_reversed_group_name(
    lib: Library, scene: Scene, record_property: pytest.RecordProperty
) -> None:
    """Spec: "the NSID `edu.university.dept.lab.blogging.getBlogPost` has a "name" `getBlogPost`. Removing the
    name and reversing the rest of the NSID gives an "authority domain name" of
    `blogging.lab.dept.university.edu`. To link the authority to a specific DID ..., a DNS TXT record with
    the name `_lexicon.blogging.lab.dept.university.edu` and value `did=did:plc:ewvi7nxzyoun6zhxrhs64oiz`
    (note the `did=` prefix) would be created." The right record resolves (``lexicon.authority``); one at
    any other name (unreversed, without `_lexicon.`, at `_atproto.`), or without `did=`, does not."""
    scene.check(lib, "LEX-RES-01", record_property)


@pytest.mark.requirement("LEX-RES-02")
def test_resolution_is_not_hierarchical(
    lib: Library, scene: Scene, record_property: pytest.RecordProperty
) -> None:
    """Spec: "If the DNS TXT resolution for `_lexicon.blogging.lab.dept.university.edu` failed, the resolving
    service would *NOT* try `_lexicon.lab.dept.university.edu` or
    `_lexicon.getBlogPost.blogging.lab.dept.university.edu` or `_lexicon.university.edu`, or any other domain
    name. The Lexicon resolution would simply fail." A TXT record only at a parent or child name resolves
    nothing, and the only `_lexicon` name the library may ask the DNS server is the exact one."""
    scene.check(lib, "LEX-RES-02", record_property)


@pytest.mark.requirement("LEX-RES-03")
def test_the_schema_is_the_nsid_record_in_the_authority_repo(
    lib: Library, scene: Scene, record_property: pytest.RecordProperty
) -> None:
    """Spec: "Finding the DID, it would proceed with atproto DID resolution, look for a PDS, and then fetch
    the relevant record. The overall AT-URI for the record would be `at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/
    com.atproto.lexicon.schema/edu.university.dept.lab.blogging.getBlogPost`." The resolver answers that
    record (``lexicon.resolve``: its AT-URI, its CID by atcheck's oracle, its document), and nothing stored
    in another repository or collection."""
    scene.check(lib, "LEX-RES-03", record_property)


@pytest.mark.requirement("LEX-RES-08")
def test_a_schema_record_breaking_its_rules_is_refused(
    lib: Library, scene: Scene, record_property: pytest.RecordProperty
) -> None:
    """Spec, of the record's fields: "`lexicon`: integer, indicates the overall version of the Lexicon
    (currently `1`)"; "`id`: the NSID of this Lexicon. Must be a simple NSID (no fragment), and must match the
    record key". The spec sets these on the record, not on resolvers; a resolver that hands such a record out
    as the schema of the NSID it resolved is reported at SHOULD (catalogue LEX-RES-08)."""
    scene.check(lib, "LEX-RES-08", record_property)
