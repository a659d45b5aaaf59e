"""Client trust (issue 12 items 1 and 5; [SPEC2] "Trusting CDS Clients"): a service call or
feedback needs a JWT signed (ES384 or RS384) by a trusted issuer, for the exact URL called.
Keys are generated here; every negative is a vague 401 with ``WWW-Authenticate: Bearer``, the
reason logged and the token never."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey

from service.api.deps import now_dependency
from service.config import Settings
from service.main import create_app
from tests.conftest import NOW, REFERENCE, REPO_ROOT, reference_path

BASE = "https://cds.example.org"
SIGN = "/cds-services/opioid-safety-sign"
FEEDBACK = f"{SIGN}/feedback"
EC_ISS, RSA_ISS, JKU_ISS = (
    "https://ehr.example/ec",
    "https://ehr.example/rsa",
    "https://jku.example",
)
T = int(NOW.timestamp())
SPEC_ISS = "https://fhir-ehr.example.com/"
SPEC_JWKS = REFERENCE / "cds-hooks" / "spec-2.0.1" / "jwt-example-jwks-public.json"
EXAMPLES = json.loads((REPO_ROOT / "openapi/examples/hook-requests.json").read_text("utf-8"))
FEEDBACK_BODY = json.loads((REPO_ROOT / "openapi/examples/feedback.json").read_text("utf-8"))[
    "accepted"
]["value"]
EC_KEY = ECKey.generate_key("P-384", parameters={"kid": "ec-1"})
RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
JKU_KEY = ECKey.generate_key("P-384", parameters={"kid": "jku-1"})
STRANGER = ECKey.generate_key("P-384", parameters={"kid": "ec-1"})  # same kid, not trusted


class JwksServer(BaseHTTPRequestHandler):
    """A client's JWK Set URL on loopback; records every path asked for."""

    asked: list[str] = []  # noqa: RUF012 - shared with the test on purpose

    def do_GET(self) -> None:
        JwksServer.asked.append(self.path)
        body = json.dumps({"keys": [JKU_KEY.as_dict(private=False)]}).encode()
        if self.path == "/huge":
            body = b'{"keys": [' + b" " * 300_000 + b"]}"
        self.send_response(200 if self.path in ("/jwks", "/huge") else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def settings_for(folder: Path, jwks_url: str, **extra: Any) -> Settings:
    (folder / "rsa.json").write_text(json.dumps({"keys": [RSA_KEY.as_dict(private=False)]}))
    issuers: dict[str, list[dict[str, Any]]] = {
        "issuers": [
            {"iss": EC_ISS, "jwks": {"keys": [EC_KEY.as_dict(private=False)]}},
            {"iss": RSA_ISS, "jwks_file": "rsa.json"},
            {"iss": JKU_ISS, "jku": f"{jwks_url}/jwks"},
            {"iss": "https://missing.example", "jku": f"{jwks_url}/missing"},
            {"iss": "https://huge.example", "jku": f"{jwks_url}/huge"},
        ]
    }
    if SPEC_JWKS.exists():  # the spec's example issuer, trusted with the spec's public key
        jku = "https://fhir-ehr.example.com/jwk_uri"  # the example's jku: pinned, never fetched
        issuers["issuers"].append({"iss": SPEC_ISS, "jwks_file": str(SPEC_JWKS), "jku": jku})
    path = folder / "issuers.yaml"
    path.write_text(yaml.safe_dump(issuers))
    return Settings(auth="jwt", trusted_issuers_file=path, public_base_url=BASE, **extra)


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory, jwks_url: str) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp_path_factory.mktemp("trust"), jwks_url))
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        yield client


def claims(path: str = SIGN, iss: str = EC_ISS, **changes: Any) -> dict[str, Any]:
    value = {
        "iss": iss,
        "sub": "client-app",
        "aud": BASE + path,
        "iat": T - 10,
        "exp": T + 290,
        "jti": str(uuid.uuid4()),
        **changes,
    }
    return {k: v for k, v in value.items() if v is not None}


def token(payload: dict[str, Any], key: Key = EC_KEY, alg: str = "ES384", **header: Any) -> str:
    fields = {"alg": alg, "typ": "JWT", "kid": key.kid, **header}
    return jwt.encode({k: v for k, v in fields.items() if v}, payload, key, algorithms=[alg])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None = None) -> str:
    """A token no JOSE library would make: alg none, or HMAC keyed with a public key."""
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    mac = b"" if secret is None else hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(mac)}"


def call(client: TestClient, bearer: str | None, path: str = SIGN) -> Any:
    headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    body = FEEDBACK_BODY if path.endswith("/feedback") else EXAMPLES["order-sign-morphine"]["value"]
    return client.post(path, json=body, headers=headers)


def refused(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["diagnostics"] == "A valid bearer token is required."


# --- positives ------------------------------------------------------------------------------


def test_es384_service_call_is_answered(trusted: TestClient) -> None:
    assert call(trusted, token(claims())).status_code == 200


def test_rs384_feedback_is_answered(trusted: TestClient) -> None:
    bearer = token(claims(FEEDBACK, iss=RSA_ISS), RSA_KEY, "RS384")
    assert call(trusted, bearer, FEEDBACK).status_code == 200


def test_aud_may_be_an_array_holding_the_url(trusted: TestClient) -> None:
    payload = claims(aud=["https://other.example", BASE + SIGN])
    assert call(trusted, token(payload)).status_code == 200


def test_a_configured_jku_is_fetched_and_cached(trusted: TestClient) -> None:
    JwksServer.asked.clear()
    for _ in range(2):
        bearer = token(claims(iss=JKU_ISS), JKU_KEY)
        assert call(trusted, bearer).status_code == 200
    assert JwksServer.asked == ["/jwks"]


def test_expiry_within_the_leeway_is_accepted(trusted: TestClient) -> None:
    assert call(trusted, token(claims(exp=T - 59, iat=T - 100))).status_code == 200


def test_discovery_is_open(trusted: TestClient) -> None:
    assert trusted.get("/cds-services").status_code == 200


# --- negatives ------------------------------------------------------------------------------


def test_no_token_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, None))
    refused(call(trusted, None, FEEDBACK))


def test_not_a_jwt_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, "not.a.jwt"))


def test_expired_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, token(claims(exp=T - 61, iat=T - 100))))


def test_issued_in_the_future_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, token(claims(iat=T + 61))))


def test_a_lifetime_over_the_maximum_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, token(claims(iat=T - 10, exp=T - 10 + 3601))))


@pytest.mark.parametrize(
    "aud",
    [BASE + FEEDBACK, BASE + "/cds-services/opioid-safety-refill", "http://testserver" + SIGN,
     [BASE], 42],
    ids=["feedback-url", "other-service", "host-header", "array-without-it", "number"],
)  # fmt: skip
def test_wrong_aud_is_refused(trusted: TestClient, aud: Any) -> None:
    refused(call(trusted, token(claims(aud=aud))))


def test_feedback_with_the_service_calls_aud_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, token(claims(SIGN)), FEEDBACK))


def test_alg_none_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, unsigned({"alg": "none", "typ": "JWT", "kid": "ec-1"}, claims())))


def test_hs256_signed_with_the_public_key_is_refused(trusted: TestClient) -> None:
    public_pem = EC_KEY.as_pem(private=False)
    header = {"alg": "HS256", "typ": "JWT", "kid": "ec-1"}
    refused(call(trusted, unsigned(header, claims(), secret=public_pem)))


def test_an_ec_token_claiming_rs384_is_refused(trusted: TestClient) -> None:
    header = {"alg": "RS384", "typ": "JWT", "kid": "ec-1"}
    refused(call(trusted, unsigned(header, claims(), secret=b"x")))


def test_unknown_kid_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, token(claims(), ECKey.generate_key("P-384", parameters={"kid": "x"}))))


def test_no_kid_is_refused(trusted: TestClient) -> None:
    bearer = token(claims(), kid=None)
    refused(call(trusted, bearer))


def test_a_stranger_using_a_trusted_kid_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, token(claims(), STRANGER)))


def test_replayed_jti_is_refused(trusted: TestClient) -> None:
    bearer = token(claims())
    assert call(trusted, bearer).status_code == 200
    refused(call(trusted, bearer))


def test_untrusted_iss_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, token(claims(iss="https://evil.example"))))


def test_another_trusted_issuers_key_is_refused(trusted: TestClient) -> None:
    refused(call(trusted, token(claims(iss=RSA_ISS))))  # signed by EC_ISS's key


@pytest.mark.parametrize("missing", ["iss", "sub", "aud", "exp", "iat", "jti"])
def test_a_missing_claim_is_refused(trusted: TestClient, missing: str) -> None:
    refused(call(trusted, token(claims(**{missing: None}))))


def test_a_header_jku_not_the_issuers_is_refused_and_never_fetched(
    trusted: TestClient, jwks_url: str
) -> None:
    JwksServer.asked.clear()
    refused(call(trusted, token(claims(), jku=f"{jwks_url}/evil")))
    refused(call(trusted, token(claims(iss=JKU_ISS), JKU_KEY, jku=f"{jwks_url}/evil")))
    assert "/evil" not in JwksServer.asked


def test_the_specs_expired_example_token_is_refused(
    trusted: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    example = reference_path("cds-hooks", "spec-2.0.1", "jwt-example-token.txt")
    spec_token = example.read_text("utf-8").strip()
    caplog.set_level(logging.INFO)
    refused(call(trusted, spec_token))
    # Signed with the spec's key and naming its jku, it passes both; the example has no
    # sub (2.0.1 requires one) and expired in 2015: refused on the claims.
    assert "missing claim(s) Missing claim: 'sub'" in caplog.text
    assert "signature" not in caplog.text and "jku" not in caplog.text
    assert spec_token not in caplog.text
    assert spec_token.split(".")[2] not in caplog.text


def test_the_reason_is_logged_never_the_token(
    trusted: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    bearer = token(claims(exp=T - 3600, iat=T - 3700))
    caplog.set_level(logging.INFO)
    response = call(trusted, bearer)
    refused(response)
    assert "expired" in caplog.text and "expired" not in response.text
    for part in bearer.split("."):
        assert part not in caplog.text and part not in response.text


def test_discovery_may_be_closed(tmp_path: Path, jwks_url: str) -> None:
    app = create_app(settings_for(tmp_path, jwks_url, discovery_requires_auth=True))
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        refused(client.get("/cds-services"))
        bearer = token(claims("/cds-services"))
        assert client.get("/cds-services", headers={"Authorization": f"Bearer {bearer}"}).is_success


def test_auth_off_warns_loudly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="service.main")
    create_app(Settings(auth="off"))
    assert "AUTH IS OFF" in caplog.text


def test_no_trusted_issuers_refuses_every_call(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="service.main")
    with TestClient(create_app(Settings(auth="jwt", trusted_issuers_file=None))) as client:
        refused(call(client, token(claims())))
    assert "no trusted issuer" in caplog.text


HMAC_JWK = {"kty": "oct", "k": "c2VjcmV0", "kid": "h"}


@pytest.mark.parametrize(
    "content",
    [
        {"issuers": [{"iss": "a"}]},
        {"issuers": [{"iss": "a", "jku": "http://example.org/jwks"}]},
        {
            "issuers": [
                {"iss": "a", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}}
            ]
        },
        {"issuers": [{"iss": "a", "jku": "https://a/j", "extra": 1}]},
    ],
    ids=["no-keys", "plain-http-jku", "only-hmac-key", "unknown-key"],
)
def test_a_bad_issuers_file_stops_start_up(tmp_path: Path, content: Any) -> None:
    from service.errors import ConfigurationError

    path = tmp_path / "issuers.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigurationError):
        create_app(Settings(auth="jwt", trusted_issuers_file=path))


def test_the_issuers_own_jku_in_the_header_is_accepted(trusted: TestClient, jwks_url: str) -> None:
    bearer = token(claims(iss=JKU_ISS), JKU_KEY, jku=f"{jwks_url}/jwks")
    assert call(trusted, bearer).status_code == 200


def test_an_invalid_body_without_a_token_is_401_not_400(trusted: TestClient) -> None:
    """The token is checked before the body is validated: an unauthenticated caller learns
    nothing of the service's request contract."""
    response = trusted.post(SIGN, json={"hook": "order-sign"})
    refused(response)
    refused(trusted.post(FEEDBACK, json={"feedback": []}))


def test_malformed_json_without_a_token_is_401_and_with_one_400(trusted: TestClient) -> None:
    headers = {"content-type": "application/json"}
    refused(trusted.post(SIGN, content=b'{"hook": ', headers=headers))
    bearer = {"Authorization": f"Bearer {token(claims())}", **headers}
    response = trusted.post(SIGN, content=b'{"hook": ', headers=bearer)
    assert response.status_code == 400
    assert "not valid JSON" in response.text


@pytest.mark.parametrize("iss", ["https://missing.example", "https://huge.example"])
def test_a_jku_that_fails_refuses_the_token(
    trusted: TestClient, iss: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="service.auth")
    refused(call(trusted, token(claims(iss=iss), JKU_KEY)))
    assert "jku fetch failed" in caplog.text
