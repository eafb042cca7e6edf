"""Encryption at rest for what people write: request stories, notes (questions, answers,
reasons), donor names, and the replayed API answers and outbox entries that can quote them.

A column typed `EncryptedText("table.column")` holds

    cb1:<key id>:<base64url(nonce | AES-256-GCM ciphertext and tag)>

with the column's name as associated data, so a value cannot be moved to another column
unnoticed. The key id is the first 8 hex digits of a hash of the key: it names the key
without revealing it, and lets a key ring hold several keys while `rotate-key` runs.

The key ring comes from `CAREBOOKS_DATA_KEY` (comma-separated keys; the first encrypts,
all decrypt), else from `<instance>/data.key` (one key a line, the first encrypts), which
is created with mode 0600 the first time something is encrypted. It is never in the books
folder. A value without the `cb1:` prefix was written before encryption existed: it reads
as it is, and `rotate-key` encrypts it. A value whose key is missing, or that does not
authenticate, raises `DataKeyError` with a sentence saying which key and where it was
looked for — never garbage.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text, text
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from app.keyfiles import DataKeyError, file_signature, write_private_file  # noqa: F401

ENV = "CAREBOOKS_DATA_KEY"
KEY_FILE = "data.key"
PREFIX = "cb1:"
CUSTODY_PREFIX = "cb2:"
NONCE = 12
_STORED = re.compile(r"cb1:([0-9a-f]{8}):([A-Za-z0-9_-]+)\Z")
_FILE_HEADER = ("# Carebooks data key: decrypts the stories, notes and donor names in the\n"
                "# database. Keep a copy away from this server and its backups: without it\n"
                "# that text is lost. The first key encrypts; any others only decrypt, while\n"
                "# `carebooks rotate-key` runs.\n")


def key_problem(exc: BaseException) -> DataKeyError | None:
    """The DataKeyError behind `exc` (SQLAlchemy wraps errors raised while binding)."""
    while exc is not None:
        if isinstance(exc, DataKeyError):
            return exc
        exc = getattr(exc, "orig", None) or exc.__cause__
    return None


def generate_key() -> str:
    """A new random 256-bit key, as URL-safe base64 (44 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def key_id(key: bytes) -> str:
    """A short public name for a key (8 hex digits of a hash; reveals nothing about it)."""
    return hashlib.sha256(b"carebooks-data-key-id:" + key).hexdigest()[:8]


def _parse_key(raw: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise DataKeyError(f"{where}: a data key is 32 bytes in URL-safe base64 "
                           f"(44 characters, as `carebooks rotate-key --generate` prints); "
                           f"found {raw[:4]}… ({len(raw)} characters)")
    return key


@dataclass(frozen=True)
class Keyring:
    """The keys in force: the first encrypts, all of them decrypt."""

    keys: tuple[bytes, ...]
    source: str          # "CAREBOOKS_DATA_KEY" or the key file's path
    from_env: bool

    @property
    def current(self) -> bytes:
        return self.keys[0]

    @property
    def current_id(self) -> str:
        return key_id(self.keys[0])

    @property
    def ids(self) -> list[str]:
        return [key_id(k) for k in self.keys]

    def get(self, kid: str) -> bytes | None:
        for key in self.keys:
            if key_id(key) == kid:
                return key
        return None


def _parse_ring(text_: str, source: str, from_env: bool) -> Keyring:
    lines = [line.split("#", 1)[0] for line in text_.splitlines()]
    items = [item.strip() for line in lines for item in line.split(",") if item.strip()]
    if not items:
        raise DataKeyError(f"{source} holds no data key")
    return Keyring(tuple(_parse_key(item, source) for item in items), source, from_env)


# ----------------------------------------------------------------------------------------
# Where the key ring comes from

_lock = threading.Lock()
_cache: dict[str, tuple[tuple, Keyring]] = {}


def _env_value() -> str | None:
    try:
        from flask import current_app, has_app_context

        if has_app_context() and current_app.config.get(ENV):
            return current_app.config[ENV]
    except ImportError:  # pragma: no cover
        pass
    return os.environ.get(ENV) or None


def key_file() -> Path:
    """`<instance>/data.key` of the current app (or of $CAREBOOKS_INSTANCE outside one)."""
    from flask import current_app, has_app_context

    if has_app_context():
        return Path(current_app.instance_path) / KEY_FILE
    from app.config import instance_path

    return instance_path() / KEY_FILE


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Replace the key file atomically (0600 temp file, fsync, rename, fsync the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_file(path, _FILE_HEADER + "".join(
        base64.urlsafe_b64encode(k).decode() + "\n" for k in keys))
    with _lock:
        _cache.pop(str(path), None)


def keyring(*, create: bool = False) -> Keyring:
    """The key ring in force. With `create`, a missing key file is made (mode 0600)."""
    env = _env_value()
    if env:
        with _lock:
            hit = _cache.get(ENV)
            if hit is None or hit[0] != (env,):
                hit = ((env,), _parse_ring(env, ENV, True))
                _cache[ENV] = hit
            return hit[1]
    path = key_file()
    sig = file_signature(path)
    if sig is None:
        if not create:
            raise DataKeyError(f"no data key: {ENV} is not set and {path} does not exist; "
                               "restore the key file (or set the variable) that was in use "
                               "when this data was written")
        _create_key_file(path)
        sig = file_signature(path)
    with _lock:
        hit = _cache.get(str(path))
        if hit is not None and hit[0] == sig:
            return hit[1]
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise DataKeyError(f"{path} can be read by others (mode {mode:o}); "
                           f"run `chmod 600 {path}`")
    ring = _parse_ring(path.read_text(), str(path), False)
    with _lock:
        _cache[str(path)] = (sig, ring)
    return ring


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = _FILE_HEADER + generate_key() + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())


# ----------------------------------------------------------------------------------------
# One value

def _aad(column: str) -> bytes:
    return f"carebooks:{column}".encode()


def kid_of(stored: str) -> str | None:
    """The key id a stored value was encrypted with (None for plaintext)."""
    match = _STORED.match(stored or "")
    return match.group(1) if match else None


def encrypt(plain: str, column: str, ring: Keyring | None = None) -> str:
    """`plain` sealed with the current key, bound to `column` ("table.column").

    Under custody (`app/custody/`), the columns it covers are sealed to the fund's public
    key instead (`cb2:`), unless a key ring is passed explicitly."""
    if ring is None:
        from app import custody

        sealed = custody.seal_for(plain, column)
        if sealed is not None:
            return sealed
    ring = ring or keyring(create=True)
    nonce = secrets.token_bytes(NONCE)
    sealed = AESGCM(ring.current).encrypt(nonce, plain.encode("utf-8"), _aad(column))
    body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{PREFIX}{ring.current_id}:{body}"


def decrypt(stored: str, column: str, ring: Keyring | None = None) -> str:
    """The text of a stored value; plaintext from before encryption is returned as is.
    A custody value (`cb2:`) reads as its text when the fund is unlocked, else as a
    `custody.Locked` placeholder."""
    match = _STORED.match(stored)
    if match is None:
        if stored.startswith(CUSTODY_PREFIX):
            from app import custody

            return custody.open_for(stored, column)
        return stored
    kid, body = match.groups()
    ring = ring or keyring()
    key = ring.get(kid)
    if key is None:
        raise DataKeyError(f"{column}: this value was encrypted with data key {kid}, which "
                           f"is not in {ring.source} (it holds {', '.join(ring.ids)}); "
                           "the wrong key is in use, or an old one was retired too early")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE], raw[NONCE:], _aad(column))
    except (InvalidTag, ValueError):
        raise DataKeyError(f"{column}: a value under data key {kid} does not authenticate; "
                           "it was altered, or copied from another column") from None
    return plain.decode("utf-8")


class EncryptedText(TypeDecorator):
    """A TEXT column whose values are encrypted on the way in and decrypted on the way out.

    Comparing such a column with a value in SQL never matches (each encryption is
    different); nothing in Carebooks looks rows up by their text."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str):
        super().__init__()
        self.column = column

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"{self.column}: text expected, got {type(value).__name__}")
        if getattr(value, "locked", False):
            raise DataKeyError(f"{self.column}: the fund is locked; a locked placeholder "
                               "is never stored in place of the text")
        return encrypt(value, self.column)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return decrypt(value, self.column)


# ----------------------------------------------------------------------------------------
# Every encrypted column, and rotation

def harden_sqlite(conn) -> None:
    """On SQLite, overwrite deleted and replaced content with zeros (this connection)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")


def checkpoint_sqlite(engine: Engine) -> None:
    """On SQLite, move the WAL into the database file and truncate the WAL to zero bytes,
    so replaced text does not linger in `carebooks.db-wal`."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def reencrypt_all(engine: Engine, ring: Keyring, columns: list[tuple[str, str, str]], *,
                  batch: int = 200) -> int:
    """Rewrite every stored value not under the ring's current key (plaintext included).
    Repeats until a pass finds nothing left; returns how many values were rewritten."""
    total = 0
    for _attempt in range(10):
        rewritten = 0
        for table, column, label in columns:
            rewritten += _reencrypt_column(engine, ring, table, column, label, batch)
        total += rewritten
        if rewritten == 0:
            return total
    raise DataKeyError("rotate-key: values kept appearing under an old key; stop the app "
                       "and run `carebooks rotate-key` again")


def _reencrypt_column(engine: Engine, ring: Keyring, table: str, column: str, label: str,
                      batch: int) -> int:
    q = engine.dialect.identifier_preparer.quote
    t, c = q(table), q(column)
    with engine.connect() as conn:
        # identifiers come from the models and are quoted by the dialect; values are bound
        rows = conn.execute(text(f"SELECT id, {c} FROM {t} WHERE {c} IS NOT NULL "  # nosec B608
                                 f"ORDER BY id")).all()
    todo = [(rid, value) for rid, value in rows
            if kid_of(value) != ring.current_id and not value.startswith(CUSTODY_PREFIX)]
    done = 0
    for start in range(0, len(todo), batch):
        with engine.begin() as conn:
            harden_sqlite(conn)
            for rid, old in todo[start:start + batch]:
                new = encrypt(decrypt(old, label, ring), label, ring)
                result = conn.execute(text(f"UPDATE {t} SET {c} = :new WHERE id = :id "  # nosec B608
                                           f"AND {c} = :old"), {"new": new, "id": rid,
                                                                "old": old})
                done += result.rowcount
    return done


def count_not_current(engine: Engine, ring: Keyring,
                      columns: list[tuple[str, str, str]]) -> int:
    """How many stored values are not under the current key (plaintext included)."""
    q = engine.dialect.identifier_preparer.quote
    left = 0
    with engine.connect() as conn:
        for table, column, _label in columns:
            for (value,) in conn.execute(text(f"SELECT {q(column)} FROM {q(table)} "  # nosec B608
                                              f"WHERE {q(column)} IS NOT NULL")):
                left += (kid_of(value) != ring.current_id
                         and not value.startswith(CUSTODY_PREFIX))
    return left


@dataclass
class Rotation:
    """What `rotate` did."""

    key_id: str
    rewritten: int
    retired: list[str]
    resumed: bool
    from_env: bool


def rotate(engine: Engine, columns: list[tuple[str, str, str]]) -> Rotation:
    """Make a new key, re-encrypt every value under it, then retire the old keys.

    Crash-safe: the new key is written to the key file *ahead of* the old one (both
    readable) before any row changes; the old key leaves the file only after every value
    has been rewritten and counted. Run again after a crash, it resumes with the key it
    had made. With `CAREBOOKS_DATA_KEY`, the operator lists the new key first and the old
    one after it; this re-encrypts everything to the first, and says which to drop."""
    ring = keyring(create=True)
    resumed = False
    if ring.from_env:
        if len(ring.keys) == 1:
            raise DataKeyError(
                f"the key comes from {ENV}, which this command cannot change. Make a key "
                f"with `carebooks rotate-key --generate`, set {ENV}=NEW,OLD (the new one "
                f"first), run `carebooks rotate-key` again, then set {ENV}=NEW")
    else:
        path = Path(ring.source)
        if len(ring.keys) == 1:
            write_key_file(path, [_parse_key(generate_key(), "new key"), ring.current])
        else:
            resumed = True
        ring = keyring()
    rewritten = reencrypt_all(engine, ring, columns)
    left = count_not_current(engine, ring, columns)
    if left:
        raise DataKeyError(f"rotate-key: {left} value(s) still under an old key; the old "
                           "key is kept. Run `carebooks rotate-key` again")
    checkpoint_sqlite(engine)
    retired = ring.ids[1:]
    if not ring.from_env and retired:
        write_key_file(Path(ring.source), [ring.current])
    return Rotation(ring.current_id, rewritten, retired, resumed, ring.from_env)
