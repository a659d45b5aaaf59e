"""Start-up says where things are (the database, where each key comes from, the docs), and an
invalid setting on the command line is one line with exit code 2, never a traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from service.__main__ import main
from service.config import Settings
from service.main import create_app
from tests.conftest import REPO_ROOT


def _start_up(caplog: pytest.LogCaptureFixture, settings: Settings) -> list[str]:
    caplog.set_level(logging.INFO, logger="service.main")
    caplog.clear()
    create_app(settings)
    return [r.getMessage() for r in caplog.records if r.name == "service.main"]


def test_start_up_names_the_sqlite_file_the_keys_and_the_docs(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    said = _start_up(
        caplog,
        Settings(
            database_url=f"sqlite:///{tmp_path / 'cds.db'}",
            public_base_url="https://cds.example/",
            auth="off",
            pseudonym_key=None,
            link_key=None,
            admin_token=None,
        ),
    )
    assert f"database: SQLite file {tmp_path / 'cds.db'}" in said
    assert (
        "keys: pseudonym key not set (no patient-linked storage); link key not set (a key of "
        "this process only); admin token not set (reports open)"
    ) in said
    assert (
        "API docs at https://cds.example/docs (try each endpoint there); dashboard at "
        "https://cds.example/dashboard"
    ) in said


def test_start_up_names_a_postgresql_database_without_its_password_or_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets = ("pg-hunter2", "p" * 40, "l" * 40, "admin-token-value")
    said = _start_up(
        caplog,
        Settings(
            database_url=f"postgresql+psycopg://cds:{secrets[0]}@db.example:5432/cds",
            pseudonym_key=SecretStr(secrets[1]),
            link_key=SecretStr(secrets[2]),
            admin_token=SecretStr(secrets[3]),
            auth="jwt",
        ),
    )
    assert "database: PostgreSQL database cds on db.example:5432 as cds" in said
    assert (
        "keys: pseudonym key from the environment (OPIOID_CDS_PSEUDONYM_KEY); link key from "
        "the environment (OPIOID_CDS_LINK_KEY); admin token from the environment "
        "(OPIOID_CDS_ADMIN_TOKEN)"
    ) in said
    for secret in secrets:
        assert secret not in caplog.text


def test_an_invalid_setting_is_one_line_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("OPIOID_CDS_WORKERS", "many-secret-words")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: invalid setting OPIOID_CDS_WORKERS: Input should be a valid integer, unable "
        "to parse string as an integer\n"
    )
    # Find catches ValueError (a ValidationError is one): the setting is still one line.
    assert main(["find", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("error: invalid setting OPIOID_CDS_WORKERS: ")
    monkeypatch.delenv("OPIOID_CDS_WORKERS")
    monkeypatch.setenv("OPIOID_CDS_CORS_ALLOW_ORIGINS", "[https://ehr.example")
    assert main(["openapi"]) == 2
    assert capsys.readouterr().err == (
        "error: invalid setting OPIOID_CDS_CORS_ALLOW_ORIGINS: not valid JSON\n"
    )


def test_purge_with_retention_zero_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPIOID_CDS_RETENTION_DAYS": "0",
        "OPIOID_CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "service", "db", "purge"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: invalid setting OPIOID_CDS_RETENTION_DAYS: Input should be greater than or "
        "equal to 1\n"
    )
    assert not (tmp_path / "db.sqlite").exists()
