"""The README and .env.example tell the truth about what the code does."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from mcp_oauth_clients.cli import RedactSecrets
from mcp_oauth_clients.config import VARIABLES
from tests.npm_tools import INSTALL_COMMAND

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_variable():
    text = (ROOT / ".env.example").read_text()
    for name in VARIABLES:
        assert re.search(rf"^#? ?{name}=", text, re.M), name


def test_the_configuration_page_documents_every_variable():
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name in VARIABLES:
        assert f"`{name}`" in text, name


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    test_command = blocks[1].strip()
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == test_command


def test_ci_installs_the_outside_tools_before_the_tests_and_makes_them_run():
    ci = [line.split("#")[0].strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "set -euo pipefail" in ci  # a failed install stops CI; pytest's exit code is the script's
    assert "export CI=true" in ci  # the outside checks run, and fail when a tool is missing
    assert ci.index(INSTALL_COMMAND) < len(ci) - 1


def test_redaction_filter_masks_secrets():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token is %s", ("sekrit-123",), None)
    RedactSecrets(["sekrit-123"]).filter(record)
    assert record.getMessage() == "token is [REDACTED]"


def test_redaction_filter_masks_secrets_in_tracebacks():
    try:
        raise KeyError("boom sekrit-123")
    except KeyError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "crashed", None, sys.exc_info())
    RedactSecrets(["sekrit-123"]).filter(record)
    formatted = logging.Formatter().format(record)
    assert "sekrit-123" not in formatted and "[REDACTED]" in formatted and "KeyError" in formatted
