"""Unit tests of configuration: flags, then the environment, then an env file; the trust model; no secret in repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_oauth_clients.config import (
    DEFAULT_BASE_URL,
    FLAGS,
    VARIABLES,
    ConfigError,
    Settings,
    found_dotenv_may_set,
)


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
        ("MCP_OAUTH_CLIENTS_LOG_FORMAT", "xml"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.load({name: value})


@pytest.mark.parametrize("value", ["2.9", "2.0", "two", "1e0"])
def test_a_retry_count_that_is_not_a_whole_number_stops_start_up_naming_the_variable(value):
    with pytest.raises(ConfigError, match="MCP_OAUTH_CLIENTS_MAX_RETRIES.*not a whole number"):
        Settings.load({"MCP_OAUTH_CLIENTS_MAX_RETRIES": value})
    assert Settings.load({"MCP_OAUTH_CLIENTS_MAX_RETRIES": " 3 "}).max_retries == 3


def test_a_refused_number_is_shown_because_a_number_cannot_be_a_secret():
    with pytest.raises(ConfigError) as refused:
        Settings.load({"MCP_OAUTH_CLIENTS_TIMEOUT": "900"}, env_file=None)
    assert str(refused.value).startswith("MCP_OAUTH_CLIENTS_TIMEOUT=900 (from environment) must be between 0.1 and 300")


@pytest.mark.parametrize(
    "value", ["mcp.example.com", "10.0.0.5", "2001:db8::1", "[2001:db8::1]", "localhost", "mcp-1.internal."]
)
def test_allowed_hosts_are_host_names_or_ip_addresses(value):
    assert Settings.load({"MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS": f"a.example, {value}"}).http_allowed_hosts == (
        "a.example",
        value,
    )


@pytest.mark.parametrize("value", ["https://mcp.example.com", "mcp.example.com/mcp", "a b", "-x.example", "a" * 64])
def test_an_allowed_host_that_is_not_a_host_name_is_refused_by_position_without_echo(value):
    with pytest.raises(
        ConfigError, match="MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS .*entry 2 is not a host name"
    ) as refused:
        Settings.load({"MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS": f"ok.example,{value}"})
    assert value not in str(refused.value)


# --- the trust model: a .env merely found in the working directory is not the operator's ---


@pytest.mark.parametrize("name", [n for n in VARIABLES if not found_dotenv_may_set(n)])
def test_found_dotenv_may_not_set_an_operator_only_variable(name, tmp_path):
    (tmp_path / ".env").write_text(f"{name}=1\n")
    with pytest.raises(ConfigError) as refused:
        Settings.load({})
    message = str(refused.value)
    assert name in message and str(tmp_path / ".env") in message
    assert "environment" in message and "--env-file" in message
    assert FLAGS.get(name, "--env-file") in message


def test_found_dotenv_names_every_operator_only_variable_it_sets(tmp_path):
    (tmp_path / ".env").write_text("CLOUDFLARE_BASE_URL=https://a.example\nMCP_OAUTH_CLIENTS_AUDIT_LOG=/dev/null\n")
    with pytest.raises(ConfigError, match="CLOUDFLARE_BASE_URL.*MCP_OAUTH_CLIENTS_AUDIT_LOG.*set them"):
        Settings.load({})


def test_found_dotenv_is_refused_even_when_the_environment_sets_the_same_variable(tmp_path):
    (tmp_path / ".env").write_text("MCP_OAUTH_CLIENTS_READ_ONLY=0\n")
    with pytest.raises(ConfigError, match="MCP_OAUTH_CLIENTS_READ_ONLY"):
        Settings.load({"MCP_OAUTH_CLIENTS_READ_ONLY": "1"})


def test_found_dotenv_with_an_empty_operator_only_line_sets_nothing_and_is_accepted(tmp_path):
    # What a copied .env.example with an uncommented, blank line looks like.
    (tmp_path / ".env").write_text("CLOUDFLARE_API_TOKEN=t\nMCP_OAUTH_CLIENTS_AUDIT_LOG=\nCLOUDFLARE_BASE_URL\n")
    s = Settings.load({})
    assert s.credentials.api_token == "t" and s.audit_log is None and s.base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize("name", [n for n in VARIABLES if found_dotenv_may_set(n)])
def test_found_dotenv_may_set_credentials_the_account_and_harmless_settings(name, tmp_path):
    value = {
        "CLOUDFLARE_ACCOUNT_ID": "a" * 32,
        "MCP_OAUTH_CLIENTS_LOG_LEVEL": "INFO",
        "MCP_OAUTH_CLIENTS_LOG_FORMAT": "json",
    }.get(name, "1")
    (tmp_path / ".env").write_text(f"{name}={value}\n")
    assert Settings.load({}).sources[name] == str(tmp_path / ".env")


def test_found_dotenv_timeouts_stay_within_their_bounds(tmp_path):
    (tmp_path / ".env").write_text("MCP_OAUTH_CLIENTS_TIMEOUT=100000\n")
    with pytest.raises(ConfigError, match="MCP_OAUTH_CLIENTS_TIMEOUT"):
        Settings.load({})


def test_named_env_file_may_set_every_variable(tmp_path):
    path = tmp_path / "operator.env"
    path.write_text(
        "CLOUDFLARE_BASE_URL=https://proxy.example/client/v4\nMCP_OAUTH_CLIENTS_READ_ONLY=1\n"
        "MCP_OAUTH_CLIENTS_AUDIT_LOG=/var/log/audit.jsonl\nMCP_OAUTH_CLIENTS_SANDBOX=1\n"
    )
    s = Settings.load({}, env_file=path)
    assert s.base_url == "https://proxy.example/client/v4" and s.read_only and s.sandbox
    assert s.audit_log == "/var/log/audit.jsonl"


def test_a_flag_wins_over_the_environment_and_the_file(tmp_path):
    path = tmp_path / "operator.env"
    path.write_text("MCP_OAUTH_CLIENTS_AUDIT_LOG=/from/file\n")
    s = Settings.load(
        {"MCP_OAUTH_CLIENTS_AUDIT_LOG": "/from/env"},
        env_file=path,
        overrides={"MCP_OAUTH_CLIENTS_AUDIT_LOG": "/from/flag"},
    )
    assert s.audit_log == "/from/flag" and s.sources["MCP_OAUTH_CLIENTS_AUDIT_LOG"] == "command line"


@pytest.mark.parametrize("where", ["found", "named"])
def test_no_variable_is_expanded_in_an_env_file(where, tmp_path, monkeypatch):
    path = tmp_path / (".env" if where == "found" else "named.env")
    path.write_text("CLOUDFLARE_EMAIL=${CLOUDFLARE_API_TOKEN}\nCLOUDFLARE_API_KEY=$CLOUDFLARE_API_TOKEN\n")
    # In the process environment (where an expansion would look), not among the settings: an environment
    # credential would make the file's credentials be ignored as a whole.
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "real-token")
    s = Settings.load({}, env_file=path if where == "named" else None)
    assert s.credentials.email == "${CLOUDFLARE_API_TOKEN}" and s.credentials.api_key == "$CLOUDFLARE_API_TOKEN"


# --- CLOUDFLARE_BASE_URL: https, or http to loopback only ---


@pytest.mark.parametrize(
    "url",
    [
        "https://api.cloudflare.com/client/v4",
        "https://proxy.internal:8443/client/v4/",
        "http://127.0.0.1:9/client/v4",
        "http://127.8.9.10/client/v4",
        "http://[::1]:8080/client/v4",
        "http://localhost:1234/client/v4",
    ],
)
def test_base_url_may_be_https_or_loopback_http(url):
    assert Settings.load({"CLOUDFLARE_BASE_URL": url}).base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.cloudflare.com/client/v4",
        "http://192.168.1.10/client/v4",
        "http://127.0.0.1.attacker.example/client/v4",
        "http://localhost.attacker.example/client/v4",
        "https://user:secret-pw@api.cloudflare.com/client/v4",
        "https://token@api.cloudflare.com/client/v4",
        "http://127.0.0.1\\@attacker.example/client/v4",
        "https://api.cloudflare.com/client/v4?x=1",
        "https://api.cloudflare.com/client/v4#frag",
        "https://api.cloudflare.com:99999/client/v4",
        "file:///etc/passwd",
        "api.cloudflare.com/client/v4",
        "https://",
        "https://api.cloudflare.com/client v4",
    ],
)
def test_base_url_that_is_not_https_or_loopback_http_is_refused(url):
    with pytest.raises(ConfigError, match="CLOUDFLARE_BASE_URL") as refused:
        Settings.load({"CLOUDFLARE_BASE_URL": url})
    assert "secret-pw" not in str(refused.value) and "token@" not in str(refused.value)


# --- account ids: checked like the account_id argument ---


@pytest.mark.parametrize("value", ["acme", "a" * 31, "g" * 32, "a" * 33, "023e105f4ecef8ad9ca31a8372d0c353/../x"])
def test_malformed_default_account_is_a_configuration_error_that_does_not_echo_it(value):
    with pytest.raises(ConfigError, match="CLOUDFLARE_ACCOUNT_ID .* is malformed") as refused:
        Settings.load({"CLOUDFLARE_ACCOUNT_ID": value})
    assert value not in str(refused.value)


def test_default_account_in_capitals_is_accepted_as_the_argument_is():
    assert Settings.load({"CLOUDFLARE_ACCOUNT_ID": "A" * 32}).account_id == "A" * 32


def test_malformed_allowed_account_entry_is_named_by_position():
    with pytest.raises(ConfigError, match="entry 2 is malformed"):
        Settings.load({"MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS": "a" * 32 + ", sekrit"})


# --- env files that are not settings files ---


@pytest.mark.parametrize("where", ["found", "named"])
def test_non_utf8_env_file_is_a_configuration_error(where, tmp_path):
    path = tmp_path / (".env" if where == "found" else "named.env")
    path.write_bytes(b"CLOUDFLARE_API_TOKEN=\xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8") as refused:
        Settings.load({}, env_file=path if where == "named" else None)
    assert str(path) in str(refused.value)


def test_utf8_env_file_with_a_byte_order_mark_is_read(tmp_path):
    (tmp_path / ".env").write_bytes("\ufeffCLOUDFLARE_API_TOKEN=t\n".encode())
    assert Settings.load({}).credentials.api_token == "t"


def test_unreadable_env_file_is_a_configuration_error(tmp_path, monkeypatch):
    path = tmp_path / "named.env"
    path.write_text("CLOUDFLARE_API_TOKEN=t\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ConfigError, match="cannot be read \\(Permission denied\\)") as refused:
        Settings.load({}, env_file=path)
    assert str(path) in str(refused.value)


def test_env_file_named_as_a_directory_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        Settings.load({}, env_file=tmp_path)


def test_dotenv_directory_in_the_working_directory_is_ignored(tmp_path):
    (tmp_path / ".env").mkdir()  # a virtual environment, as `python -m venv .env` makes
    assert not Settings.load({}).credentials.configured


def test_env_file_far_larger_than_settings_is_refused_unread(tmp_path):
    (tmp_path / ".env").write_text("# padding\n" * 10_000)
    with pytest.raises(ConfigError, match="larger than 64 KiB"):
        Settings.load({})


def test_log_format_is_text_unless_json_is_asked_for():
    assert Settings.load({}).log_format == "text"
    assert Settings.load({"MCP_OAUTH_CLIENTS_LOG_FORMAT": "JSON"}).log_format == "json"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "pasted", ["Vq3x8kLm2Tz9Rw4Yb7Nc1Hd5Jf0Gs6PaUe2Io4Wq", "cfut_Vq3x8kLm2Tz-9Rw4Yb7Nc1Hd5Jf0Gs6_aUe2"]
)
async def test_a_token_pasted_into_any_setting_that_is_not_secret_is_never_printed(pasted, tmp_path):
    """Refused or accepted, the value reaches neither the refusal (stderr), nor doctor, nor the start-up lines."""
    import io

    from mcp_oauth_clients.config import SECRET_VARIABLES
    from mcp_oauth_clients.doctor import report_unusable_settings, run_doctor
    from mcp_oauth_clients.startup import startup_lines

    for name in [n for n in VARIABLES if n not in SECRET_VARIABLES]:
        environ = {"MCP_OAUTH_CLIENTS_SANDBOX": "1", name: pasted}
        out = io.StringIO()
        try:
            settings = Settings.load(environ)
        except ConfigError as refused:
            report_unusable_settings(refused, out)
            printed = str(refused) + out.getvalue()
        else:
            await run_doctor(settings, out, listen=("127.0.0.1", 0))
            printed = out.getvalue() + "\n".join(startup_lines(settings, "http://127.0.0.1:8000/mcp"))
        assert pasted not in printed, name


def test_values_that_are_not_credential_shaped_are_shown_whole_and_long_ones_clipped():
    from mcp_oauth_clients.config import shown_value

    for value in ["/tmp/pytest-of-root/test_a_token_pasted_into_any_setting0/audit.jsonl", "mcp.example.com", "a" * 32]:
        assert shown_value(value) == value
    assert shown_value("023e105f4ecef8ad9ca31a8372d0c353") == "023e105f4ecef8ad9ca31a8372d0c353"  # an account id
    assert len(shown_value("/x" * 500)) == 200
