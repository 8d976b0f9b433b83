"""Unit tests of configuration: environment first, then .env, never a secret in repr."""

from __future__ import annotations

import pytest

from mcp_oauth_clients.config import DEFAULT_BASE_URL, ConfigError, Settings


@pytest.fixture(autouse=True)
def _away_from_any_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_environment_is_read():
    s = Settings.load(
        {
            "CLOUDFLARE_API_TOKEN": "t",
            "CLOUDFLARE_ACCOUNT_ID": "a" * 32,
            "CLOUDFLARE_BASE_URL": "http://127.0.0.1:9/client/v4/",
        },
        env_file=None,
    )
    assert s.credentials.api_token == "t" and s.account_id == "a" * 32
    assert s.base_url == "http://127.0.0.1:9/client/v4"


def test_dotenv_in_working_directory_fills_what_the_environment_leaves_unset(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("CLOUDFLARE_API_TOKEN=from-file\nCLOUDFLARE_ACCOUNT_ID=" + "b" * 32 + "\n")
    monkeypatch.chdir(tmp_path)
    s = Settings.load({"CLOUDFLARE_ACCOUNT_ID": "c" * 32})
    assert s.credentials.api_token == "from-file"
    assert s.account_id == "c" * 32  # the real environment wins
    assert s.sources["CLOUDFLARE_ACCOUNT_ID"] == "environment"
    assert s.sources["CLOUDFLARE_API_TOKEN"].endswith(".env")


def test_env_file_flag_names_another_file(tmp_path):
    path = tmp_path / "prod.env"
    path.write_text("CLOUDFLARE_API_TOKEN=prod\n")
    assert Settings.load({}, env_file=path).credentials.api_token == "prod"


def test_missing_env_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        Settings.load({}, env_file=tmp_path / "nope.env")


def test_defaults():
    s = Settings.load({}, env_file=None)
    assert s.base_url == DEFAULT_BASE_URL and not s.credentials.configured and not s.sandbox
    assert (s.timeout, s.connect_timeout, s.max_retries, s.max_retry_wait) == (20.0, 5.0, 2, 5.0)


def test_key_and_email_is_an_alternative_to_the_token():
    s = Settings.load({"CLOUDFLARE_API_KEY": "k", "CLOUDFLARE_EMAIL": "e@example.com"})
    assert s.credentials.configured and s.credentials.method == "CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL"


def test_secrets_never_in_repr():
    s = Settings.load(
        {
            "CLOUDFLARE_API_TOKEN": "sekrit-token",
            "CLOUDFLARE_API_KEY": "sekrit-key",
            "CLOUDFLARE_EMAIL": "sekrit@example.com",
        }
    )
    assert "sekrit" not in repr(s)


@pytest.mark.parametrize(
    "name,value",
    [
        ("MCP_OAUTH_CLIENTS_TIMEOUT", "soon"),
        ("MCP_OAUTH_CLIENTS_MAX_RETRIES", "9"),
        ("MCP_OAUTH_CLIENTS_SANDBOX", "maybe"),
        ("MCP_OAUTH_CLIENTS_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.load({name: value})
