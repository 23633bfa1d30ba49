"""Single sign-on through OpenID Connect, against a tiny provider served on loopback by the test itself: discovery,
JWKS and a token endpoint that returns an RS256-signed id_token (and checks the PKCE verifier).

The browser's trip to the provider's sign-in page is the one step not served: the test reads the state, nonce and
PKCE challenge from the redirect, as the provider would, and comes back to the callback with a code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from apps.accounts import oidc
from apps.accounts.models import Role, User

pytestmark = pytest.mark.django_db
CLIENT_ID = "gp-resilience-test"


class Provider:
    """An OpenID provider on 127.0.0.1: ``codes`` maps an authorisation code to the claims its id_token carries."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.codes: dict[str, dict[str, Any]] = {}
        self.challenges: dict[str, str] = {}
        self.token_requests: list[dict[str, list[str]]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep the test output quiet
                pass

            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(provider.discovery())
                elif self.path == "/jwks":
                    self._json({"keys": [provider.jwk()]})
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                provider.token_requests.append(form)
                code = form.get("code", [""])[0]
                claims = provider.codes.pop(code, None)  # a code works once
                verifier = form.get("code_verifier", [""])[0]
                expected = provider.challenges.pop(code, "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if self.path != "/token" or claims is None or challenge != expected:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                self._json({"access_token": "opaque", "token_type": "Bearer", "id_token": provider.sign(claims)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict[str, Any], key: Any = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def claims(self, email: str, nonce: str, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.url, "aud": CLIENT_ID, "sub": "user-1", "email": email, "nonce": nonce,
                "iat": now, "exp": now + 300, **extra}  # fmt: skip


@pytest.fixture
def provider(settings, monkeypatch) -> Iterator[Provider]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    p = Provider()
    p.thread.start()
    settings.OIDC_ISSUER = p.url
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "test-secret"
    oidc.discovery.cache_clear()
    yield p
    p.server.shutdown()
    p.server.server_close()
    oidc.discovery.cache_clear()


def start(client) -> dict[str, str]:
    """Begin a sign-on; returns the authorisation request's parameters (what the provider's page would read)."""
    response = client.get(reverse("accounts:sso_start"))
    assert response.status_code == 302
    location = urlparse(response["Location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["client_id"] == CLIENT_ID and params["code_challenge_method"] == "S256"
    return {"path": location.path, **params}


def sign_on(client, provider: Provider, email: str, **extra: Any) -> Any:
    req = start(client)
    code = f"code-{len(provider.token_requests)}"
    claims = {**provider.claims(email, req["nonce"]), **extra.pop("claims", {})}
    provider.codes[code] = claims
    provider.challenges[code] = req["code_challenge"]
    return client.get(reverse("accounts:sso_callback"), {"code": code, "state": req["state"]})


def signed_in_as(client) -> str | None:
    return client.session.get(SESSION_KEY)


def test_single_sign_on_signs_in_the_active_account_with_the_same_email(client, provider, personas):
    icb = personas["icb_a"]
    User.objects.filter(pk=icb.pk).update(email="Imran.Shah@nhs.net")
    response = sign_on(client, provider, "imran.shah@NHS.net")
    assert response.status_code == 302 and response["Location"] == reverse("core:home")
    assert signed_in_as(client) == str(icb.pk)
    assert client.get(reverse("core:home")).status_code == 200
    assert provider.token_requests[0]["client_id"] == [CLIENT_ID]


def test_nobody_is_created_for_an_unknown_email(client, provider, personas):
    before = User.objects.count()
    response = sign_on(client, provider, "stranger@nhs.net")
    assert response.status_code == 302 and response["Location"].endswith("?sso=failed")
    assert signed_in_as(client) is None and User.objects.count() == before
    page = client.get(response["Location"]).content.decode()
    assert "Single sign-on did not sign you in" in page


def test_a_deactivated_account_is_refused(client, provider, personas):
    User.objects.filter(pk=personas["icb_b"].pk).update(email="gone@nhs.net", is_active=False)
    sign_on(client, provider, "gone@nhs.net")
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"claims": {"aud": "another-service"}},
        {"claims": {"iss": "https://elsewhere.example"}},
        {"claims": {"exp": int(time.time()) - 60}},
        {"claims": {"nonce": "replayed"}},
        {"claims": {"email_verified": False}},
    ],
    ids=["audience", "issuer", "expired", "nonce", "unverified-email"],
)
def test_an_id_token_that_fails_a_check_signs_nobody_in(client, provider, personas, bad):
    User.objects.filter(pk=personas["icb_a"].pk).update(email="imran@nhs.net")
    response = sign_on(client, provider, "imran@nhs.net", **bad)
    assert response.status_code == 302 and response["Location"].endswith("?sso=failed")
    assert signed_in_as(client) is None


def test_an_id_token_signed_by_another_key_is_refused(client, provider, personas, monkeypatch):
    User.objects.filter(pk=personas["icb_a"].pk).update(email="imran@nhs.net")
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setattr(
        provider, "sign", lambda claims, key=None: jwt.encode(claims, forger, "RS256", {"kid": provider.kid})
    )
    sign_on(client, provider, "imran@nhs.net")
    assert signed_in_as(client) is None


def test_a_callback_with_a_state_this_browser_never_sent_is_refused(client, provider, personas):
    start(client)
    response = client.get(reverse("accounts:sso_callback"), {"code": "x", "state": "forged"})
    assert response.status_code == 302 and response["Location"].endswith("?sso=failed")
    assert signed_in_as(client) is None


def test_password_sign_in_still_works_and_needs_no_provider(client, settings, personas):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens there
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    oidc.discovery.cache_clear()
    response = client.post(reverse("accounts:login"), {"username": "t-icb_a", "password": "x-test-password-1"})
    assert response.status_code == 302
    assert signed_in_as(client) == str(personas["icb_a"].pk)
    # the sign-on button goes to the provider; its being unreachable is a refused sign-on, not a server error
    client.logout()
    assert "Sign in with NHS single sign-on" in client.get(reverse("accounts:login")).content.decode()
    failed = client.get(reverse("accounts:sso_start"))
    assert failed.status_code == 302 and failed["Location"].endswith("?sso=failed")


def test_single_sign_on_is_off_unless_configured(client, personas):
    assert client.get(reverse("accounts:sso_start")).status_code == 404
    assert "single sign-on" not in client.get(reverse("accounts:login")).content.decode()
    assert User.objects.filter(role=Role.NATIONAL).exists()
