"""Choosing a sign-in: --auth, SEEDER_* variables and named profiles; secrets never shown."""

from __future__ import annotations

import pytest

from seeder.dataverse import AuthConfig, auth_from_options
from seeder.errors import AuthError, UsageError, redact


def write_profiles(tmp_path, text: str) -> dict[str, str]:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return {"SEEDER_PROFILES": str(path)}


def test_nothing_configured_is_none():
    assert auth_from_options(None, None, {}).method == "none"


def test_secret_from_env_inferred_and_hidden():
    env = {"SEEDER_TENANT_ID": "t", "SEEDER_CLIENT_ID": "c", "SEEDER_CLIENT_SECRET": "very-secret-value"}
    config = auth_from_options(None, None, env)
    assert config.method == "secret" and config.client_secret == "very-secret-value"
    assert config.secret_env == "SEEDER_CLIENT_SECRET"
    assert "very-secret-value" not in repr(config) and "very-secret-value" not in str(config.to_dict())


def test_explicit_method_wins_over_env_and_profile(tmp_path):
    env = write_profiles(tmp_path, '[profiles.dev]\nauth = "device-code"\nclient_id = "c"\n')
    env["SEEDER_AUTH"] = "azure-cli"
    assert auth_from_options(None, "dev", env).method == "azure-cli"
    assert auth_from_options("managed-identity", "dev", env).method == "managed-identity"
    del env["SEEDER_AUTH"]
    assert auth_from_options(None, "dev", env).method == "device-code"


def test_profile_names_secret_env_and_env_overrides(tmp_path):
    env = write_profiles(tmp_path, '[profiles.prod]\nauth = "secret"\ntenant_id = "t1"\nclient_id = "c1"\n'
                                   'secret_env = "PROD_SECRET"\n')
    env.update(PROD_SECRET="p-secret", SEEDER_TENANT_ID="t2", SEEDER_PROFILE="prod")
    config = auth_from_options(None, None, env)
    assert (config.tenant_id, config.client_id, config.client_secret, config.profile) == \
        ("t2", "c1", "p-secret", "prod")


def test_profile_with_inline_secret_is_refused(tmp_path):
    env = write_profiles(tmp_path, '[profiles.bad]\nauth = "secret"\nclient_secret = "inline"\n')
    with pytest.raises(UsageError) as info:
        auth_from_options(None, "bad", env)
    assert "secret_env" in info.value.hint


def test_unknown_profile_and_unknown_method():
    with pytest.raises(UsageError):
        auth_from_options(None, "nope", {"SEEDER_PROFILES": "/nonexistent/profiles.toml"})
    with pytest.raises(UsageError):
        auth_from_options("password", None, {})


def test_missing_pieces_are_listed():
    with pytest.raises(AuthError) as info:
        auth_from_options("secret", None, {"SEEDER_TENANT_ID": "t"})
    assert "SEEDER_CLIENT_ID" in info.value.message and "SEEDER_CLIENT_SECRET" in info.value.message
    with pytest.raises(AuthError) as info:
        auth_from_options("azure-pipelines", None, {"SEEDER_TENANT_ID": "t", "SEEDER_CLIENT_ID": "c"})
    assert "SYSTEM_ACCESSTOKEN" in info.value.message


def test_secret_file_is_read_and_missing_file_is_auth_error(tmp_path):
    (tmp_path / "s").write_text("from-file\n")
    env = {"SEEDER_TENANT_ID": "t", "SEEDER_CLIENT_ID": "c", "SEEDER_CLIENT_SECRET_FILE": str(tmp_path / "s")}
    assert auth_from_options(None, None, env).client_secret == "from-file"
    env["SEEDER_CLIENT_SECRET_FILE"] = str(tmp_path / "missing")
    with pytest.raises(AuthError):
        auth_from_options(None, None, env)


def test_certificate_and_pipelines_inferred():
    cert = auth_from_options(None, None, {"SEEDER_TENANT_ID": "t", "SEEDER_CLIENT_ID": "c",
                                          "SEEDER_CERTIFICATE": "/x/app.pem"})
    assert cert.method == "certificate"
    ado = auth_from_options(None, None, {"AZURESUBSCRIPTION_TENANT_ID": "t", "AZURESUBSCRIPTION_CLIENT_ID": "c",
                                         "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "sc",
                                         "SYSTEM_ACCESSTOKEN": "sys-token-value"})
    assert ado.method == "azure-pipelines" and (ado.tenant_id, ado.client_id) == ("t", "c")
    assert "sys-token-value" not in repr(ado)


def test_auth_error_text_is_redacted():
    assert "abc123secret" not in redact("client_secret=abc123secret")
    assert AuthConfig().to_dict() == {"method": "none", "has_secret": False}
