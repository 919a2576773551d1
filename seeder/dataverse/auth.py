"""Sign-in: which identity seeder uses, and how it gets a bearer token for ``https://ORG/.default``.

Owns :class:`AuthConfig` (what the user chose: method, tenant, client, where the secret lives),
:func:`auth_from_options` (``--auth`` / ``SEEDER_*`` environment variables / a named profile in
``~/.config/seeder/profiles.toml``) and :func:`token_provider` (one thread-safe, caching token source per
config). Secrets come only from environment variables or files, are kept out of ``repr`` and never logged.

Methods: ``none`` (a fixed dummy token, for the emulator), ``secret`` and ``certificate`` (msal confidential
client), ``device-code`` (msal public client, token cache persisted with mode 0600), ``managed-identity``,
``azure-cli`` and ``azure-pipelines`` (azure-identity; the last is Azure DevOps workload identity federation).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from seeder.dataverse.errors import auth_error
from seeder.errors import UsageError

__all__ = [
    "DEFAULT_AUTHORITY",
    "METHODS",
    "AuthConfig",
    "auth_from_options",
    "profiles_path",
    "replace_prompt",
]


METHODS = ("none", "secret", "certificate", "device-code", "managed-identity", "azure-cli", "azure-pipelines")
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"  # Microsoft's documented sample public client
_PROFILE_KEYS = {
    "auth", "method", "tenant_id", "client_id", "secret_env", "secret_file", "certificate_path",
    "certificate_password_env", "token_cache", "authority", "managed_identity_client_id",
    "service_connection_id", "static_token", "ca_bundle",
}


@dataclass(frozen=True)
class AuthConfig:
    """How to sign in. Secret values are resolved from env vars or files and hidden from ``repr``."""

    method: str = "none"
    tenant_id: str | None = None
    client_id: str | None = None
    secret_env: str | None = None
    secret_file: Path | None = None
    certificate_path: Path | None = None
    certificate_password_env: str | None = None
    token_cache: Path | None = None
    authority: str | None = None
    profile: str | None = None
    managed_identity_client_id: str | None = None
    service_connection_id: str | None = None
    static_token: str = "seeder-emulator"  # noqa: S105 - a placeholder, not a secret
    ca_bundle: Path | None = None
    client_secret: str | None = field(default=None, repr=False, compare=False)
    certificate_password: str | None = field(default=None, repr=False, compare=False)
    system_access_token: str | None = field(default=None, repr=False, compare=False)
    prompt: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"unknown sign-in method {self.method!r}", hint=f"Use one of: {', '.join(METHODS)}.")

    @property
    def authority_host(self) -> str:
        return (self.authority or DEFAULT_AUTHORITY).rstrip("/")

    def to_dict(self) -> dict[str, Any]:
        """What was chosen, for reports: names and paths only, never a secret value."""
        out: dict[str, Any] = {"method": self.method}
        for name in ("tenant_id", "client_id", "secret_env", "secret_file", "certificate_path", "token_cache",
                     "authority", "profile", "managed_identity_client_id", "service_connection_id"):
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        out["has_secret"] = self.client_secret is not None
        return out


def profiles_path(env: Mapping[str, str]) -> Path:
    """``$SEEDER_PROFILES`` or ``$XDG_CONFIG_HOME/seeder/profiles.toml`` (default ``~/.config``)."""
    if env.get("SEEDER_PROFILES"):
        return Path(env["SEEDER_PROFILES"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "seeder" / "profiles.toml"


def _load_profile(name: str, env: Mapping[str, str]) -> dict[str, Any]:
    path = profiles_path(env)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"profile {name!r} asked for, but {path} does not exist",
                         hint="Create it with a [profiles.NAME] table, or set SEEDER_PROFILES.") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    profile = data.get("profiles", {}).get(name)
    if not isinstance(profile, dict):
        known = ", ".join(sorted(data.get("profiles", {}))) or "none"
        raise UsageError(f"no profile {name!r} in {path}", hint=f"Profiles defined: {known}.")
    unknown = set(profile) - _PROFILE_KEYS
    if unknown & {"client_secret", "secret", "password", "certificate_password"}:
        raise UsageError(f"profile {name!r} holds a secret value",
                         hint="Secrets never go in profiles: use secret_env or secret_file instead.")
    if unknown:
        raise UsageError(f"profile {name!r} has unknown keys: {', '.join(sorted(unknown))}",
                         hint=f"Allowed keys: {', '.join(sorted(_PROFILE_KEYS))}.")
    return dict(profile)


def _read_secret_file(path: Path) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise auth_error(f"cannot read secret file {path}: {exc.strerror}") from None


def auth_from_options(method: str | None, profile: str | None, env: Mapping[str, str]) -> AuthConfig:
    """The sign-in chosen by ``method`` (``--auth``), else ``SEEDER_AUTH``, else the profile, else inferred.

    A profile (``profile`` or ``SEEDER_PROFILE``) provides defaults; ``SEEDER_*`` variables override it.
    With nothing configured the method is inferred from what is present (a client secret, a certificate,
    an Azure DevOps service connection), falling back to ``none``.
    """
    profile = profile or env.get("SEEDER_PROFILE") or None
    p: dict[str, Any] = _load_profile(profile, env) if profile else {}

    def pick(key: str, var: str) -> Any:
        return env.get(var) or p.get(key)

    def path_of(value: Any) -> Path | None:
        return Path(str(value)).expanduser() if value else None

    secret_env = p.get("secret_env")
    secret_file = path_of(env.get("SEEDER_CLIENT_SECRET_FILE") or p.get("secret_file"))
    client_secret: str | None = None
    if env.get("SEEDER_CLIENT_SECRET"):
        secret_env, client_secret = "SEEDER_CLIENT_SECRET", env["SEEDER_CLIENT_SECRET"]
    elif secret_env:
        if not env.get(str(secret_env)):
            raise auth_error(f"the secret variable {secret_env} named by the profile is not set")
        client_secret = env[str(secret_env)]
    elif secret_file:
        client_secret = _read_secret_file(secret_file)
    certificate = path_of(pick("certificate_path", "SEEDER_CERTIFICATE"))
    cert_pw_env = p.get("certificate_password_env") or (
        "SEEDER_CERTIFICATE_PASSWORD" if env.get("SEEDER_CERTIFICATE_PASSWORD") else None)
    ado_connection = (env.get("SEEDER_SERVICE_CONNECTION_ID") or env.get("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")
                      or p.get("service_connection_id"))

    chosen = method or env.get("SEEDER_AUTH") or p.get("auth") or p.get("method")
    if not chosen:
        if client_secret is not None:
            chosen = "secret"
        elif certificate is not None:
            chosen = "certificate"
        elif ado_connection and env.get("SYSTEM_ACCESSTOKEN"):
            chosen = "azure-pipelines"
        else:
            chosen = "none"
    chosen = str(chosen)
    tenant = pick("tenant_id", "SEEDER_TENANT_ID")
    client = pick("client_id", "SEEDER_CLIENT_ID")
    if chosen == "azure-pipelines":
        tenant = tenant or env.get("AZURESUBSCRIPTION_TENANT_ID")
        client = client or env.get("AZURESUBSCRIPTION_CLIENT_ID")
    config = AuthConfig(
        method=chosen, tenant_id=tenant, client_id=client, secret_env=secret_env, secret_file=secret_file,
        certificate_path=certificate, certificate_password_env=cert_pw_env,
        token_cache=path_of(pick("token_cache", "SEEDER_TOKEN_CACHE")),
        authority=pick("authority", "SEEDER_AUTHORITY"), profile=profile,
        managed_identity_client_id=pick("managed_identity_client_id", "SEEDER_MANAGED_IDENTITY_CLIENT_ID"),
        service_connection_id=ado_connection,
        static_token=pick("static_token", "SEEDER_STATIC_TOKEN") or "seeder-emulator",
        ca_bundle=path_of(pick("ca_bundle", "SEEDER_CA_BUNDLE")),
        client_secret=client_secret,
        certificate_password=env.get(str(cert_pw_env)) if cert_pw_env else None,
        system_access_token=env.get("SYSTEM_ACCESSTOKEN"),
    )
    _check_complete(config)
    return config


def _check_complete(c: AuthConfig) -> None:
    need: list[str] = []
    if c.method in ("secret", "certificate", "azure-pipelines"):
        need += [n for n, v in (("SEEDER_TENANT_ID", c.tenant_id), ("SEEDER_CLIENT_ID", c.client_id)) if not v]
    if c.method == "secret" and c.client_secret is None:
        need.append("SEEDER_CLIENT_SECRET or SEEDER_CLIENT_SECRET_FILE")
    if c.method == "certificate" and c.certificate_path is None:
        need.append("SEEDER_CERTIFICATE")
    if c.method == "azure-pipelines":
        if not c.service_connection_id:
            need.append("SEEDER_SERVICE_CONNECTION_ID (or AZURESUBSCRIPTION_SERVICE_CONNECTION_ID)")
        if not c.system_access_token:
            need.append("SYSTEM_ACCESSTOKEN (map $(System.AccessToken) into the step's env)")
    if need:
        raise auth_error(f"sign-in method {c.method!r} needs: {', '.join(need)}",
                         hint="Set these environment variables or put them in a profile.")


def replace_prompt(config: AuthConfig, prompt: Callable[[str], None]) -> AuthConfig:
    """The same config with a device-code prompt callback (the CLI passes one that prints)."""
    return replace(config, prompt=prompt)
