"""`mcp-oauth-clients doctor` against the loopback fake: each problem reported with its fix, exit code non-zero.

Doctor runs in this process: `run_doctor` itself, or the command line (`cli`) for its flags and environment;
one test runs the console script, for the exit code a process returns."""

from __future__ import annotations

import io
import subprocess

import pytest

from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.doctor import Report, run_doctor
from mcp_oauth_clients.emulator import CloudflareEmulator
from mcp_oauth_clients.errors import TransportFailure
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN, FakeCloudflare
from tests.stdio_client import SCRIPT, clean_env, fake_env

pytestmark = pytest.mark.anyio


async def doctor(settings) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_doctor(settings, out)
    return code, out.getvalue()


async def test_a_good_token_passes_every_check(fake):
    code, text = await doctor(settings_for(fake.base_url))
    assert code == 0, text
    assert "Cloudflare accepts the token" in text and '"OAuth Client Read"' in text and '"OAuth Client Write"' in text
    assert TOKEN not in text and "CLOUDFLARE_API_TOKEN" in text
    assert not fake.writes() or all(r.path.endswith("doctor-probe") for r in fake.writes())  # the probe wrote nothing
    assert fake.emulator.clients[(ACCOUNT, "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4")]["client_name"] == "Demo OAuth App"


async def test_missing_token_is_a_problem_with_the_fix(fake):
    code, text = await doctor(settings_for(fake.base_url, credentials=Credentials()))
    assert code == 1 and "no Cloudflare credentials" in text and "OAuth Client Read" in text
    assert fake.requests == []


async def test_rejected_token_is_a_problem_with_the_fix(fake):
    code, text = await doctor(settings_for(fake.base_url, credentials=Credentials(api_token="revoked-token-123")))
    assert code == 1 and "Cloudflare rejected the token" in text and "Create Token" in text
    assert "revoked-token-123" not in text


async def test_token_without_read_access_names_the_missing_permission():
    with FakeCloudflare(CloudflareEmulator(tokens={TOKEN: set()})) as fake:
        code, text = await doctor(settings_for(fake.base_url))
    assert code == 1 and 'missing "OAuth Client Read"' in text


async def test_token_without_write_access_names_the_missing_permission():
    with FakeCloudflare(CloudflareEmulator(tokens={TOKEN: {"read"}})) as fake:
        code, text = await doctor(settings_for(fake.base_url))
    assert code == 1 and 'missing "OAuth Client Write"' in text and "--read-only" in text


@pytest.mark.e2e
def test_doctor_command_exits_non_zero_on_a_problem_and_zero_in_the_sandbox(fake):
    bad = subprocess.run(
        [SCRIPT, "doctor"],
        env=fake_env(fake, CLOUDFLARE_API_TOKEN="wrong-token-xyz"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    good = subprocess.run([SCRIPT, "doctor", "--sandbox"], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "PROBLEM" in bad.stdout and "wrong-token-xyz" not in bad.stdout + bad.stderr
    assert "CLOUDFLARE_BASE_URL" in bad.stdout and fake.base_url in bad.stdout  # where settings came from
    assert good.returncode == 0 and "All checks passed." in good.stdout


def checks_part(stdout: str) -> str:
    """The lines after "Checks:" (the settings part lists every variable by name, the token's included)."""
    return stdout.split("Checks:", 1)[1]


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_read_only_doctor_sends_no_write_probe_and_says_why(how, fake, cli):
    env = fake_env(fake, **({"MCP_OAUTH_CLIENTS_READ_ONLY": "1"} if how == "environment" else {}))
    done = cli(["doctor", *(["--read-only"] if how == "flag" else [])], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"OAuth Client Write" not checked: the server is read-only' in done.stdout
    assert fake.writes() == [] and fake.requests  # it did read


def test_default_account_outside_the_allow_list_is_a_problem_and_nothing_is_sent(fake, cli):
    done = cli(["doctor", "--allowed-accounts", "f" * 32], fake_env(fake))
    assert done.returncode == 1 and "PROBLEM" in done.stdout
    assert f"the default account {ACCOUNT} is not in MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS" in done.stdout
    assert fake.requests == []


def test_doctor_counts_in_correct_grammar(fake, cli):
    for key in [k for k in fake.emulator.clients if k[1] != CLIENT]:
        del fake.emulator.clients[key]  # the fake seeds three clients; grammar needs exactly one
    one = cli(["doctor"], fake_env(fake))
    none = cli(["doctor"], fake_env(fake, CLOUDFLARE_ACCOUNT_ID="e" * 32))
    bad = cli(["doctor"], fake_env(fake, CLOUDFLARE_API_TOKEN="wrong-token-xyz"))
    assert "the token can list the 1 OAuth client of account" in one.stdout
    assert "the token can list the 0 OAuth clients of account" in none.stdout
    assert bad.stdout.rstrip().endswith("\n1 problem found.")
    assert "(s)" not in one.stdout + none.stdout + bad.stdout


def test_unreachable_cloudflare_is_diagnosed_after_1_attempt_without_tool_text(cli):
    from tests.test_http import free_port

    closed = f"http://127.0.0.1:{free_port()}/client/v4"
    done = cli(
        ["doctor"], clean_env(CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_ACCOUNT_ID=ACCOUNT, CLOUDFLARE_BASE_URL=closed)
    )
    assert done.returncode == 1
    assert f"could not reach Cloudflare at {closed} after 1 attempt" in done.stdout
    assert "attempts" not in done.stdout and "Nothing was" not in done.stdout


def test_sandbox_doctor_speaks_of_the_sandbox_never_of_a_token(cli):
    done = cli(["doctor", "--sandbox"], clean_env())
    checks = checks_part(done.stdout)
    assert done.returncode == 0 and "the sandbox holds 3 OAuth clients in account" in checks
    assert "token" not in checks.lower()


def test_without_a_token_doctor_shows_the_three_ways_to_set_it_and_the_sandbox(cli):
    done = cli(["doctor"], clean_env())
    checks = checks_part(done.stdout)
    assert done.returncode == 1 and "no Cloudflare credentials" in checks
    assert '"env": {"CLOUDFLARE_API_TOKEN": "..."}' in checks  # the MCP client's configuration
    assert "export CLOUDFLARE_API_TOKEN=" in checks  # a shell
    assert ".env file in the working directory" in checks and "--env-file PATH" in checks
    assert "mcp-oauth-clients --sandbox" in checks


async def test_doctor_reports_a_short_http_token_it_would_refuse_beyond_loopback(fake):
    code, text = await doctor(settings_for(fake.base_url, http_token="x" * 31))
    assert "MCP_OAUTH_CLIENTS_HTTP_TOKEN has 31 characters" in text and "x" * 31 not in text


async def test_every_doctor_line_goes_through_report(fake, monkeypatch):
    # One place to filter what doctor prints: redaction added there covers every line.
    through_report: list[str] = []
    original = Report.line

    def recording(self, text):
        through_report.append(text)
        original(self, text)

    monkeypatch.setattr(Report, "line", recording)
    code, text = await doctor(settings_for(fake.base_url, credentials=Credentials(api_token="revoked-token-123")))
    assert text.splitlines() == "\n".join(through_report).splitlines() and code == 1


def test_global_flags_may_come_before_doctor_as_well_as_after_it(cli):
    done = cli(["--sandbox", "doctor"], clean_env())
    assert done.returncode == 0 and "the sandbox holds 3 OAuth clients" in done.stdout, done.stdout + done.stderr


def test_a_flag_after_doctor_adds_to_those_before_it_and_never_resets_them():
    from mcp_oauth_clients.cli import _parser

    args = _parser().parse_args(["--sandbox", "--port", "9000", "doctor", "--read-only"])
    assert (args.command, args.sandbox, args.read_only, args.port, args.transport) == (
        "doctor",
        True,
        True,
        9000,
        "stdio",
    )
    after = _parser().parse_args(["doctor", "--sandbox", "--transport", "streamable-http"])
    assert after.sandbox and after.transport == "streamable-http" and after.host == "127.0.0.1"


async def test_doctor_checks_an_http_deployment_as_the_server_would_refuse_it():
    from tests.test_http import free_port

    short = Settings(sandbox=True, http_token="x" * 31, http_allowed_hosts=("mcp.example.com",))
    code, text = await doctor_at(short, ("0.0.0.0", free_port()))
    assert code == 1 and "MCP_OAUTH_CLIENTS_HTTP_TOKEN has 31 characters, fewer than 32" in text
    no_hosts = Settings(sandbox=True, http_token="x" * 32)
    code, text = await doctor_at(no_hosts, ("0.0.0.0", free_port()))
    assert code == 1 and "needs MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS" in text
    port = free_port()
    code, text = await doctor_at(Settings(sandbox=True), ("127.0.0.1", port))
    assert code == 0 and f"port {port} on 127.0.0.1 is free to listen on" in text
    assert "bearer token not required (loopback only)" in text


async def test_doctor_names_a_port_already_in_use():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, text = await doctor_at(Settings(sandbox=True), ("127.0.0.1", port))
    assert code == 1 and f"cannot listen on port {port} of 127.0.0.1: the port is already in use" in text
    assert "Errno" not in text


async def doctor_at(settings: Settings, listen: tuple[str, int]) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_doctor(settings, out, listen=listen)
    return code, out.getvalue()


async def test_an_unreachable_cloudflare_is_described_from_the_failures_problem_field(fake, monkeypatch):
    from mcp_oauth_clients.cloudflare_client import CloudflareClient

    async def unreachable(self, *args, **kwargs):
        raise TransportFailure("prose doctor must not read (not this)", problem="connection refused")

    monkeypatch.setattr(CloudflareClient, "request", unreachable)
    code, text = await doctor(settings_for(fake.base_url))
    assert code == 1 and f"could not reach Cloudflare at {fake.base_url} after 1 attempt (connection refused)" in text
    assert "prose" not in text and "not this" not in text


async def test_a_rate_limited_check_is_described_from_its_status_codes_and_wait(fake, monkeypatch):
    from mcp_oauth_clients.cloudflare_client import CloudflareClient
    from mcp_oauth_clients.errors import CloudflareMessage, RateLimited, ToolFailure

    class Limited(RateLimited):
        """A rate limit with its fields set and prose doctor must not read."""

        def __init__(self) -> None:
            ToolFailure.__init__(self, "prose")
            self.status, self.errors, self.summary, self.request_id = (
                429,
                [CloudflareMessage(971, "Please wait")],
                "",
                None,
            )
            self.retry_after = 300.0

    async def limited(self, method, path, **kwargs):
        if path.endswith("/verify"):
            return await original(self, method, path, **kwargs)
        raise Limited()

    original = CloudflareClient.request
    monkeypatch.setattr(CloudflareClient, "request", limited)
    code, text = await doctor(settings_for(fake.base_url))
    assert code == 1
    assert 'Cloudflare is rate limiting this token: it asks to wait for 300 s (HTTP 429; [971] "Please wait")' in text
    assert "prose" not in text
