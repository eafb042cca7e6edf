"""`carebooks custody …` and `carebooks lock`: the key in treasurers' hands (issue 21).

Shares are printed once, to this terminal, and never written anywhere; shares asked for
are read from standard input (one a line; hidden when typed at a terminal).
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from app.custody import shares as custody_shares


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _read_shares(count: int) -> list[str]:
    """`count` shares from stdin (prompted, hidden, at a terminal)."""
    if sys.stdin.isatty():
        return [click.prompt(f"share {i}", hide_input=True) for i in range(1, count + 1)]
    lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    return lines[:count] if count else lines


def _show(qr: bool):
    def show(made, split) -> None:
        click.echo(f"custody split {split.id}: {split.needed} of these {split.shares} shares "
                   "open the fund's key. Give each to ONE treasurer or admin, now; they are "
                   "not kept anywhere and cannot be shown again.")
        for share in made:
            click.echo(f"\nshare {share.number} of {split.shares}:  {share.text()}")
            if qr:
                import segno

                segno.make(share.text().replace(" ", ""), error="m").terminal(compact=True)
        click.echo("")
    return show


@click.group("custody")
def custody_group() -> None:
    """Custody of the key that opens stories, notes and donor names."""


@custody_group.command("split")
@click.option("--shares", "count", type=int, default=None,
              help="How many shares (default: one per active treasurer and admin).")
@click.option("--needed", type=int, default=None,
              help="How many shares open the key (default: the approvals needed, at least 2).")
@click.option("--qr", is_flag=True, help="Also print each share as a QR code.")
@with_appcontext
def split_command(count: int | None, needed: int | None, qr: bool) -> None:
    """Put the fund under custody: a new key pair, its private key split into shares, and
    every existing story, note and donor name re-sealed to it (run again after a crash:
    it finishes)."""
    from app.db import engine
    from app.workflow import custody as steps

    d_needed, d_count = steps.default_policy(engine())
    needed = needed or d_needed
    count = count or max(d_count, needed)
    try:
        done = steps.setup(engine(), needed, count, _show(qr))
    except custody_shares.ShareError as exc:
        _fail(str(exc))
    steps.record("custody.split", key=done.key_id, split=done.split_id,
                   resealed=done.resealed)
    waiting = steps.factors_not_wrapped(engine())
    if waiting:
        click.echo(f"note: {len(waiting)} person(s) have not signed in since second factors "
                   f"moved under passwords ({', '.join(waiting)}); their authenticator's "
                   "secret is now sealed, so while the fund is locked they sign in with a "
                   "recovery code. Their next sign-in while unlocked moves it.")
    click.echo(f"{'resumed; ' if done.resumed else ''}{done.resealed} value(s) sealed to "
               f"custody key {done.key_id}; the fund is locked until {needed} shares are "
               "entered on the unlock page")


@custody_group.command("resplit")
@click.option("--shares", "count", type=int, required=True, help="How many new shares.")
@click.option("--needed", type=int, required=True, help="How many new shares open the key.")
@click.option("--qr", is_flag=True, help="Also print each share as a QR code.")
@with_appcontext
def resplit_command(count: int, needed: int, qr: bool) -> None:
    """New shares for the same key (when a holder leaves): reads the current split's K
    shares from stdin; afterwards the old shares open nothing."""
    from app.workflow import custody as steps

    try:
        done = steps.resplit(_read_shares(0), needed, count, _show(qr))
    except custody_shares.ShareError as exc:
        _fail(str(exc))
    steps.record("custody.resplit", key=done.key_id, split=done.split_id)
    click.echo(f"split {done.split_id} is in force; the old shares open nothing. The fund "
               "is locked.")


@custody_group.command("shred")
@click.option("--yes-destroy-every-story", "confirmed", is_flag=True,
              help="Required: the stories, notes and donor names are gone forever.")
@with_appcontext
def shred_command(confirmed: bool) -> None:
    """Destroy the wrapped key: every stored story, note and donor name becomes unreadable
    forever. The books and every amount stay; `check` still passes."""
    from app.workflow import custody as steps

    if not confirmed:
        _fail("--yes-destroy-every-story: shredding cannot be undone; say so to go on")
    try:
        done = steps.shred()
    except custody_shares.ShareError as exc:
        _fail(str(exc))
    steps.record("custody.shredded", key=done.key_id)
    click.echo(f"custody key {done.key_id} destroyed: no story, note or donor name sealed "
               "to it can be read again. Destroy backups made before now too.")


@custody_group.command("verify")
@with_appcontext
def verify_command() -> None:
    """Check that the shares on stdin open the fund's key (nothing is kept; the server is
    unlocked on its unlock page, which this process cannot reach)."""
    from app import custody

    current = custody.current()
    if current is None or current.split is None:
        _fail("custody: this fund is not under custody, or its key was destroyed")
    try:
        custody.open_with_shares(current, _read_shares(0))
    except custody_shares.ShareError as exc:
        _fail(str(exc))
    click.echo(f"these shares open custody key {current.key_id}")


@custody_group.command("status")
@with_appcontext
def status_command() -> None:
    """Whether the fund is under custody, its split, and what is left to seal."""
    from app import custody
    from app.db import engine
    from app.workflow import custody as steps

    current = custody.current()
    if current is None:
        click.echo("not under custody: stories are encrypted with the data key on this server")
        return
    split = current.split
    click.echo(f"custody key {current.key_id}, state {current.state}")
    click.echo(f"split {split.id}: {split.needed} of {split.shares} shares, made {split.made}"
               if split else "key destroyed (shredded): new text is sealed and unreadable")
    for gone in current.shredded:
        click.echo(f"shredded key {gone['key_id']} at {gone['at']}")
    click.echo(f"{steps.count_unsealed(engine())} value(s) not yet sealed to the custody key")


@click.command("lock")
@with_appcontext
def lock_command() -> None:
    """Lock the fund now: every worker forgets the key at its next request."""
    from app.workflow import custody as steps

    steps.lock_all()
    steps.record("custody.locked")
    click.echo("locked: the key is dropped; K shares are needed to read stories again")
