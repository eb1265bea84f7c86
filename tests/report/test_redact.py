"""The redactor: exact secrets in all their spellings, and the structural rules that need no list."""

from __future__ import annotations

import json

from atcheck.report.model import Outcome, RunReport
from atcheck.report.redact import REDACTED, Redactor

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF_-123"


def test_exact_secret_in_every_spelling() -> None:
    secret = 'p@ss "wörd"/<&>'
    r = Redactor([secret])
    texts = [
        f"plain {secret} end",
        "json " + json.dumps(secret) + " end",
        "ascii json " + json.dumps(secret, ensure_ascii=True) + " end",
        "url p%40ss%20%22w%C3%B6rd%22%2F%3C%26%3E end",
        "form p%40ss+%22w%C3%B6rd%22%2F%3C%26%3E end",
        "html p@ss &quot;wörd&quot;/&lt;&amp;&gt; end",
    ]
    for text in texts:
        out = r.text(text)
        assert REDACTED in out, text
        assert "wörd" not in out and "w%C3%B6rd" not in out and "w\\u00f6rd" not in out, out


def test_longer_secret_replaced_whole_when_it_contains_a_shorter_one() -> None:
    r = Redactor(["abcd1234", "abcd1234-and-more"])
    assert r.text("x abcd1234-and-more y") == f"x {REDACTED} y"


def test_empty_secret_ignored_and_innocent_text_untouched() -> None:
    r = Redactor(["", "s3cr3t-value"])
    text = "GET /xrpc/com.atproto.repo.getRecord?repo=did:plc:abc&collection=app.bsky.feed.post -> 200"
    assert r.text(text) == text


def test_jwt_looking_strings_without_a_list() -> None:
    out = Redactor().text(f"got {JWT} back, and Bearer {JWT}.")
    assert JWT not in out
    assert "eyJ" not in out
    assert out.startswith(f"got {REDACTED} back")


def test_credential_headers_keep_their_scheme_only() -> None:
    r = Redactor()
    out = r.headers(
        {
            "Authorization": f"Bearer {JWT}",
            "authorization-x": "fine",
            "Proxy-Authorization": "opaque-credential-without-scheme",
            "Cookie": "sid=1",
            "Set-Cookie": "sid=2; HttpOnly",
            "DPoP": "proof",
            "X-Refresh-Token": "abc",
            "Content-Type": "application/json",
        }
    )
    assert out["Authorization"] == f"Bearer {REDACTED}"
    assert out["Proxy-Authorization"] == REDACTED
    assert out["Cookie"] == out["Set-Cookie"] == out["DPoP"] == out["X-Refresh-Token"] == REDACTED
    assert out["Content-Type"] == "application/json"
    assert out["authorization-x"] == "fine"


def test_unknown_auth_scheme_word_is_not_kept() -> None:
    out = Redactor().headers({"Authorization": "hunter2 more"})
    assert out["Authorization"] == REDACTED


def test_json_fields_by_name_nested_and_in_lists() -> None:
    body = json.dumps(
        {
            "handle": "alice.test",
            "password": "pw1",
            "session": {"accessJwt": "a", "refreshJwt": "b", "did": "did:plc:x"},
            "items": [{"app_password": "pw2"}, {"clientSecret": {"nested": "pw3"}}],
            "signingKey": {"kty": "EC", "crv": "secp256k1", "x": "pub", "d": "private-scalar"},
            "privateKeyHex": "deadbeef",
            "emailAuthToken": "123456",
        }
    )
    out = Redactor().body(body)
    assert out is not None
    data = json.loads(out)
    assert data["handle"] == "alice.test"
    assert data["password"] == REDACTED
    assert data["session"] == {"accessJwt": REDACTED, "refreshJwt": REDACTED, "did": "did:plc:x"}
    assert data["items"] == [{"app_password": REDACTED}, {"clientSecret": REDACTED}]
    assert data["signingKey"]["d"] == REDACTED and data["signingKey"]["x"] == "pub"
    assert data["privateKeyHex"] == REDACTED
    assert data["emailAuthToken"] == REDACTED
    for leaked in ("pw1", "pw2", "pw3", "private-scalar", "deadbeef", "123456"):
        assert leaked not in out


def test_json_body_without_secrets_keeps_its_formatting() -> None:
    body = '{ "a" :1,\n  "b": [1,2] }'
    assert Redactor().body(body) == body


def test_broken_json_and_other_text_scrubbed_by_pattern() -> None:
    r = Redactor()
    out = r.body('{"password": "pw1", "accessJwt": "x\\"y", truncated')
    assert out is not None and "pw1" not in out and 'x\\"y' not in out
    assert r.text("identifier=alice&password=pw2&x=1") == f"identifier=alice&password={REDACTED}&x=1"
    assert "pw3" not in r.text("{'password': 'pw3', 'handle': 'a'}")
    assert "pw4" not in r.text("sent Authorization: Basic pw4\nnext line")
    assert r.text("sent Authorization: Basic pw4\nnext line").endswith("\nnext line")


def test_url_userinfo_and_query_parameters() -> None:
    out = Redactor().url("http://admin:pw5@127.0.0.1:2583/xrpc/x?access_token=pw6&limit=10")
    assert out == f"http://admin:{REDACTED}@127.0.0.1:2583/xrpc/x?access_token={REDACTED}&limit=10"


def test_environment_variables_named_like_secrets() -> None:
    out = Redactor().environment({"PDS_ADMIN_PASSWORD": "pw7", "NODE": "22", "PLC_ROTATION_KEY_SECRET": "k"})
    assert out == {"PDS_ADMIN_PASSWORD": REDACTED, "NODE": "22", "PLC_ROTATION_KEY_SECRET": REDACTED}


def test_report_copy_is_scrubbed_and_original_untouched(
    report: RunReport, secrets: list[str], all_secrets: list[str]
) -> None:
    before = json.dumps(report.to_json(), default=str)
    clean = Redactor(secrets).report(report)
    after = json.dumps(clean.to_json(), default=str)
    assert json.dumps(report.to_json(), default=str) == before
    for secret in all_secrets:
        assert secret in before  # the fixture does plant it
        assert secret not in after, secret
    # Structure survives: same targets, requirements, results, in order.
    assert [t.name for t in clean.targets] == [t.name for t in report.targets]
    assert [r.test_id for r in clean.results] == [r.test_id for r in report.results]
    assert [r.outcome for r in clean.results] == [r.outcome for r in report.results]


def test_fields_added_to_the_model_later_are_scrubbed_too() -> None:
    """Redaction is by type, not by a list of fields: a new string field cannot leak by default."""
    from dataclasses import dataclass, field

    from atcheck.report.model import TestResult as Result

    @dataclass
    class Annotated(Result):
        note: str = ""
        extra: dict[str, str] = field(default_factory=dict)

    result = Annotated(
        "t",
        "a",
        [],
        "MUST",
        Outcome.FAILED,
        note="pw is s3cr3t-value",
        extra={"password": "x", "k": "s3cr3t-value"},
    )
    clean = Redactor(["s3cr3t-value"]).result(result)
    assert isinstance(clean, Annotated)
    assert clean.note == f"pw is {REDACTED}"
    assert clean.extra == {"password": REDACTED, "k": REDACTED}
    assert clean.outcome is Outcome.FAILED


def test_catalogue_text_keeps_its_words_about_tokens_but_loses_real_secrets() -> None:
    from atcheck.report.model import RequirementInfo

    statement = 'Send `Authorization: DPoP <token>` and `token_type:"DPoP"`; password=<the account password>.'
    req = RequirementInfo("OAUTH-01", "MUST", "oauth", statement + " s3cr3t-value " + JWT, "spec#token=x")
    clean = Redactor(["s3cr3t-value"]).requirement(req)
    assert clean.statement == statement + f" {REDACTED} {REDACTED}"
    assert clean.spec_ref == "spec#token=x"
    # The same words in a server's message are scrubbed by name.
    assert "DPoP" not in Redactor().text('token_type:"DPoP"')


def test_header_dumps_in_messages() -> None:
    r = Redactor()
    assert r.text("{'Authorization': 'Bearer abc', 'Accept': '*/*'}") == (
        f"{{'Authorization': '{REDACTED}', 'Accept': '*/*'}}"
    )
    assert r.text('headers {"cookie": "sid=1"}') == f'headers {{"cookie": "{REDACTED}"}}'
    assert "abc" not in r.text("got 0Authorization: Bearer abc")
