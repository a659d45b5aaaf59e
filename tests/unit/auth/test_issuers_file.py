"""The trusted issuers file (ADR 0008): the example in the docs loads (so it cannot rot), and
a malformed file stops start-up with one line naming the file and what is wrong."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from service.auth import load_issuers
from service.config import Settings
from service.errors import ConfigurationError
from tests.conftest import REPO_ROOT, reference_path

EXAMPLES = REPO_ROOT / "docs" / "examples"
EXAMPLE = EXAMPLES / "trusted-issuers.json"
SANDBOX = "https://sandbox.cds-hooks.org"


def _load(path: Path) -> dict[str, Any]:
    return dict(load_issuers(Settings(auth="jwt", trusted_issuers_file=path)))


def test_the_documented_example_loads() -> None:
    issuers = _load(EXAMPLE)
    assert list(issuers) == ["https://ehr.example.org", SANDBOX]
    ehr = issuers["https://ehr.example.org"]
    # The inline ES384 key is kept and found by its kid; nothing is fetched for it.
    key = ehr.key("ehr-example-2026-01", now=0.0)
    assert key is not None and key.as_dict()["crv"] == "P-384"
    assert "d" not in key.as_dict(private=False)
    assert issuers[SANDBOX].jku == f"{SANDBOX}/.well-known/jwks.json"


def test_the_example_names_the_sandbox_as_its_tokens_do() -> None:
    """The sandbox's iss and jku, as a captured sandbox call carries them."""
    captured = json.loads(
        reference_path(
            "cds-hooks", "sandbox", "captured-order-sign-with-medication.json"
        ).read_text("utf-8")
    )
    entry = next(e for e in json.loads(EXAMPLE.read_text("utf-8"))["issuers"] if "jku" in e)
    assert entry["iss"] == captured["jwt_payload"]["iss"]
    assert entry["jku"] == captured["jwt_header"]["jku"]


def test_the_yaml_example_in_the_docs_loads(tmp_path: Path) -> None:
    readme = (EXAMPLES / "README.md").read_text("utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme, re.S)
    assert block is not None
    (tmp_path / "issuers.yaml").write_text(block.group(1))
    ehr_keys = json.loads(EXAMPLE.read_text("utf-8"))["issuers"][0]["jwks"]
    (tmp_path / "ehr-jwks.json").write_text(json.dumps(ehr_keys))
    assert list(_load(tmp_path / "issuers.yaml")) == ["https://ehr.example.org", SANDBOX]


JKU = {"iss": "https://a.example", "jku": "https://a.example/jwks"}


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "list.json",
            json.dumps([JKU]),
            'must be an object with an "issuers" list',
        ),
        ("no-key.json", json.dumps({"issuers": [{"iss": "a"}]}), "issuers[0]: give one of"),
        (
            "extra.json",
            json.dumps({"issuers": [JKU, {**JKU, "iss": "b", "kid": "x"}]}),
            "issuers[1].kid: Extra inputs are not permitted",
        ),
        ("empty.json", json.dumps({"issuers": []}), "issuers: List should have at least 1"),
        ("broken.json", '{"issuers": [', "not valid JSON: Expecting value at line 1, column 14"),
        (
            "broken.yaml",
            "issuers:\n  - iss: a\n   jku: [\n",
            "not valid YAML: expected <block end>",
        ),
        ("issuers.txt", "{}", "a trusted issuers file is .json, .yaml or .yml"),
        (
            "hmac.json",
            json.dumps({"issuers": [{"iss": "a", "jwks": {"keys": [{"kty": "oct", "kid": "h"}]}}]}),
            "issuers[0].jwks: no EC P-384 or RSA public key with a kid",
        ),
        (
            "missing-jwks.json",
            json.dumps({"issuers": [{"iss": "a", "jwks_file": "nowhere.json"}]}),
            "issuers[0].jwks_file nowhere.json: cannot be read (No such file or directory)",
        ),
        (
            "twice.json",
            json.dumps({"issuers": [JKU, JKU]}),
            "issuers[1]: https://a.example is listed twice",
        ),
    ],
)
def test_a_malformed_file_is_one_line_naming_it(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigurationError) as raised:
        _load(path)
    message = str(raised.value)
    assert message.startswith(f"OPIOID_CDS_TRUSTED_ISSUERS_FILE {path}: "), message
    assert problem in message
    assert "\n" not in message
    assert "pydantic" not in message and "input_value" not in message


def test_a_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"nowhere\.json: cannot be read \(No such"):
        _load(tmp_path / "nowhere.json")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_stops_with_one_line_on_a_malformed_file(tmp_path: Path, workers: str) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps([JKU]))
    env = {
        **os.environ,
        "OPIOID_CDS_AUTH": "jwt",
        "OPIOID_CDS_TRUSTED_ISSUERS_FILE": str(path),
        "OPIOID_CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "OPIOID_CDS_SPOOL_PATH": str(tmp_path / "spool.jsonl"),
    }
    done = subprocess.run(  # noqa: S603 - our own command line, fixed arguments
        [sys.executable, "-m", "service", "serve", "--port", "0", "--workers", workers],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: OPIOID_CDS_TRUSTED_ISSUERS_FILE {path}: must be an object with an "
        '"issuers" list, {"issuers": [{"iss": ..., "jwks" | "jwks_file" | "jku": ...}]} '
        "(an example: docs/examples/trusted-issuers.json)"
    ]
