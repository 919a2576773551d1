"""Token sources for each sign-in method: one thread-safe, caching provider per :class:`AuthConfig`.

``none`` → a fixed dummy token (the emulator treats each distinct token as a distinct user);
``secret`` / ``certificate`` → msal confidential client; ``device-code`` → msal public client with a
plain-file token cache written with mode 0600; ``managed-identity``, ``azure-cli``, ``azure-pipelines``
→ azure-identity. Tokens are refreshed five minutes before they expire; failures become AuthError with a
hint and never carry the secret.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from seeder.dataverse.auth import PUBLIC_CLIENT_ID, AuthConfig
from seeder.dataverse.errors import auth_error
from seeder.errors import AuthError

__all__ = ["TokenProvider", "default_token_cache", "token_provider"]

log = logging.getLogger("seeder.dataverse.auth")
_REFRESH_MARGIN_S = 300.0


class TokenProvider(Protocol):
    """A source of bearer tokens for one identity and one resource; safe to call from many threads."""

    def token(self) -> str: ...

    def invalidate(self) -> None: ...


class _CachingProvider:
    """Keeps the last token until five minutes before it expires; one fetch at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def _fetch(self) -> tuple[str, float]:
        raise NotImplementedError

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._expires_on - _REFRESH_MARGIN_S:
                self._token, self._expires_on = self._fetch()
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None


class _StaticToken(_CachingProvider):
    def __init__(self, value: str) -> None:
        super().__init__()
        self._value = value

    def _fetch(self) -> tuple[str, float]:
        return self._value, time.time() + 10 * 365 * 86400.0


def _msal_result(result: Mapping[str, Any] | None, what: str) -> tuple[str, float]:
    if not result or "access_token" not in result:
        result = result or {}
        code = str(result.get("error") or "no_token")
        desc = str(result.get("error_description") or "no token was returned").splitlines()[0]
        raise auth_error(f"{what} sign-in failed: {code}: {desc}", code=code)
    return str(result["access_token"]), time.time() + float(result.get("expires_in", 3599))


def _msal_http(config: AuthConfig) -> dict[str, Any]:
    """msal keyword arguments that make ``ca_bundle`` win over ``REQUESTS_CA_BUNDLE`` (requests lets the
    environment variable override a session's ``verify``, which breaks private CAs and corporate proxies)."""
    if not config.ca_bundle:
        return {}
    import requests

    class PinnedVerifySession(requests.Session):
        def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                       cert: Any) -> Any:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            settings["verify"] = self.verify
            return settings

    session = PinnedVerifySession()
    session.verify = str(config.ca_bundle)
    return {"http_client": session}


class _MsalConfidential(_CachingProvider):
    def __init__(self, config: AuthConfig, scope: str, credential: Any, what: str) -> None:
        super().__init__()
        import msal

        self._what = what
        self._scopes = [scope]
        try:
            self._app = msal.ConfidentialClientApplication(
                config.client_id, client_credential=credential,
                authority=f"{config.authority_host}/{config.tenant_id}", instance_discovery=False,
                **_msal_http(config),
            )
        except ValueError as exc:
            raise auth_error(f"{what} sign-in could not start: {exc}") from None
        except Exception as exc:  # msal/requests discovery failures
            raise auth_error(f"{what} sign-in could not reach the authority: {type(exc).__name__}",
                             hint="Check SEEDER_AUTHORITY, the tenant id and network access.") from None

    def _fetch(self) -> tuple[str, float]:
        try:
            result = self._app.acquire_token_for_client(scopes=self._scopes)
        except Exception as exc:
            raise auth_error(f"{self._what} sign-in failed: {type(exc).__name__}") from None
        return _msal_result(result, self._what)


def _certificate_credential(config: AuthConfig) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    assert config.certificate_path is not None
    path = config.certificate_path
    password = config.certificate_password.encode() if config.certificate_password else None
    try:
        data = path.read_bytes()
        if path.suffix.lower() in (".pfx", ".p12"):
            key, cert, _ = pkcs12.load_key_and_certificates(data, password)
        else:
            key = serialization.load_pem_private_key(data, password)
            cert = x509.load_pem_x509_certificate(data)
    except OSError as exc:
        raise auth_error(f"cannot read certificate {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise auth_error(f"certificate {path} is not a usable PEM (key + certificate) or PFX: {exc}",
                         hint="A PEM file must hold both the private key and the certificate.") from None
    if key is None or cert is None:
        raise auth_error(f"certificate {path} lacks a private key or a certificate")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    # With the certificate (and no SHA-1 thumbprint) msal signs PS256 with an x5t#S256 header and sends x5c.
    return {"private_key": key_pem, "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode()}


def default_token_cache() -> Path:
    return Path.home() / ".cache" / "seeder" / "msal_token_cache.json"


class _DeviceCode(_CachingProvider):
    """msal public client with a plain-file token cache (0600), so later runs sign in silently."""

    def __init__(self, config: AuthConfig, scope: str) -> None:
        super().__init__()
        import msal

        self._scopes = [scope]
        self._prompt = config.prompt
        self._path = config.token_cache or default_token_cache()
        self._cache = msal.SerializableTokenCache()
        if self._path.exists():
            try:
                self._cache.deserialize(self._path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                log.warning("token cache %s unreadable; starting empty", self._path)
        try:
            self._app = msal.PublicClientApplication(
                config.client_id or PUBLIC_CLIENT_ID, token_cache=self._cache, instance_discovery=False,
                authority=f"{config.authority_host}/{config.tenant_id or 'organizations'}",
                **_msal_http(config),
            )
        except Exception as exc:
            raise auth_error(f"device-code sign-in could not start: {type(exc).__name__}: {exc}") from None

    def _persist(self) -> None:
        if not self._cache.has_state_changed:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self._cache.serialize())
        os.chmod(self._path, 0o600)
        self._cache.has_state_changed = False

    def _fetch(self) -> tuple[str, float]:
        try:
            result: Mapping[str, Any] | None = None
            accounts = self._app.get_accounts()
            if accounts:
                result = self._app.acquire_token_silent(self._scopes, account=accounts[0])
            if not result:
                flow = self._app.initiate_device_flow(scopes=self._scopes)
                if "user_code" not in flow:
                    return _msal_result(flow, "device-code")
                message = str(flow.get("message", ""))
                if self._prompt:
                    self._prompt(message)
                else:
                    log.warning("%s", message)
                result = self._app.acquire_token_by_device_flow(flow)
        except AuthError:
            raise
        except Exception as exc:
            raise auth_error(f"device-code sign-in failed: {type(exc).__name__}") from None
        token = _msal_result(result, "device-code")
        self._persist()
        return token


class _AzureIdentity(_CachingProvider):
    """Any azure-identity credential (managed identity, Azure CLI, Azure Pipelines)."""

    def __init__(self, credential: Any, scope: str, what: str) -> None:
        super().__init__()
        self._credential = credential
        self._scope = scope
        self._what = what

    def _fetch(self) -> tuple[str, float]:
        try:
            access = self._credential.get_token(self._scope)
        except Exception as exc:  # azure.core ClientAuthenticationError, CredentialUnavailableError, ...
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise auth_error(f"{self._what} sign-in failed: {first}", hint=_AZ_HINTS.get(self._what)) from None
        return str(access.token), float(access.expires_on)


_AZ_HINTS = {
    "managed-identity": "Run on an Azure host with a managed identity, registered as an application user.",
    "azure-cli": "Install the Azure CLI and run `az login` (not for long pipeline jobs: use azure-pipelines).",
    "azure-pipelines": "Map SYSTEM_ACCESSTOKEN and run inside a job using the workload-identity service connection.",
}


def _azure_identity(config: AuthConfig, scope: str) -> TokenProvider:
    from azure import identity

    common: dict[str, Any] = {}
    if config.ca_bundle:
        common["connection_verify"] = str(config.ca_bundle)
    if config.authority:  # a sovereign cloud or a private authority: no discovery on the public cloud
        common["authority"] = config.authority_host
        common["disable_instance_discovery"] = True
    if config.method == "managed-identity":
        mi_kwargs = {"connection_verify": common["connection_verify"]} if config.ca_bundle else {}
        cred: Any = identity.ManagedIdentityCredential(client_id=config.managed_identity_client_id, **mi_kwargs)
    elif config.method == "azure-cli":
        cred = identity.AzureCliCredential(tenant_id=config.tenant_id or "")
    else:
        cred = identity.AzurePipelinesCredential(
            tenant_id=str(config.tenant_id), client_id=str(config.client_id),
            service_connection_id=str(config.service_connection_id),
            system_access_token=str(config.system_access_token), **common,
        )
    return _AzureIdentity(cred, scope, config.method)


def token_provider(config: AuthConfig, resource: str) -> TokenProvider:
    """A caching token source for ``config`` and the environment ``resource`` (``https://ORG``)."""
    scope = resource.rstrip("/") + "/.default"
    if config.method == "none":
        return _StaticToken(config.static_token)
    if config.method == "secret":
        return _MsalConfidential(config, scope, config.client_secret, "client-secret")
    if config.method == "certificate":
        return _MsalConfidential(config, scope, _certificate_credential(config), "certificate")
    if config.method == "device-code":
        return _DeviceCode(config, scope)
    return _azure_identity(config, scope)
