"""`mcp-oauth-clients doctor` against the loopback fake: each problem reported with its fix, exit code non-zero."""

from __future__ import annotations

import io
import subprocess

import pytest

from mcp_oauth_clients.config import Credentials
from mcp_oauth_clients.doctor import run_doctor
from mcp_oauth_clients.emulator import CloudflareEmulator
from tests.conftest import ACCOUNT, settings_for
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
