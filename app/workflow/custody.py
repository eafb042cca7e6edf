"""Custody steps: put a fund under custody, re-split its key, lock, and shred.

Every step changes `custody.json` only by atomic replacement, and rows only one by one
(`UPDATE … WHERE value = old`), so a SIGKILL anywhere leaves the fund either before or
after each step, and running the command again finishes it:

- setup: the new key is written as state "new" (nothing is sealed to it), the shares are
  shown, then the file says "active" and the existing text is re-sealed, in small
  transactions. Killed before "active": the run starts over with a new key (the shares
  shown were never used). Killed after: run again to finish re-sealing; every value is
  readable all along, under the data key or the custody key.
- re-split: the new split is written as "pending" next to the one in force (either set
  of shares opens the key), the new shares are shown, then the new split replaces the old
  one. Killed before the last write: the old shares still open the fund.
- shred: one write drops the wrapped key. Before it, everything opens with K shares;
  after it, nothing sealed to that key ever opens again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app import crypto, custody
from app.custody import envelope, memory, shares, store

Show = Callable[[list[shares.Share], store.Split], None]


@dataclass
class Done:
    """What a custody step did."""

    key_id: str
    split_id: str | None
    resealed: int = 0
    resumed: bool = False


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def default_policy(engine: Engine) -> tuple[int, int]:
    """(needed, shares) by default: the fund's approvals needed, at least 2; one share
    for each active treasurer and admin, at least `needed`."""
    with engine.connect() as conn:
        people = conn.execute(text("SELECT roles FROM person WHERE active")).scalars().all()
    holders = sum(1 for roles in people if "treasurer" in roles or "admin" in roles)
    needed = 2
    return needed, max(needed, holders)


def _new_split(private_raw: bytes, kid: str, needed: int, count: int
               ) -> tuple[store.Split, list[shares.Share]]:
    kek = secrets.token_bytes(32)
    made = shares.split(kek, needed, count)
    wrapped = shares.wrap(private_raw, kek, kid, made[0].split_id)
    del kek
    return store.Split(made[0].split_id, needed, count, wrapped, _now()), made


def setup(engine: Engine, needed: int, count: int, show: Show) -> Done:
    """Put the fund under custody (or finish doing so after a crash), then re-seal every
    value of the custody columns to the new public key."""
    shares.check_policy(needed, count)
    path = custody.file_path()
    current = store.read(path)
    if current is not None and current.state == "active" and current.split is not None:
        resealed = reseal_all(engine)
        return Done(current.key_id, current.split.id, resealed, resumed=True)
    fresh, made = _begin_setup(needed, count)
    show(made, fresh.split)
    return finish_setup(engine, fresh.split.id)


def _begin_setup(needed: int, count: int) -> tuple[store.Custody, list[shares.Share]]:
    """A new key pair, written as state "new" (nothing is sealed to it yet)."""
    path = custody.file_path()
    current = store.read(path)
    private = X25519PrivateKey.generate()
    public_raw = envelope.raw_public(private.public_key())
    kid = envelope.public_id(public_raw)
    split, made = _new_split(envelope.raw_private(private), kid, needed, count)
    shredded = current.shredded if current is not None else ()
    fresh = store.Custody("new", kid, public_raw, split, None,
                          (current.generation + 1) if current else 0, shredded)
    store.write(path, fresh)
    return fresh, made


def finish_setup(engine: Engine, split_id: str) -> Done:
    """Every share of split `split_id` was shown: the key is in force, and every value not
    sealed to it yet is re-sealed. Nothing when that split is not the one being set up."""
    path = custody.file_path()
    current = store.read(path)
    if current is None or current.split is None or current.split.id != split_id:
        raise shares.ShareError("custody: this split was replaced; make a new one")
    if current.state != "active":
        store.write(path, current.with_(state="active"))
    return Done(current.key_id, split_id, reseal_all(engine))


def reseal_all(engine: Engine, *, batch: int = 100) -> int:
    """Seal to the custody key every value of the custody columns that is not sealed yet
    (data-key values and plaintext from before); repeat until a pass finds none."""
    from app.workflow import uploads

    total = 0
    for _attempt in range(10):
        done = sum(_reseal_column(engine, t, c, label, batch)
                   for t, c, label in crypto.encrypted_columns() if label in custody.COLUMNS)
        done += _drop_unwrapped_pending(engine) + uploads.reseal_held()
        total += done
        if done == 0:
            crypto.checkpoint_sqlite(engine)
            return total
    raise crypto.DataKeyError("custody: values kept appearing unsealed; stop the app and "
                              "run the command again")


def _reseal_column(engine: Engine, table: str, column: str, label: str, batch: int) -> int:
    q = engine.dialect.identifier_preparer.quote
    t, c = q(table), q(column)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, {c} FROM {t} WHERE {c} IS NOT NULL "  # nosec B608
                                 f"ORDER BY id")).all()
    todo = [(rid, v) for rid, v in rows if not v.startswith(crypto.CUSTODY_PREFIX)]
    done = 0
    for start in range(0, len(todo), batch):
        with engine.begin() as conn:
            crypto.harden_sqlite(conn)
            for rid, old in todo[start:start + batch]:
                new = crypto.encrypt(crypto.decrypt(old, label), label)
                if not new.startswith(crypto.CUSTODY_PREFIX):
                    raise crypto.DataKeyError("custody: the fund is not sealing to its "
                                              "custody key")
                done += conn.execute(text(f"UPDATE {t} SET {c} = :new "  # nosec B608
                                          f"WHERE id = :id AND {c} = :old"),
                                     {"new": new, "id": rid, "old": old}).rowcount
    return done


def _drop_unwrapped_pending(engine: Engine) -> int:
    """Forget second-factor secrets offered at a first sign-in and not yet wrapped under
    the password (never turned on: the person is offered a new one), so the data key opens
    no second-factor secret. One row at a time, only if unchanged."""
    from app.custody import factor

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, totp_pending FROM person "
                                 "WHERE totp_pending IS NOT NULL")).all()
    done = 0
    for rid, old in rows:
        if factor.is_wrapped(crypto.decrypt(old, "person.totp_pending")):
            continue
        with engine.begin() as conn:
            crypto.harden_sqlite(conn)
            done += conn.execute(text("UPDATE person SET totp_pending = NULL "
                                      "WHERE id = :id AND totp_pending = :old"),
                                 {"id": rid, "old": old}).rowcount
    return done


def factors_not_wrapped(engine: Engine) -> list[str]:
    """Handles of active people whose second factor is not yet wrapped under their
    password: under custody it is sealed, so while locked they sign in with a recovery
    code (their first sign-in while unlocked wraps it)."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT handle FROM person WHERE active AND totp_secret IS NOT NULL "
            "AND totp_wrapped IS NULL ORDER BY handle")).scalars())


def count_unsealed(engine: Engine) -> int:
    """How many values of the custody columns are not sealed to the custody key."""
    q = engine.dialect.identifier_preparer.quote
    left = 0
    with engine.connect() as conn:
        for table, column, label in crypto.encrypted_columns():
            if label not in custody.COLUMNS:
                continue
            for (value,) in conn.execute(text(f"SELECT {q(column)} FROM {q(table)} "  # nosec B608
                                              f"WHERE {q(column)} IS NOT NULL")):
                left += not value.startswith(crypto.CUSTODY_PREFIX)
    return left


def _active() -> store.Custody:
    current = custody.current()
    if current is None or current.state != "active":
        raise shares.ShareError("custody: this fund is not under custody; run `carebooks "
                                "custody split` first")
    if current.split is None:
        raise shares.ShareError("custody: the fund's key was destroyed (shred); run "
                                "`carebooks custody split` to start a new one")
    return current


def resplit(share_texts: list[str], needed: int, count: int, show: Show) -> Done:
    """New shares for the same key (a holder left): K current shares open the key, a new
    split replaces the old one, and the old shares open nothing any more."""
    split, made = _begin_resplit(share_texts, needed, count)
    show(made, split)
    return finish_resplit(split.id)


def _begin_resplit(share_texts: list[str], needed: int, count: int
                   ) -> tuple[store.Split, list[shares.Share]]:
    """K current shares open the key; a new split is written as "pending" beside the one
    in force (either set of shares opens the key until `finish_resplit`)."""
    shares.check_policy(needed, count)
    current = _active()
    private_raw = custody.open_with_shares(current, share_texts)
    split, made = _new_split(private_raw, current.key_id, needed, count)
    store.write(custody.file_path(), current.with_(pending=split))
    return split, made


def finish_resplit(split_id: str) -> Done:
    """Every new share was shown: the new split replaces the old, whose shares open
    nothing any more; the fund is locked."""
    current = _active()
    if current.split.id == split_id and current.pending is None:
        return Done(current.key_id, split_id)          # finished already
    if current.pending is None or current.pending.id != split_id:
        raise shares.ShareError("custody: this re-split was replaced; make a new one")
    store.write(custody.file_path(), current.with_(split=current.pending, pending=None,
                                                  generation=current.generation + 1))
    memory.lock_key()
    return Done(current.key_id, split_id)


# --- the same steps from the Custody page: shares wait in memory for their holders --------

SETUP, RESPLIT = 1, 2


def holders(engine: Engine) -> list[tuple[int, str]]:
    """(person id, handle) of each active treasurer and admin: one share each."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, handle, roles FROM person WHERE active "
                                 "ORDER BY handle")).all()
    return [(pid, handle) for pid, handle, roles in rows
            if "treasurer" in roles.split(",") or "admin" in roles.split(",")]


def split_on_page(engine: Engine, needed: int) -> str:
    """A first split (or a new key after a shred), one share for each treasurer and admin,
    each held in memory until its holder sees it (`show_share`). Returns the split id."""
    people = holders(engine)
    shares.check_policy(needed, len(people))
    current = custody.current()
    if current is not None and current.state == "active" and current.split is not None:
        raise shares.ShareError("custody: the fund is under custody already; re-split it")
    fresh, made = _begin_setup(needed, len(people))
    memory.put_shares(fresh.split.id, SETUP,
                      [(pid, s.number, s.value) for (pid, _h), s in zip(people, made)])
    return fresh.split.id


def resplit_on_page(engine: Engine, share_texts: list[str], needed: int) -> str:
    """New shares for the same key, one for each treasurer and admin, opened by K current
    shares; held in memory until each holder sees theirs. Returns the new split id."""
    people = holders(engine)
    split, made = _begin_resplit(share_texts, needed, len(people))
    memory.put_shares(split.id, RESPLIT,
                      [(pid, s.number, s.value) for (pid, _h), s in zip(people, made)])
    return split.id


def show_share(engine: Engine, person_id: int) -> tuple[shares.Share, store.Split] | None:
    """`person_id`'s waiting share, taken from memory (it is never shown again); when it
    was the last one, the split is put in force. None when they have none waiting."""
    waiting = memory.waiting_shares()
    taken = memory.take_share(person_id)
    if waiting is None or taken is None:
        return None
    split_id, number, value = taken
    current = custody.current()
    split = next((s for s in (current.split, current.pending)
                  if s is not None and s.id == split_id), None) if current else None
    if split is None:                     # the split was replaced meanwhile: nothing to show
        return None
    left = memory.waiting_shares()
    if left is not None and not left[2]:
        memory.wipe_shares()
        if waiting[1] == SETUP:
            finish_setup(engine, split_id)
        else:
            finish_resplit(split_id)
    return shares.Share(split_id, number, value), split


def shred() -> Done:
    """Destroy the wrapped key: every value sealed to it is unreadable forever. The public
    key stays, so new text is still accepted (and is unreadable too) until a new split."""
    current = custody.current()
    if current is None or current.state != "active":
        raise shares.ShareError("custody: this fund is not under custody; nothing to shred")
    if current.split is None:
        return Done(current.key_id, None)
    gone = tuple(current.shredded) + ({"key_id": current.key_id, "at": _now()},)
    store.write(custody.file_path(), current.with_(split=None, pending=None, shredded=gone,
                                                  generation=current.generation + 1))
    memory.wipe()
    return Done(current.key_id, None)


def lock_all() -> int:
    """Lock every worker: bump the generation in the custody file (each worker drops its
    key at its next read) and wipe this process's page. Returns the new generation."""
    current = custody.current()
    memory.wipe()
    if current is None:
        return 0
    store.write(custody.file_path(), current.with_(generation=current.generation + 1))
    return current.generation + 1


def record(action: str, actor_id: int | None = None, **facts) -> None:
    """One audit event for a custody step, in its own transaction (ids and counts only;
    never a share or a key)."""
    from app.db import session_scope
    from app.workflow import audit

    with session_scope() as session:
        audit.record(session, actor_id, action, "", **facts)
