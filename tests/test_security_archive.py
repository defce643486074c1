"""Encryption at rest of the archived originals (PIPL): AES-GCM with a key from the config."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from config import load_settings
from config.settings import PrivacySettings
from tests.test_security_support import accounts_of, add_user, bearer, make_app, make_settings
from traceability.accounts.cli import archive as archive_cli
from traceability.accounts.unmask import unmask
from traceability.app.web import close_app
from traceability.demo.generator.files import write_world
from traceability.formats.archive import MAGIC, Archive, ArchiveKeyError, new_key, parse_key
from traceability.formats.ceb.xml import read_message
from traceability.ingest.ingestor import collect_files

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
REASON = "涉嫌走私案件侦查需要核实购买人身份"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """CEB311 order messages of three small generated worlds, as received."""
    root = tmp_path_factory.mktemp("archive-world")
    messages = []
    for seed in (1, 2, 3):
        write_world(40, seed, root / f"world{seed}")
        folder = root / f"world{seed}" / "ceb" / "CEB311"
        messages += [p.read_bytes() for p in sorted(folder.glob("*.xml"))]
    assert len(set(messages)) == len(messages) >= 3
    return messages


def _head(data: bytes) -> dict[str, str]:
    return read_message(data).records[0].head


def _personal(data: bytes) -> list[bytes]:
    head = _head(data)
    values = [head["buyerIdNumber"], head["buyerTelephone"], head["consigneeTelephone"]]
    return [v.encode() for v in values if v]


def test_with_a_key_no_file_holds_personal_data_in_clear(tmp_path: Path, world) -> None:
    old = os.umask(0)  # 0600 from creation, whatever the umask
    try:
        archive = Archive(tmp_path / "archive", KEY)
        paths = [archive.keep("CEB311", data) for data in world]
    finally:
        os.umask(old)
    assert len(set(paths)) == len(world)
    for data, path in zip(world, paths, strict=True):
        stored = path.read_bytes()
        assert path.name == f"{hashlib.sha256(data).hexdigest()}.xml"  # named by the plaintext
        assert stored.startswith(MAGIC) and stored != data
        assert path.stat().st_mode & 0o777 == 0o600
        for value in _personal(data):
            assert value not in stored
        assert archive.read(path) == data
    assert (tmp_path / "archive" / "CEB311").stat().st_mode & 0o777 == 0o700
    assert not list((tmp_path / "archive").rglob(".*.part"))
    # Same message, same file; and a fresh nonce per file: equal plaintexts never show.
    again = archive.keep("CEB311", world[0])
    assert again == paths[0] and again.read_bytes() == paths[0].read_bytes()
    other = Archive(tmp_path / "other", KEY).keep("CEB311", world[0])
    assert other.read_bytes() != paths[0].read_bytes()


def test_a_wrong_or_missing_key_fails_clearly(tmp_path: Path, world) -> None:
    path = Archive(tmp_path, KEY).keep("CEB311", world[0])
    with pytest.raises(ArchiveKeyError, match="archive_key"):
        Archive(tmp_path, OTHER_KEY).read(path)
    with pytest.raises(ArchiveKeyError, match="未配置"):
        Archive(tmp_path).read(path)
    moved = path.with_name("0" * 64 + ".xml")  # the name is associated data
    path.rename(moved)
    with pytest.raises(ArchiveKeyError):
        Archive(tmp_path, KEY).read(moved)


def test_plain_files_from_before_the_key_stay_readable_and_can_be_encrypted(
    tmp_path: Path, world
) -> None:
    plain = Archive(tmp_path).keep("CEB311", world[0])
    assert plain.read_bytes() == world[0]
    keyed = Archive(tmp_path, KEY)
    assert keyed.read(plain) == world[0]
    assert keyed.encrypt_existing() == (1, 0)
    assert plain.read_bytes().startswith(MAGIC) and plain.stat().st_mode & 0o777 == 0o600
    assert keyed.read(plain) == world[0]
    assert keyed.encrypt_existing() == (0, 1)


def test_key_setting_format() -> None:
    assert parse_key("") is None and parse_key("  ") is None
    assert parse_key(base64.b64encode(KEY).decode()) == KEY
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError, match="archive_key"):
            parse_key(bad)
    generated = CliRunner().invoke(archive_cli, ["keygen"])
    assert generated.exit_code == 0 and len(parse_key(generated.output.strip()) or b"") == 32
    assert new_key() != new_key()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, world):
    """An app whose archive is encrypted, with old plain files next to the encrypted ones."""
    root = tmp_path_factory.mktemp("archive-site")
    app, services = make_app(make_settings(root))
    service = accounts_of(services)
    service.archive = Archive(service.archive.root, KEY)
    for data in world[1:]:
        service.archive.keep("CEB311", data)
    Archive(service.archive.root).keep("CEB311", world[0])  # written before the key was set
    add_user(services, "police", "public_security")
    yield app, services
    close_app(app)


@pytest.mark.parametrize("index", [0, -1], ids=["plain-legacy-file", "encrypted-file"])
def test_unmasking_reads_through_the_encryption(site, world, index: int) -> None:
    app, services = site
    head = _head(world[index])
    body = {"kind": "order", "key": f"{head['ebpCode']}:{head['orderNo']}", "reason": REASON}
    response = app.test_client().post(
        "/api/v1/unmask", json=body, headers=bearer(services, "police")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["fields"]["buyerIdNumber"] == head["buyerIdNumber"]


def test_unmasking_with_a_wrong_key_fails_clearly_and_is_still_audited(site, world) -> None:
    app, services = site
    service = accounts_of(services)
    right = service.archive
    service.archive = Archive(right.root, OTHER_KEY)
    head = _head(world[-1])
    body = {"kind": "order", "key": f"{head['ebpCode']}:{head['orderNo']}", "reason": REASON}
    try:
        response = app.test_client().post(
            "/api/v1/unmask", json=body, headers=bearer(services, "police")
        )
    finally:
        service.archive = right
    assert response.status_code == 500
    problem = response.get_json()
    assert problem["code"] == "archive_key" and "archive_key" in problem["detail"]
    assert head["buyerIdNumber"] not in response.get_data(as_text=True)
    audited = [e for e in service.store.audit_entries(20) if e["action"] == "pii.unmask"]
    assert audited and audited[0]["target"] == body["kind"] + ":" + body["key"]


def test_the_unmask_function_still_takes_a_plain_folder(tmp_path: Path, world) -> None:
    """The cases feature passes the archive folder (unencrypted files only)."""
    app, services = make_app(make_settings(tmp_path))
    try:
        Archive(tmp_path / "a").keep("CEB311", world[0])
        head = _head(world[0])
        key = f"{head['ebpCode']}:{head['orderNo']}"
        body = {"kind": "order", "key": key, "reason": REASON}
        found = unmask(accounts_of(services).store, tmp_path / "a", "police", body)
        assert found["fields"]["buyerIdNumber"] == head["buyerIdNumber"]
    finally:
        close_app(app)


@pytest.mark.skipif(
    "archive_key" not in PrivacySettings.model_fields,
    reason="config.settings.PrivacySettings has no archive_key yet (the lead's change)",
)
def test_ingested_originals_are_encrypted_with_the_configured_key(tmp_path: Path) -> None:
    """End to end: ``QTRACE_PRIVACY__ARCHIVE_KEY`` -> the ingestor's archive -> unmasking."""
    write_world(40, 5, tmp_path / "world")
    (tmp_path / "site.toml").write_text("[accounts]\nrequired = true\n", encoding="utf-8")
    environ = {
        "QTRACE_DATA_DIR": str(tmp_path / "var"),
        "QTRACE_PRIVACY__ARCHIVE_KEY": base64.b64encode(KEY).decode(),
    }
    app, services = make_app(load_settings(tmp_path / "site.toml", environ=environ))
    try:
        assert accounts_of(services).archive.encrypted
        assert services.ingestor().ingest_paths(collect_files([tmp_path / "world"])).ok
        source = next((tmp_path / "world" / "ceb" / "CEB311").glob("*.xml")).read_bytes()
        archived = sorted((tmp_path / "var" / "archive").rglob("*.*"))
        assert archived and all(p.read_bytes().startswith(MAGIC) for p in archived)
        for value in _personal(source):
            assert all(value not in p.read_bytes() for p in archived)
        add_user(services, "police", "public_security")
        head = _head(source)
        body = {"kind": "order", "key": f"{head['ebpCode']}:{head['orderNo']}", "reason": REASON}
        response = app.test_client().post(
            "/api/v1/unmask", json=body, headers=bearer(services, "police")
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["fields"]["buyerIdNumber"] == head["buyerIdNumber"]
    finally:
        close_app(app)
