"""Backups: one file with the database, the books, the keys and the published reports,
taken while the app runs; and restoring a fund from it into an empty instance folder.

The snapshot is taken under the money lock (no money moves while it is copied, so the
database and the books agree in it); SQLite is copied with its online backup API,
PostgreSQL with pg_dump. The file holds the data key, unless it is taken with
`with_key=False` (`carebooks backup --without-key`): then the key must be kept elsewhere,
and a copy of the backup alone reads no story, note or second-factor secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from flask import current_app

from app.fund import books
from app.models import utcnow
from app.workflow.errors import Conflict, InvalidInput
from app.workflow.outbox import money_lock, settle

FORMAT = 1
DATA_KEY = "data.key"
KEY_FILES = (DATA_KEY, "secret_key", "custody.json")  # custody.json: the wrapped key (docs/privacy.md)


def _own_schema(pg_url: str) -> list[str]:
    """`--schema NAME` when the URL puts the fund in a schema of its own
    (`options=-csearch_path=NAME`): the backup holds that fund, not its neighbours."""
    from urllib.parse import parse_qs, urlsplit

    options = " ".join(parse_qs(urlsplit(pg_url).query).get("options", []))
    found = re.search(r"-c\s*search_path=([A-Za-z_][A-Za-z0-9_]*)\b", options)
    return ["--schema", found[1]] if found else []


def _sqlite_path(url: str) -> Path | None:
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backup(dest: Path, *, with_key: bool = True) -> dict:
    """Write a consistent snapshot of this fund to `dest` (a .tar.gz, mode 0600); with
    `with_key=False` the data key stays out of it (keep the key apart: docs/operations.md)."""
    instance = Path(current_app.instance_path)
    url = current_app.config["DATABASE_URL"]
    books_dir = books().dir
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with money_lock():  # nothing moves money while the copies are taken
            settle()
            _copy_everything(tmp, instance, url, books_dir, with_key)
        files = {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*"))
                 if p.is_file()}
        manifest = {"format": FORMAT, "database": _kind(url), "taken_at": utcnow().isoformat(),
                    "files": files, "data_key": "included" if with_key else "left out"}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        part = dest.with_name(f".{dest.name}.part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            for p in sorted(tmp.rglob("*")):
                if p.is_file():
                    tar.add(p, arcname=str(p.relative_to(tmp)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, dest)
    return manifest


def _kind(url: str) -> str:
    return "sqlite" if _sqlite_path(url) is not None else "postgresql"


def _copy_everything(tmp: Path, instance: Path, url: str, books_dir: Path,
                     with_key: bool = True) -> None:
    """The database, the books, the keys and the published reports, into `tmp`."""
    db_file = _sqlite_path(url)
    if db_file is not None:
        src, dst = sqlite3.connect(db_file), sqlite3.connect(tmp / "carebooks.db")
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        pg_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", *_own_schema(pg_url),
                        "--file", str(tmp / "carebooks.pgdump"), pg_url], check=True)
    for path in sorted(books_dir.rglob("*.beancount")):
        rel = path.relative_to(books_dir)
        if rel.parts[0].startswith("."):
            continue
        target = tmp / "books" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for name in KEY_FILES:
        if (instance / name).exists() and (with_key or name != DATA_KEY):
            shutil.copy2(instance / name, tmp / name)
    if (instance / "reports").is_dir():
        shutil.copytree(instance / "reports", tmp / "reports")


def restore(src: Path) -> dict:
    """Bring a fund back from a backup into this (empty) instance and database."""
    instance = Path(current_app.instance_path)
    url = current_app.config["DATABASE_URL"]
    if (Path(current_app.config["BOOKS_DIR"]) / "main.beancount").exists():
        raise Conflict(f"{instance} already holds a fund; restore into an empty folder",
                       field="instance")
    with tarfile.open(src, "r:gz") as tar:
        names = tar.getnames()
        if "manifest.json" not in names:
            raise InvalidInput(f"{src} is not a Carebooks backup", field="file")
        manifest = json.loads(tar.extractfile("manifest.json").read())
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            tar.extractall(tmp, filter="data")
            for rel, digest in manifest["files"].items():
                if _sha256(tmp / rel) != digest:
                    raise InvalidInput(f"{src}: {rel} does not match its checksum; the "
                                       "backup is damaged", field="file")
            db_file = _sqlite_path(url)
            if manifest["database"] == "sqlite":
                if db_file is None:
                    raise InvalidInput("this backup holds a SQLite database; restore it with "
                                       "DATABASE_URL unset (or sqlite:///…)", field="database")
                if db_file.exists() and db_file.stat().st_size > 0:
                    raise Conflict(f"{db_file} already exists", field="database")
                db_file.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(tmp / "carebooks.db", db_file)
            else:
                if db_file is not None:
                    raise InvalidInput("this backup holds a PostgreSQL dump; set DATABASE_URL "
                                       "to an empty PostgreSQL database", field="database")
                pg_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
                subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname",
                                pg_url, str(tmp / "carebooks.pgdump")], check=True)
            shutil.copytree(tmp / "books", Path(current_app.config["BOOKS_DIR"]),
                            dirs_exist_ok=True)
            for name in KEY_FILES:
                if (tmp / name).exists():
                    shutil.copy2(tmp / name, instance / name)
                    os.chmod(instance / name, 0o600)
            if (tmp / "reports").is_dir():
                shutil.copytree(tmp / "reports", instance / "reports", dirs_exist_ok=True)
    return manifest

