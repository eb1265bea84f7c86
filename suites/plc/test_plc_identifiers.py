"""The did:plc identifier form (did-plc §Identifier Syntax): what a directory creates and lists.

"The identifier part is 24 characters long, including only characters from the `base32` encoding set",
"the overall identifier length is 32 characters", "the entire identifier is lower-case". The DID is the
first 24 base32 characters of the genesis operation's hash, so a directory that checked only a prefix of the
hash, or not the length, would create DIDs of other forms. (What the PDSes of a run mint is judged by the
identity suite; the directory's ``/export``, which would list every DID it holds, is empty on the reference's
in-memory directory, ID-PLC-10.)
"""

from __future__ import annotations

import pytest

from atcheck.suite import XrpcClient
from atcheck.suite.plc import WRONG_FORM, expect_refused, new_identity

pytestmark = [pytest.mark.needs("plc.directory"), pytest.mark.role("plc")]

_BY_NAME = {m.name: m for m in WRONG_FORM}


@pytest.mark.requirement("SYN-DID-08", "ID-PLC-04")
@pytest.mark.parametrize("name", sorted(_BY_NAME))
def test_a_did_of_the_wrong_form_is_not_created(plc: XrpcClient, name: str) -> None:
    """did-plc §Identifier Syntax: "The identifier part is 24 characters long, including only characters
    from the `base32` encoding set." A valid genesis operation posted under a DID of another length, or
    with a character outside ``[a-z2-7]``, built from the operation's own hash, is refused (4xx) and no
    log exists for that DID afterwards."""
    mutation = _BY_NAME[name]
    did, op = mutation.build(new_identity(plc))
    expect_refused(plc, did, op, mutation.why)
