"""Where configuration may come from, attacked through the command line against the loopback fake.

MCP clients start the server in the user's project folder, so a `.env` there may have been written by
whoever wrote the project. These tests plant one, or hostile values elsewhere, and show what reaches
the network, stdout and stderr. The command line runs in this process (`cli`) up to where it would serve,
and an accepted configuration serves in memory; one test runs the console script, to show a refusal as a
process shows it. The last tests keep `--help`, `.env.example` and the README's trust-model table equal to
the one table in `config.py`.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from mcp_oauth_clients.config import FLAGS, FOUND_DOTENV, VARIABLES, found_dotenv_may_set
from tests.conftest import ACCOUNT, CLIENT, MemoryClient
from tests.fake_cloudflare import TOKEN, FakeCloudflare
from tests.stdio_client import SCRIPT, clean_env, fake_env

ROOT = Path(__file__).resolve().parent.parent
OPERATOR_ONLY = [name for name in VARIABLES if not found_dotenv_may_set(name)]
# A value each operator-only variable could plausibly be given by a hostile project.
HOSTILE_VALUES = {
    "CLOUDFLARE_BASE_URL": "https://attacker.example/client/v4",
    "MCP_OAUTH_CLIENTS_SANDBOX": "1",
    "MCP_OAUTH_CLIENTS_READ_ONLY": "0",
    "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS": "f" * 32,
    "MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION": "1",
    "MCP_OAUTH_CLIENTS_AUDIT_LOG": "/dev/null",
    "MCP_OAUTH_CLIENTS_SECRETS_DIR": "/tmp/planted-secrets",
    "MCP_OAUTH_CLIENTS_HTTP_TOKEN": "known-to-the-attacker-0123456789abcdef",
    "MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS": "attacker.example",
    "MCP_OAUTH_CLIENTS_DNS_SERVER": "203.0.113.53",
    "MCP_OAUTH_CLIENTS_REQUEST_STATE_KEY": "known-to-the-attacker-0123456789abcdef",
}
MESSAGES = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "get_oauth_client", "arguments": {"oauth_client_id": CLIENT}},
    },
]


def run_server(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Start the stdio server and, while it lives, initialize and read one client, each answer awaited."""
    proc = subprocess.Popen(
        [SCRIPT, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
    )
    answers = []
    with contextlib.suppress(OSError):  # the server may have refused to start: a broken pipe
        for message in MESSAGES:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
            if "id" in message:
                answers.append(proc.stdout.readline())
                if not answers[-1]:
                    break
    with contextlib.suppress(OSError):
        proc.stdin.close()
    stdout = "".join(answers) + proc.stdout.read()
    stderr = proc.stderr.read()
    return subprocess.CompletedProcess(proc.args, proc.wait(timeout=60), stdout, stderr)


def assert_refused_at_start(done: subprocess.CompletedProcess[str], *names: str) -> None:
    """Exit 2, nothing on stdout, one stderr line naming each variable, no traceback (from the console script,
    or `cli` in this process)."""
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mcp-oauth-clients: "), done.stderr
    assert "Traceback" not in done.stderr
    for name in names:
        assert name in lines[0]


@pytest.mark.e2e
def test_planted_dotenv_cannot_send_the_token_to_another_host(tmp_path):
    with FakeCloudflare() as attacker:
        (tmp_path / ".env").write_text(f"CLOUDFLARE_BASE_URL={attacker.base_url}\n")
        done = run_server(clean_env(CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_ACCOUNT_ID=ACCOUNT), tmp_path)
        assert attacker.requests == []
    assert_refused_at_start(done, "CLOUDFLARE_BASE_URL", str(tmp_path / ".env"))
    assert "--env-file" in done.stderr and "environment" in done.stderr
    assert TOKEN not in done.stderr


@pytest.mark.parametrize("name", OPERATOR_ONLY)
def test_planted_dotenv_setting_an_operator_only_variable_stops_start_up(name, fake, tmp_path, cli):
    (tmp_path / ".env").write_text(f"{name}={HOSTILE_VALUES[name]}\n")
    done = cli([], fake_env(fake), tmp_path)
    assert_refused_at_start(done, name, str(tmp_path / ".env"), "--env-file")
    if name in FLAGS:
        assert FLAGS[name] in done.stderr  # the flag is named as the other place to set it
    assert fake.requests == []


def test_planted_dotenv_is_refused_by_doctor_too(fake, tmp_path, cli):
    (tmp_path / ".env").write_text("MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION=1\n")
    done = cli(["doctor"], fake_env(fake), tmp_path)
    assert done.returncode == 1 and "PROBLEM" in done.stdout and "Traceback" not in done.stderr
    assert "MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION" in done.stdout and str(tmp_path / ".env") in done.stdout
    assert fake.requests == []


def test_dotenv_found_in_the_working_directory_may_set_credentials_account_and_harmless_settings(
    fake, tmp_path, cli, monkeypatch
):
    (tmp_path / ".env").write_text(
        f"CLOUDFLARE_API_TOKEN={TOKEN}\nCLOUDFLARE_ACCOUNT_ID={ACCOUNT}\nMCP_OAUTH_CLIENTS_LOG_LEVEL=INFO\n"
        "MCP_OAUTH_CLIENTS_TIMEOUT=10\nMCP_OAUTH_CLIENTS_MAX_RETRIES=1\n"
    )
    env = clean_env(CLOUDFLARE_BASE_URL=fake.base_url)
    done = cli([], env, tmp_path)
    assert done.returncode == 0, done.stderr  # it would serve
    monkeypatch.chdir(tmp_path)
    client = MemoryClient(env)
    try:
        error, text, _ = client.text("get_oauth_client", {"oauth_client_id": CLIENT})
    finally:
        client.close()
    assert not error, text
    assert fake.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"


def test_env_file_the_operator_names_may_set_operator_only_variables(fake, tmp_path):
    named = tmp_path / "operator.env"
    named.write_text(f"CLOUDFLARE_BASE_URL={fake.base_url}\nMCP_OAUTH_CLIENTS_READ_ONLY=1\n")
    client = MemoryClient(clean_env(CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_ACCOUNT_ID=ACCOUNT), env_file=named)
    try:
        read = client.call("get_oauth_client", {"oauth_client_id": CLIENT})
        write = client.call("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
    finally:
        client.close()
    assert not read.get("isError") and write["isError"] and "read-only" in write["content"][0]["text"].lower()
    assert fake.writes() == []


def test_no_variable_is_ever_expanded_in_a_found_dotenv(tmp_path, cli):
    # The refusal of a bad log level says only its length: that of the literal text, not of the token.
    literal = "${CLOUDFLARE_API_TOKEN}"
    assert len(literal) != len(TOKEN)
    (tmp_path / ".env").write_text(f"MCP_OAUTH_CLIENTS_LOG_LEVEL={literal}\n")
    done = cli([], clean_env(CLOUDFLARE_API_TOKEN=TOKEN), tmp_path)
    assert done.returncode == 2 and f"({len(literal)} characters)" in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_no_variable_is_ever_expanded_in_a_named_env_file(fake, tmp_path, cli):
    # doctor shows every setting that is not a secret: an expanded value would print the token.
    named = tmp_path / "operator.env"
    named.write_text("MCP_OAUTH_CLIENTS_AUDIT_LOG=${CLOUDFLARE_API_TOKEN}\n")
    done = cli(["doctor", "--env-file", str(named)], fake_env(fake), tmp_path)
    assert "${CLOUDFLARE_API_TOKEN}" in done.stdout
    assert TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/client/v4",  # plain http beyond loopback
        "http://10.0.0.1/client/v4",
        "http://127.0.0.1.attacker.example/client/v4",
        "https://user:pa55word@api.cloudflare.com/client/v4",  # userinfo
        "ftp://api.cloudflare.com/client/v4",
        "api.cloudflare.com/client/v4",  # no scheme
    ],
)
def test_base_url_must_be_https_or_loopback_http_without_userinfo(url, tmp_path, cli):
    done = cli([], clean_env(CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_BASE_URL=url), tmp_path)
    assert_refused_at_start(done, "CLOUDFLARE_BASE_URL")
    assert "pa55word" not in done.stderr


def test_malformed_default_account_stops_start_up_and_doctor_calls_it_malformed(fake, tmp_path, cli):
    env = fake_env(fake, CLOUDFLARE_ACCOUNT_ID="023e105f4ecef8ad9ca31a8372d0c35")  # one character short
    server = cli([], env, tmp_path)
    doctor = cli(["doctor"], env, tmp_path)
    assert_refused_at_start(server, "CLOUDFLARE_ACCOUNT_ID")
    assert doctor.returncode == 1 and "malformed" in doctor.stdout and "PROBLEM" in doctor.stdout
    assert "not found" not in doctor.stdout
    assert fake.requests == []


def test_malformed_allowed_account_stops_start_up(fake, tmp_path, cli):
    done = cli([], fake_env(fake, MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS=f"{ACCOUNT},acme"), tmp_path)
    assert_refused_at_start(done, "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS")
    assert "malformed" in done.stderr


@pytest.mark.parametrize("where", ["found", "named"])
def test_non_utf8_env_file_is_a_configuration_error_naming_the_file(where, fake, tmp_path, cli):
    path = tmp_path / (".env" if where == "found" else "latin1.env")
    path.write_bytes("CLOUDFLARE_ACCOUNT_ID=caf\xe9\n".encode("latin-1"))
    args = ["--env-file", str(path)] if where == "named" else []
    done = cli(args, fake_env(fake), tmp_path)
    assert_refused_at_start(done, str(path), "UTF-8")


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_unreadable_env_file_is_a_configuration_error_naming_the_file(fake, tmp_path, cli):
    # /proc/self/mem is a regular file whose first bytes nobody can read, not even root (EIO).
    done = cli(["--env-file", "/proc/self/mem"], fake_env(fake), tmp_path)
    assert_refused_at_start(done, "/proc/self/mem", "cannot be read")


def test_env_file_that_is_a_directory_is_a_configuration_error(fake, tmp_path, cli):
    (tmp_path / "conf").mkdir()
    done = cli(["--env-file", str(tmp_path / "conf")], fake_env(fake), tmp_path)
    assert_refused_at_start(done, str(tmp_path / "conf"), "directory")


def test_dotenv_found_as_a_link_to_a_device_is_refused_not_read(fake, tmp_path, cli):
    # A link to /dev/stdin would eat the JSON-RPC stream; one to /dev/zero would never end.
    (tmp_path / ".env").symlink_to("/dev/zero")
    done = cli([], fake_env(fake), tmp_path)
    assert_refused_at_start(done, str(tmp_path / ".env"), "not a regular file")


def test_short_http_token_is_refused_for_a_non_loopback_bind(cli):
    done = cli(
        ["--sandbox", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "8000"],
        clean_env(
            MCP_OAUTH_CLIENTS_HTTP_TOKEN="only-24-characters-long!",
            MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS="mcp.example.com",
        ),
    )
    assert_refused_at_start(done, "MCP_OAUTH_CLIENTS_HTTP_TOKEN", "32")
    assert "only-24-characters-long!" not in done.stderr


# --- the one table, and every place that repeats it ---


def test_trust_table_has_a_row_for_every_variable():
    assert list(FOUND_DOTENV) == list(VARIABLES)
    assert set(OPERATOR_ONLY) == set(HOSTILE_VALUES)


def test_help_groups_variables_as_the_trust_table_does(cli):
    out = cli(["--help"], clean_env()).stdout
    found_part, operator_part = out.split("These only from the environment")
    assert "These may also come from a .env found in the working directory" in found_part
    for name in VARIABLES:
        assert (name in found_part) == found_dotenv_may_set(name), name
        assert (name in operator_part) != found_dotenv_may_set(name), name


def test_env_example_puts_operator_only_variables_after_its_marker():
    text = (ROOT / ".env.example").read_text()
    found_part, operator_part = text.split("# ==== Operator only")
    for name in VARIABLES:
        in_found = re.search(rf"^#? ?{name}=", found_part, re.M) is not None
        in_operator = re.search(rf"^#? ?{name}=", operator_part, re.M) is not None
        assert (in_found, in_operator) == (found_dotenv_may_set(name), not found_dotenv_may_set(name)), name


def test_the_configuration_page_trust_table_lists_what_a_found_dotenv_may_and_may_not_set():
    page = (ROOT / "docs" / "configuration.md").read_text()
    row = next(line for line in page.splitlines() if line.startswith("| a `.env` found in the working directory"))
    _, source, may, may_not, _ = row.split("|")
    assert set(re.findall(r"`([A-Z_]+)`", may)) == {n for n in VARIABLES if found_dotenv_may_set(n)}
    assert set(re.findall(r"`([A-Z_]+)`", may_not)) == set(OPERATOR_ONLY)


def test_http_token_of_32_characters_or_a_loopback_bind_is_accepted():
    from mcp_oauth_clients.config import Settings, check_http_bind

    check_http_bind(Settings(http_token="x" * 32, http_allowed_hosts=("mcp.example.com",)), "0.0.0.0")
    check_http_bind(Settings(http_token="short"), "127.0.0.1")
