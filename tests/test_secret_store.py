"""The secret store: a new 0600 file in a 0700 folder, made before the request leaves, or a refusal."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mcp_oauth_clients.errors import Refused
from mcp_oauth_clients.secret_store import (
    SecretNotStorable,
    SecretNotWritten,
    SecretStore,
    StoredSecret,
    default_folder,
    fingerprint,
)

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
CLIENT_ID = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4"
SECRET = "cf-s3cret-Xq9ZkR2mW7vB4nT1yL0pA8sD6fG3hJ5k"
NOON = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="modes and owners are POSIX facts")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    return SecretStore(tmp_path / "data" / "secrets", clock=lambda: NOON)


def test_a_reservation_is_an_empty_0600_file_in_a_new_0700_folder_before_any_secret_exists(store):
    reservation = store.reserve(ACCOUNT, "New App")
    assert reservation.path.parent == store.folder
    assert reservation.path.read_bytes() == b""
    assert (mode(store.folder), mode(reservation.path)) == (0o700, 0o600)
    assert reservation.path.name == f"{ACCOUNT}__New-App.secret"


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_the_modes_are_exactly_0700_and_0600_whatever_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        reservation = SecretStore(tmp_path / "secrets").reserve(ACCOUNT, CLIENT_ID)
        stored = reservation.write(SECRET, client_id=CLIENT_ID, kind="created")
    finally:
        os.umask(previous)
    assert (mode(tmp_path / "secrets"), mode(stored.path)) == (0o700, 0o600)


def test_write_keeps_the_secret_under_a_short_header_and_answers_only_the_path_and_a_fingerprint(store):
    stored = store.reserve(ACCOUNT, "New App").write(SECRET, client_id=CLIENT_ID, kind="created")
    assert stored == StoredSecret(
        store.folder / f"{ACCOUNT}__New-App.secret", hashlib.sha256(SECRET.encode()).hexdigest()[:8]
    )
    lines = stored.path.read_text().splitlines()
    fields = dict(line.split(": ", 1) for line in lines if not line.startswith("#"))
    assert fields == {
        "account_id": ACCOUNT,
        "client_id": CLIENT_ID,
        "written_at": "2026-03-01T12:00:00Z",
        "what": "the client's secret, issued when the client was created",
        "client_secret": SECRET,
    }
    assert len(lines) == 7 and stored.path.read_text().count(SECRET) == 1


def test_a_rotated_secret_says_the_previous_one_works_until_the_rotated_secret_is_deleted(store):
    stored = store.reserve(ACCOUNT, CLIENT_ID).write(SECRET, client_id=CLIENT_ID, kind="rotated")
    assert "what: the client's new secret, from a rotation; the previous secret keeps working until" in (
        stored.path.read_text()
    )


def test_the_fingerprint_is_the_first_8_hex_of_the_secrets_sha256():
    assert fingerprint(SECRET) == hashlib.sha256(SECRET.encode()).hexdigest()[:8]
    assert re.fullmatch(r"[0-9a-f]{8}", fingerprint(SECRET)) and fingerprint(SECRET) != fingerprint(SECRET + "x")


def test_the_secret_is_in_no_repr_or_str_of_anything_the_store_returns_or_raises(store, caplog):
    caplog.set_level(logging.DEBUG)
    reservation = store.reserve(ACCOUNT, "App")
    stored = reservation.write(SECRET, client_id=CLIENT_ID, kind="created")
    odd = store.reserve(ACCOUNT, "App")
    with pytest.raises(SecretNotWritten) as refused:
        odd.write(SECRET + "\n" + SECRET, client_id=CLIENT_ID, kind="created")
    seen = [store, reservation, stored, stored.path, stored.fingerprint, odd, refused.value]
    text = " ".join(repr(x) + str(x) for x in seen) + repr(vars(reservation)) + repr(vars(refused.value))
    assert SECRET not in text and SECRET[:12] not in text
    assert caplog.records == []  # the store logs nothing at all


def test_a_taken_name_gets_a_numbered_suffix_and_the_existing_file_is_left_alone(store):
    first = store.reserve(ACCOUNT, "App")
    first.write("first-secret-value", client_id=CLIENT_ID, kind="created")
    before = first.path.read_bytes()
    second = store.reserve(ACCOUNT, "App")
    third = store.reserve(ACCOUNT, "App")
    assert [second.path.name, third.path.name] == [f"{ACCOUNT}__App-2.secret", f"{ACCOUNT}__App-3.secret"]
    assert first.path.read_bytes() == before


def test_a_name_taken_by_a_symlink_is_never_followed(store, tmp_path):
    store.reserve(ACCOUNT, "App").discard()  # makes the folder
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    (store.folder / f"{ACCOUNT}__App.secret").symlink_to(target)
    stored = store.reserve(ACCOUNT, "App").write(SECRET, client_id=CLIENT_ID, kind="created")
    assert stored.path.name == f"{ACCOUNT}__App-2.secret" and not stored.path.is_symlink()
    assert target.read_text() == "keep me"


def test_a_folder_that_is_a_symlink_is_refused_and_nothing_is_created_behind_it(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(SecretNotStorable) as refused:
        SecretStore(tmp_path / "link").reserve(ACCOUNT, "App")
    assert refused.value.problem == "folder_is_symlink" and list(real.iterdir()) == []


def test_a_folder_others_can_enter_is_refused_and_left_as_it_was(tmp_path):
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o755)
    with pytest.raises(SecretNotStorable) as refused:
        SecretStore(folder).reserve(ACCOUNT, "App")
    assert refused.value.problem == "folder_too_open"
    assert mode(folder) == 0o755 and list(folder.iterdir()) == []


def test_a_folder_owned_by_another_user_is_refused(tmp_path):
    if os.geteuid() == 0:
        folder = tmp_path / "theirs"
        folder.mkdir(mode=0o700)
        os.chown(folder, 65534, 65534)
    else:
        folder = Path("/")  # root's, whoever runs the tests
    with pytest.raises(SecretNotStorable) as refused:
        SecretStore(folder).reserve(ACCOUNT, "App")
    assert refused.value.problem == "folder_not_yours"


def test_a_folder_that_cannot_be_created_is_refused(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SecretNotStorable) as refused:
        SecretStore(tmp_path / "a-file" / "secrets").reserve(ACCOUNT, "App")
    assert refused.value.problem == "folder_not_creatable"


def test_a_folder_path_that_holds_a_file_is_refused(tmp_path):
    (tmp_path / "secrets").write_text("not a folder")
    with pytest.raises(SecretNotStorable) as refused:
        SecretStore(tmp_path / "secrets").reserve(ACCOUNT, "App")
    assert refused.value.problem == "not_a_folder"


def test_a_refusal_is_a_guard_rail_refusal_saying_nothing_was_sent_and_how_to_fix_it(tmp_path):
    (tmp_path / "secrets").write_text("")
    with pytest.raises(SecretNotStorable) as refused:
        SecretStore(tmp_path / "secrets").reserve(ACCOUNT, "App")
    failure = refused.value
    assert isinstance(failure, Refused) and failure.audit_outcome == "refused"
    assert failure.message.startswith("Refused before sending anything: the secrets folder's path is not a folder")
    assert str(tmp_path / "secrets") in failure.message and "MCP_OAUTH_CLIENTS_SECRETS_DIR" in str(failure)


HOSTILE = [
    "../../etc/passwd",
    "/etc/shadow",
    "..",
    ".hidden",
    "a/b\\c",
    "x\x00y",
    "\u202egnp.exe",
    "client\nname",
    "",
    "-rf",
    "A" * 500,
    "ｆｕｌｌｗｉｄｔｈ",
    "C:\\Windows\\system32",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_becomes_one_plain_file_directly_inside_the_folder(store, name):
    reservation = store.reserve(name, name)
    assert reservation.path.parent == store.folder
    assert re.fullmatch(
        r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}__[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.secret", reservation.path.name
    )
    assert [p.name for p in store.folder.iterdir()] == [reservation.path.name]


def test_an_empty_name_still_says_what_the_file_is_for(store):
    assert store.reserve("", "").path.name == "account__client.secret"


def test_a_hostile_client_id_cannot_add_a_line_to_the_file(store):
    stored = store.reserve(ACCOUNT, "App").write(SECRET, client_id="x\nclient_secret: attacker", kind="created")
    lines = stored.path.read_text().splitlines()
    assert [line for line in lines if line.startswith("client_secret:")] == [f"client_secret: {SECRET}"]
    assert len(lines) == 7


def test_discard_removes_an_unused_file(store):
    reservation = store.reserve(ACCOUNT, "App")
    reservation.discard()
    assert not reservation.path.exists() and list(store.folder.iterdir()) == []


def test_leaving_a_reservation_unwritten_discards_it_and_leaving_it_written_keeps_it(store):
    with store.reserve(ACCOUNT, "Unused") as unused:
        pass
    with store.reserve(ACCOUNT, "Used") as used:
        used.write(SECRET, client_id=CLIENT_ID, kind="created")
    assert not unused.path.exists() and used.path.read_text().endswith(f"client_secret: {SECRET}\n")


def test_a_reservation_takes_one_secret_only(store):
    reservation = store.reserve(ACCOUNT, "App")
    reservation.write(SECRET, client_id=CLIENT_ID, kind="created")
    with pytest.raises(RuntimeError):
        reservation.write("another-secret", client_id=CLIENT_ID, kind="created")
    assert reservation.path.read_text().count(SECRET) == 1


@pytest.mark.parametrize("odd", ["", "two\nlines", " padded ", "tab\tinside"])
def test_a_secret_that_is_not_one_line_of_text_is_not_written_and_its_file_is_removed(store, odd):
    reservation = store.reserve(ACCOUNT, "App")
    with pytest.raises(SecretNotWritten):
        reservation.write(odd, client_id=CLIENT_ID, kind="created")
    assert not reservation.path.exists()


def test_a_write_that_fails_removes_the_file_and_names_it_without_the_secret(store):
    reservation = store.reserve(ACCOUNT, "App")
    os.close(reservation._fd)  # type: ignore[arg-type]  # the disk going away under the write, in effect
    with pytest.raises(SecretNotWritten) as failed:
        reservation.write(SECRET, client_id=CLIENT_ID, kind="created")
    assert failed.value.path == reservation.path and SECRET not in str(failed.value)
    assert not reservation.path.exists()


def test_the_default_folder_is_the_per_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if os.uname().sysname == "Linux":
        assert default_folder() == tmp_path / "xdg" / "mcp-oauth-clients" / "secrets"
    assert SecretStore().folder == default_folder()


def test_a_relative_folder_is_held_as_an_absolute_path(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    stored = SecretStore(Path("rel")).reserve(ACCOUNT, "App").write(SECRET, client_id=CLIENT_ID, kind="created")
    assert stored.path == tmp_path / "rel" / f"{ACCOUNT}__App.secret" and stored.path.is_absolute()
