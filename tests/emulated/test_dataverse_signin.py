"""Every sign-in method against a local fake identity endpoint (HTTPS on 127.0.0.1, self-signed CA).

The fake serves OIDC discovery, the v2 token endpoint (client secret, certificate assertion checked against
the certificate, federated assertion, device code), the device-code endpoint, Azure DevOps' OIDC endpoint
and the App Service managed-identity endpoint. The Azure CLI is a stub ``az`` script on PATH.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import ssl
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from seeder.dataverse import AuthConfig, auth_from_options, token_provider
from seeder.errors import AuthError

TENANT = "00000000-0000-0000-0000-0000000000aa"
CLIENT = "00000000-0000-0000-0000-0000000000bb"
SECRET = "s3cret-value-for-tests"
RESOURCE = "https://contoso.crm.dynamics.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt(claims: dict) -> str:
    return ".".join([b64url(b'{"alg":"none","typ":"JWT"}'), b64url(json.dumps(claims).encode()), ""])


def make_cert(common_name: str, *, ip: str | None = None) -> tuple[bytes, bytes, rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=2)))
    if ip:
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), key, cert


class FakeIdentity:
    def __init__(self, app_cert: x509.Certificate) -> None:
        self.app_cert = app_cert
        self.grants: list[str] = []
        self.base = ""

    def token_response(self, subject: str) -> dict:
        client_info = b64url(json.dumps({"uid": "user-oid", "utid": TENANT}).encode())
        id_token = jwt({"iss": f"{self.base}/{TENANT}/v2.0", "sub": subject, "aud": CLIENT, "oid": "user-oid",
                        "tid": TENANT, "preferred_username": "maker@contoso.com",
                        "exp": int(time.time()) + 3600, "iat": int(time.time())})
        return {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                "access_token": jwt({"aud": RESOURCE, "sub": subject, "exp": int(time.time()) + 3599}),
                "refresh_token": "rt-" + subject, "id_token": id_token, "client_info": client_info,
                "scope": f"{RESOURCE}/.default"}

    def check_certificate_assertion(self, assertion: str) -> bool:
        head, body, sig = assertion.split(".")
        header = json.loads(unb64url(head))
        if header.get("alg") == "PS256":
            if str(header.get("x5t#S256", "")).rstrip("=") != b64url(self.app_cert.fingerprint(hashes.SHA256())):
                return False
            pad: padding.AsymmetricPadding = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
        else:
            if str(header.get("x5t", "")).rstrip("=") != b64url(self.app_cert.fingerprint(hashes.SHA1())):
                return False
            pad = padding.PKCS1v15()
        self.app_cert.public_key().verify(unb64url(sig), f"{head}.{body}".encode(), pad, hashes.SHA256())
        return json.loads(unb64url(body))["iss"] == CLIENT

    def handle(self, method: str, path: str, query: dict, form: dict, headers: dict) -> tuple[int, dict]:
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            t = path.split("/")[1]
            return 200, {"issuer": f"{self.base}/{t}/v2.0",
                         "authorization_endpoint": f"{self.base}/{t}/oauth2/v2.0/authorize",
                         "token_endpoint": f"{self.base}/{t}/oauth2/v2.0/token",
                         "device_authorization_endpoint": f"{self.base}/{t}/oauth2/v2.0/devicecode"}
        if path.endswith("/oauth2/v2.0/devicecode"):
            assert f"{RESOURCE}/.default" in form.get("scope", "").split(), form
            return 200, {"device_code": "dc-1", "user_code": "ABCD-EFGH", "expires_in": 900, "interval": 1,
                         "verification_uri": "https://microsoft.com/devicelogin",
                         "message": "To sign in, open https://microsoft.com/devicelogin and enter ABCD-EFGH"}
        if path.endswith("/oauth2/v2.0/token"):
            grant = form.get("grant_type", "")
            if grant == "client_credentials" and form.get("client_secret"):
                if form["client_secret"] != SECRET:
                    return 401, {"error": "invalid_client",
                                 "error_description": "AADSTS7000215: Invalid client secret."}
                self.grants.append("secret")
            elif grant == "client_credentials" and form.get("client_assertion"):
                assertion = form["client_assertion"]
                if assertion == "ado-oidc-token":
                    self.grants.append("federated")
                elif self.check_certificate_assertion(assertion):
                    self.grants.append("certificate")
                else:
                    return 401, {"error": "invalid_client", "error_description": "bad assertion"}
            elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                self.grants.append("device_code")
            elif grant == "refresh_token":
                self.grants.append("refresh")
            else:
                return 400, {"error": "unsupported_grant_type", "error_description": grant}
            if grant == "client_credentials":
                assert form.get("scope") == f"{RESOURCE}/.default", form.get("scope")
            return 200, self.token_response(self.grants[-1])
        if path == "/oidc":
            assert headers.get("authorization") == "Bearer system-access-token"
            assert query.get("serviceConnectionId") == ["sc-1"]
            return 200, {"oidcToken": "ado-oidc-token"}
        if path == "/msi/token":
            assert headers.get("x-identity-header") == "msi-header"
            assert query["resource"] == [RESOURCE]
            self.grants.append("managed_identity")
            return 200, {"access_token": jwt({"sub": "mi"}), "expires_on": str(int(time.time()) + 3600),
                         "resource": RESOURCE, "token_type": "Bearer"}
        return 404, {"error": "not_found", "error_description": path}


@pytest.fixture(scope="module")
def identity(tmp_path_factory) -> Iterator[tuple[FakeIdentity, Path, Path]]:
    tmp = tmp_path_factory.mktemp("idp")
    tls_key, tls_cert, _, _ = make_cert("127.0.0.1", ip="127.0.0.1")
    (tmp / "tls.pem").write_bytes(tls_cert)
    (tmp / "tls.key").write_bytes(tls_key)
    app_key, app_cert_pem, _, app_cert = make_cert("seeder-app")
    (tmp / "app.pem").write_bytes(app_key + app_cert_pem)
    fake = FakeIdentity(app_cert)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            status, body = fake.handle(self.command, parts.path, parse_qs(parts.query), form,
                                       {k.lower(): v for k, v in self.headers.items()})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "tls.pem", tmp / "tls.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    fake.base = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, tmp / "tls.pem", tmp
    server.shutdown()
    server.server_close()


def env_for(fake: FakeIdentity, ca: Path, **extra: str) -> dict[str, str]:
    return {"SEEDER_TENANT_ID": TENANT, "SEEDER_CLIENT_ID": CLIENT, "SEEDER_AUTHORITY": fake.base,
            "SEEDER_CA_BUNDLE": str(ca), "HOME": "/nonexistent", **extra}


def test_client_secret(identity):
    fake, ca, _ = identity
    config = auth_from_options(None, None, env_for(fake, ca, SEEDER_CLIENT_SECRET=SECRET))
    assert config.method == "secret" and SECRET not in repr(config) and SECRET not in str(config.to_dict())
    provider = token_provider(config, RESOURCE)
    assert provider.token().count(".") == 2
    provider.token()  # cached: no second grant
    assert fake.grants.count("secret") == 1


def test_client_secret_from_file_and_wrong_secret_is_auth_error(identity, tmp_path):
    fake, ca, _ = identity
    (tmp_path / "secret").write_text("wrong-secret\n")
    config = auth_from_options("secret", None, env_for(fake, ca, SEEDER_CLIENT_SECRET_FILE=str(tmp_path / "secret")))
    with pytest.raises(AuthError) as info:
        token_provider(config, RESOURCE).token()
    assert "invalid_client" in info.value.message and "wrong-secret" not in info.value.message


def test_certificate(identity):
    fake, ca, tmp = identity
    config = auth_from_options(None, None, env_for(fake, ca, SEEDER_CERTIFICATE=str(tmp / "app.pem")))
    assert config.method == "certificate"
    assert token_provider(config, RESOURCE).token()
    assert "certificate" in fake.grants  # assertion signature verified against the app certificate


def test_device_code_persists_cache_0600_and_is_silent_next_time(identity, tmp_path):
    fake, ca, _ = identity
    cache = tmp_path / "cache" / "tokens.json"
    prompts: list[str] = []
    config = auth_from_options("device-code", None, env_for(fake, ca, SEEDER_TOKEN_CACHE=str(cache)))
    from dataclasses import replace

    config = replace(config, prompt=prompts.append)
    assert token_provider(config, RESOURCE).token()
    assert prompts and "ABCD-EFGH" in prompts[0]
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    before = list(fake.grants)
    # a fresh process: new provider, same cache file -> no device-code prompt
    again = replace(config, prompt=lambda m: pytest.fail("prompted again"))
    assert token_provider(again, RESOURCE).token()
    assert fake.grants.count("device_code") == before.count("device_code")


def test_managed_identity_app_service_protocol(identity, monkeypatch):
    fake, ca, _ = identity
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{fake.base}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "msi-header")
    config = auth_from_options("managed-identity", None, {"SEEDER_CA_BUNDLE": str(ca)})
    assert token_provider(config, RESOURCE).token()
    assert "managed_identity" in fake.grants


def test_azure_cli_uses_az_on_path(identity, monkeypatch, tmp_path):
    az = tmp_path / "az"
    az.write_text("#!/bin/sh\n"
                  "case \"$*\" in *--resource\\ https://contoso.crm.dynamics.com*) ;; *) exit 3;; esac\n"
                  "echo '{\"accessToken\": \"cli-token\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", "
                  "\"expires_on\": 4070908800, \"tokenType\": \"Bearer\", \"tenant\": \"t\"}'\n")
    az.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    config = auth_from_options("azure-cli", None, {})
    assert token_provider(config, RESOURCE).token() == "cli-token"


def test_azure_cli_missing_is_auth_error_with_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AuthError) as info:
        token_provider(auth_from_options("azure-cli", None, {}), RESOURCE).token()
    assert "az login" in (info.value.hint or "")


def test_azure_pipelines_workload_identity_federation(identity, monkeypatch):
    fake, ca, _ = identity
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", f"{fake.base}/oidc")
    env = {"AZURESUBSCRIPTION_TENANT_ID": TENANT, "AZURESUBSCRIPTION_CLIENT_ID": CLIENT,
           "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "sc-1", "SYSTEM_ACCESSTOKEN": "system-access-token",
           "SEEDER_AUTHORITY": fake.base, "SEEDER_CA_BUNDLE": str(ca)}
    config = auth_from_options(None, None, env)
    assert config.method == "azure-pipelines" and "system-access-token" not in repr(config)
    assert token_provider(config, RESOURCE).token()
    assert "federated" in fake.grants


def test_none_is_a_static_token_per_user():
    a = token_provider(AuthConfig(static_token="user-a"), RESOURCE).token()
    b = token_provider(AuthConfig(static_token="user-b"), RESOURCE).token()
    assert (a, b) == ("user-a", "user-b")
