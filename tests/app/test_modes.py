"""Files and backups (issue 16, item 9) and what `carebooks check` warns about.

Failed on 0983efd: outside systemd the database, its -wal/-shm and the instance folder
were created readable by every local user (umask 022), nothing said so at start, and a
backup always carried the data key. `check` said nothing of expired tokens either.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import tarfile

from app import create_app
from app.db import session_scope
from app.models import ApiToken
from app.workflow.backup import backup
from app.workflow.check import run_check
from tests.app.conftest import ask


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_app_sets_umask_077_so_the_database_and_keys_are_the_operators(fund):
    old = os.umask(0o022)  # as a shell leaves it
    try:
        create_app(instance=fund.app.instance_path,
                   test_config={"DATABASE_URL": fund.app.config["DATABASE_URL"]})
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(old)
    os.umask(0o077)
    ask(fund, amount="10.00")  # writes the database (and its -wal, when in WAL mode)
    instance = fund.app.instance_path
    for name in ("carebooks.db", "carebooks.db-wal", "carebooks.db-shm", "data.key"):
        path = os.path.join(instance, name)
        if os.path.exists(path) and fund.app.config["DATABASE_URL"].startswith("sqlite"):
            assert mode(path) & 0o077 == 0, (name, oct(mode(path)))


def test_loose_modes_are_named_at_start_and_by_check(fund, caplog):
    instance = fund.app.instance_path
    key = os.path.join(instance, "secret_key")
    os.chmod(instance, 0o755)
    os.chmod(key, 0o644)
    with caplog.at_level(logging.WARNING):
        create_app(instance=instance,
                   test_config={"DATABASE_URL": fund.app.config["DATABASE_URL"]})
    said = caplog.text
    assert f"{key} is mode 0644" in said and f"{instance} is mode 0755" in said
    with fund.ctx():
        report = run_check()
    assert report.ok  # a warning, not a disagreement between database and books
    assert any(key in w and "chmod 600" in w for w in report.warnings)
    assert f"WARNING: {key} is mode 0644" in str(report)
    os.chmod(instance, 0o700)
    os.chmod(key, 0o600)
    with fund.ctx():
        assert not any("mode" in w for w in run_check().warnings)


def test_check_names_tokens_past_their_expiry(fund):
    with fund.ctx(), session_scope() as s:
        row = s.query(ApiToken).filter(ApiToken.person_id == fund.people["member"].id).first()
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        token_id = row.id
    with fund.ctx():
        report = run_check()
    assert report.ok
    assert any(f"API token {token_id} of member@example.org expired" in w
               for w in report.warnings), report.warnings


def test_a_backup_can_leave_the_data_key_out(fund, tmp_path):
    ask(fund)  # a story: the data key is made when the first personal text is encrypted
    with fund.ctx():
        with_key = backup(tmp_path / "with.tar.gz")
        without = backup(tmp_path / "without.tar.gz", with_key=False)
    assert "data.key" in with_key["files"] and with_key["data_key"] == "included"
    assert "data.key" not in without["files"] and without["data_key"] == "left out"
    with tarfile.open(tmp_path / "without.tar.gz") as tar:
        assert "data.key" not in tar.getnames() and "secret_key" in tar.getnames()
