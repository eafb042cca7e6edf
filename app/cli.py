"""The `carebooks` command: a Flask CLI group over the instance named by CAREBOOKS_INSTANCE.

Each error is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from app import create_app
from app.workflow.errors import WorkflowError
from ledger import MAIN, LedgerError


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def clean_errors(fn):
    """Turn workflow and ledger refusals into one line on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (WorkflowError, LedgerError) as exc:
            _fail(exc.message)

    return wrapper


class _Registered(click.Choice):
    """A choice among the names of a registry, read when the command line is parsed (so
    the CLI offers what the registry holds, and imports it only when it is used)."""

    def __init__(self, names) -> None:
        self._names = names
        super().__init__([])

    @property
    def choices(self):
        return tuple(self._names())

    @choices.setter
    def choices(self, _value) -> None:
        pass


def _import_formats() -> list[str]:
    from app.imports import FORMATS

    return list(FORMATS)


def _languages() -> list[str]:
    from reports.languages import LANGUAGES

    return list(LANGUAGES)


class CarebooksGroup(FlaskGroup):
    """Flask's command group, showing only Carebooks' own options and commands: not
    Flask's `--app`, `--env-file` and `--debug` (the app is always Carebooks', its settings
    come from CAREBOOKS_* variables), nor the commands extensions add (Flask-Limiter's
    `limiter`)."""

    HIDDEN_OPTIONS = frozenset({"env_file", "app", "debug"})
    FOREIGN_COMMANDS = frozenset({"limiter", "routes", "run", "shell"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = [p for p in self.params if p.name not in self.HIDDEN_OPTIONS]

    def list_commands(self, ctx):
        return [c for c in super().list_commands(ctx) if c not in self.FOREIGN_COMMANDS]

    def get_command(self, ctx, name):
        if name in self.FOREIGN_COMMANDS:
            return None
        return super().get_command(ctx, name)


@click.group(cls=CarebooksGroup, create_app=lambda: create_app(), add_default_commands=False,
             add_version_option=False)
def main() -> None:
    """Carebooks: the books of a mutual aid fund."""


def _books_dir() -> Path:
    return Path(current_app.config["BOOKS_DIR"])


@main.command("init")
@click.option("--name", required=True, help="The fund's name, as the books and reports show it.")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 code.")
@click.option("--start", metavar="YYYY-MM-DD",
              help="The day the books begin (default: the first of this month); months "
                   "from it on take imported history and are sealed in order.")
@click.option("--opening", "openings", multiple=True, metavar="ACCOUNT=AMOUNT",
              help="What a cash account held on the start day, e.g. "
                   "Assets:Fund:Bank=1200.00 (or bank=1200.00); repeat per account.")
@with_appcontext
@clean_errors
def init_command(name: str, currency: str, start: str | None,
                 openings: tuple[str, ...]) -> None:
    """Create a new fund: the database schema and the books."""
    from app.workflow.start import create_fund

    made = create_fund(name, currency, start=start, openings=openings)
    said = ", ".join(f"{a} {n}" for a, n in made["openings"].items())
    click.echo(f"created the fund {made['name']} in {current_app.instance_path}, "
               f"starting {made['start']}" + (f"; opening balances: {said}" if said else ""))


@main.command("move-start")
@click.argument("start", metavar="YYYY-MM-DD")
@click.option("--opening", "openings", multiple=True, metavar="ACCOUNT=AMOUNT",
              help="What a cash account held on the new start day; repeat per account.")
@click.option("--as", "actor_email", required=True, help="The admin or treasurer moving it.")
@with_appcontext
@clean_errors
def move_start_command(start: str, openings: tuple[str, ...], actor_email: str) -> None:
    """Move the fund's start earlier (only while no month is sealed), to import its history."""
    from app.workflow.people import person_by_email
    from app.workflow.start import move_start

    made = move_start(person_by_email(actor_email), start, openings)
    said = ", ".join(f"{a} {n}" for a, n in made["openings"].items())
    click.echo(f"the books now start on {made['start']}"
               + (f"; opening balances: {said}" if said else ""))


@main.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
@with_appcontext
@clean_errors
def db_upgrade() -> None:
    """Apply every pending migration."""
    from app.migrate import current_revision, upgrade

    url = current_app.config["DATABASE_URL"]
    upgrade(url)
    click.echo(f"database at revision {current_revision(url)}")


@main.group("user")
def user_group() -> None:
    """People and their roles."""


@user_group.command("add")
@click.argument("email", required=False)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["member", "treasurer", "admin", "auditor", "intake"]),
              help="Repeat for several.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False),
              help="Read the password from the first line of this file (for scripts).")
@click.option("--handle", help="Public handle (default: the part of the email before @). "
                               "Without an email: a person known by this handle only, who "
                               "gets an account later with `carebooks user claim-code`.")
@with_appcontext
@clean_errors
def user_add(email: str | None, roles: tuple[str, ...], password_stdin: bool,
             password_file: str | None, handle: str | None):
    """Add a person (the password is asked for, or read from stdin or a file); without
    EMAIL, a person known by --handle only, with no password yet."""
    from app.workflow.people import add_person

    if not email:
        person = add_person(None, list(roles), handle=handle)
        click.echo(f"added @{person.handle} ({person.roles}), without email: give them a "
                   f"printed code with `carebooks user claim-code {person.handle}`")
        return
    if password_file:
        lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    elif password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    person = add_person(email, list(roles), password=password, handle=handle)
    click.echo(f"added {person.email} ({person.roles}) as @{person.handle}")


@user_group.command("claim-code")
@click.argument("handle")
@with_appcontext
@clean_errors
def user_claim_code(handle: str):
    """Print a one-time code that gives HANDLE (a person without email) an account, or a
    new passphrase; it works once, for 30 days, and ends any earlier code."""
    from app.workflow import intake

    sheet = intake.claim_sheet(intake.new_claim_code(None, handle))
    click.echo(f"claim code for @{sheet['handle']}: {sheet['code']}")
    click.echo(f"they go to {sheet['url']}, type the code and choose a passphrase; it works "
               f"once, until {sheet['expires']}")


@main.group("token")
def token_group() -> None:
    """API bearer tokens."""


@token_group.command("create")
@click.argument("email")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "request", "money"]),
              help="Repeat for several (default: every scope EMAIL may hold; money only for "
                   "a treasurer with a second factor).")
@click.option("--days", default=90, show_default=True, type=int, help="Days until it expires.")
@with_appcontext
@clean_errors
def token_create(email: str, scopes: tuple[str, ...], days: int) -> None:
    """Print a new API token for EMAIL (shown once; only its hash is kept)."""
    from app.workflow.people import create_token

    click.echo(create_token(email, list(scopes) or None, days))


@token_group.command("list")
@click.argument("email", required=False)
@with_appcontext
@clean_errors
def token_list(email: str | None) -> None:
    """Every token (or EMAIL's): id, whose, scopes, expiry, state. Never the token."""
    from app.workflow import tokens

    for t in tokens.list_tokens(None):
        if email and t["email"] != email.strip().lower():
            continue
        state = (f"revoked ({t['revoked_why']})" if t["revoked"]
                 else "expired" if t["expired"] else "live")
        expires = t["expires_at"].strftime("%Y-%m-%d") if t["expires_at"] else "-"
        click.echo(f"{t['id']}\t{t['email']}\t{t['scopes']}\texpires {expires}\t{state}")


@token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
@clean_errors
def token_revoke(token_id: int) -> None:
    """Revoke the token TOKEN_ID (see `carebooks token list`)."""
    from app.workflow import tokens

    tokens.revoke(None, token_id)
    click.echo(f"token {token_id} revoked")


@main.command("seal")
@click.argument("month")
@click.option("--balance", "balances", multiple=True, metavar="ACCOUNT=AMOUNT",
              help="A statement balance, e.g. Assets:Fund:Bank=1200.00; repeat per account.")
@click.option("--as", "actor_email", required=True, help="The treasurer sealing the month.")
@with_appcontext
@clean_errors
def seal_command(month: str, balances: tuple[str, ...], actor_email: str) -> None:
    """Seal MONTH (YYYY-MM) with the statement balances of the cash accounts."""
    from app.models import Role
    from app.workflow.errors import Forbidden, InvalidInput
    from app.workflow.months import seal
    from app.workflow.people import person_by_email

    actor = person_by_email(actor_email)
    if not actor.has(Role.treasurer):
        raise Forbidden(f"{actor_email} is not a treasurer")
    parsed = {}
    for item in balances:
        account, sep, amount = item.partition("=")
        if not sep:
            raise InvalidInput(f"--balance {item!r}: write ACCOUNT=AMOUNT", field="balance")
        parsed[account.strip()] = amount.strip()
    result = seal(actor, month, {"balances": parsed})
    click.echo(f"sealed {result['month']}: {result['seal_hash']}")


def _money_actor(email: str):
    from app.workflow.people import person_by_email

    return person_by_email(email)


@main.command("transfer")
@click.argument("amount")
@click.option("--from", "from_account", required=True, help="The cash account it left.")
@click.option("--to", "to_account", required=True, help="The cash account it went to.")
@click.option("--fee", help="The part of AMOUNT that did not arrive (a processor's charge).")
@click.option("--date", help="YYYY-MM-DD (default: today).")
@click.option("--as", "actor_email", required=True, help="The treasurer recording it.")
@with_appcontext
@clean_errors
def transfer_command(amount, from_account, to_account, fee, date, actor_email) -> None:
    """Record AMOUNT moved between two of the fund's own cash accounts."""
    from app.workflow import movements

    made = movements.transfer(_money_actor(actor_email), {
        "amount": amount, "fee": fee, "from_account": from_account,
        "to_account": to_account, "date": date})
    click.echo(f"{made['code']}: {made['amount']} from {made['from_account']} to "
               f"{made['to_account']} (fee {made['fee']}) on {made['date']}")


@main.command("cost")
@click.argument("amount")
@click.option("--account", required=True, help="The cash account it was paid from.")
@click.option("--kind", default="other", show_default=True,
              help="fees or other (the leaves of Expenses:Operations).")
@click.option("--date", help="YYYY-MM-DD (default: today).")
@click.option("--as", "actor_email", required=True, help="The treasurer recording it.")
@with_appcontext
@clean_errors
def cost_command(amount, account, kind, date, actor_email) -> None:
    """Record a running cost of the fund (a bank fee, a phone bill) paid from ACCOUNT."""
    from app.workflow import movements

    made = movements.cost(_money_actor(actor_email), {
        "amount": amount, "account": account, "kind": kind, "date": date})
    click.echo(f"{made['code']}: {made['amount']} {made['kind']} from {made['account']} "
               f"on {made['date']}")


@main.command("refund")
@click.argument("code")
@click.option("--amount", help="How much to give back (default: all that is left).")
@click.option("--as", "actor_email", required=True, help="The treasurer refunding.")
@with_appcontext
@clean_errors
def refund_command(code, amount, actor_email) -> None:
    """Give back part or all of the donation CODE, from the account it came into."""
    from app.workflow import donations

    actor = _money_actor(actor_email)
    from app.models import Role
    from app.workflow.errors import Forbidden
    if not actor.has(Role.treasurer):
        raise Forbidden(f"{actor_email} is not a treasurer")
    made = donations.refund(actor, code, {"amount": amount} if amount else {})
    click.echo(f"{made['code']}: {made['refunded']} refunded in all")


@main.command("return-payment")
@click.argument("code")
@click.option("--amount", help="How much came back (default: all that was paid).")
@click.option("--account", help="The cash account it came back to (default: the last "
                                "payment's).")
@click.option("--date", help="YYYY-MM-DD (default: today).")
@click.option("--as", "actor_email", required=True, help="The treasurer recording it.")
@with_appcontext
@clean_errors
def return_payment_command(code, amount, account, date, actor_email) -> None:
    """Record that a payment of request CODE came back (it bounced): owed again."""
    from app.workflow import movements

    made = movements.return_payment(_money_actor(actor_email), code, {
        "amount": amount, "account": account, "date": date})
    click.echo(f"{made['code']}: {made['paid_amount']} paid now, {made['outstanding']} "
               f"to pay ({made['status']})")


@main.command("derive-public")
@with_appcontext
@clean_errors
def derive_public_command() -> None:
    """Rebuild the community's books (instance/community/) from the fund's books."""
    from app.workflow.community import derive_public, folder

    changed = derive_public()
    click.echo(f"community's books in {folder()}: "
               + ("; ".join(changed) if changed else "unchanged"))


@main.command("audit")
@click.argument("month")
@click.option("--as", "actor_email", required=True, help="The auditor attesting the month.")
@with_appcontext
@clean_errors
def audit_command(month: str, actor_email: str) -> None:
    """Check sealed MONTH (fund's books, Merkle root, community's books) and attest it."""
    from app.workflow.attest import PASSED, audit
    from app.workflow.people import person_by_email

    result = audit(person_by_email(actor_email), month)
    for line in result["checks"]:
        click.echo(f"ok: {line}")
    for line in result["problems"]:
        click.echo(f"FAILED: {line}", err=True)
    click.echo(f"{month}: {result['result']} (attested by {actor_email})")
    if result["result"] != PASSED:
        raise SystemExit(1)


@main.group("policy")
def policy_group() -> None:
    """The fund's rules: approvals, caps, reserve floor, budgets, privacy thresholds."""


@policy_group.command("show")
@with_appcontext
@clean_errors
def policy_show() -> None:
    """Print the fund's policy."""
    from app.workflow.policy import describe, get_policy

    for name, value in describe(get_policy()).items():
        click.echo(f"{name} = {value}")


@policy_group.command("set")
@click.argument("settings", nargs=-1, required=True, metavar="NAME=VALUE...")
@click.option("--as", "actor_email", required=True, help="The admin making the change.")
@with_appcontext
@clean_errors
def policy_set(settings: tuple[str, ...], actor_email: str) -> None:
    """Change settings, e.g. request_cap=800.00 member_window_days=60 budget.food=300.00."""
    from app.fund import aid_categories
    from app.workflow.errors import InvalidInput
    from app.workflow.people import person_by_email
    from app.workflow.policy import INT_FIELDS, budgets, describe, get_policy, update_policy

    changes: dict = {}
    new_budgets = None
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"{item!r}: write NAME=VALUE", field=item)
        if name.startswith("budget."):
            new_budgets = new_budgets if new_budgets is not None else {
                k: str(v) for k, v in budgets(get_policy()).items()}
            if value in ("", "none"):
                new_budgets.pop(name[7:], None)
            else:
                new_budgets[name[7:]] = value
        elif name in INT_FIELDS:
            if not value.isdigit():
                raise InvalidInput(f"{name}: a whole number", field=name)
            changes[name] = int(value)
        else:
            changes[name] = value
    if new_budgets is not None:
        changes["category_budgets"] = new_budgets
    policy = update_policy(person_by_email(actor_email), changes, aid_categories())
    for name, value in describe(policy).items():
        click.echo(f"{name} = {value}")


@main.command("report")
@click.argument("month")
@click.option("--lang", default="en", show_default=True, type=_Registered(_languages))
@click.option("--paper", default=None, type=click.Choice(["a4", "letter"]),
              help="Paper size [default: letter for a fund in USD, else a4]")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write the PDF here.")
@click.option("--publish", "publish_as", metavar="EMAIL",
              help="Publish MONTH (every language) as this treasurer instead.")
@click.option("--reason", help="Why a new version replaces an earlier one (a correction).")
@with_appcontext
@clean_errors
def report_command(month: str, lang: str, paper: str, out: str | None,
                   publish_as: str | None, reason: str | None) -> None:
    """Render MONTH's transparency report to a PDF, or publish it."""
    from app.workflow import reports
    from app.workflow.errors import InvalidInput
    from app.workflow.people import person_by_email

    if publish_as:
        rows = reports.publish(person_by_email(publish_as), month, paper=paper, reason=reason)
        version = rows[0]["version"]
        for row in (r for r in rows if r["version"] == version):
            click.echo(f"published {row['filename']}  sha256 {row['sha256']}")
        return
    if not out:
        raise InvalidInput("--out FILE.pdf is needed (or --publish EMAIL)", field="out")
    pdf = reports.render(month, lang=lang, paper=paper)
    Path(out).write_bytes(pdf)
    click.echo(f"wrote {out} ({len(pdf):,} bytes)")


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--without-key", is_flag=True,
              help="Leave the data key out (keep it apart: docs/operations.md).")
@with_appcontext
@clean_errors
def backup_command(file: str, without_key: bool) -> None:
    """Write a consistent snapshot (database, books, keys, reports) to FILE, while running."""
    from app.workflow.backup import backup

    manifest = backup(Path(file), with_key=not without_key)
    click.echo(f"wrote {file}: {len(manifest['files'])} files ({manifest['database']}); "
               + ("the data key is NOT in it: restoring needs the key you keep apart"
                  if without_key else
                  "it holds the data key: keep it as safe as the server"))


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
@clean_errors
def restore_command(file: str) -> None:
    """Bring a fund back from FILE into this (empty) instance folder and database."""
    from app.workflow.backup import restore

    manifest = restore(Path(file))
    click.echo(f"restored {len(manifest['files'])} files taken {manifest['taken_at']}; "
               "run `carebooks check`")
    if manifest.get("data_key") == "left out":
        click.echo("the backup was taken --without-key: put the data key you kept apart in "
                   "data.key (mode 0600) or CAREBOOKS_DATA_KEY before the app starts")


@main.command("demo")
@click.option("--if-missing", is_flag=True, help="Do nothing when the instance has books.")
@with_appcontext
@clean_errors
def demo_command(if_missing: bool) -> None:
    """Create a demo fund with a few months of donations, requests and payments."""
    from app.demo import create_demo

    if (_books_dir() / MAIN).exists():
        if if_missing:
            click.echo(f"using the fund in {current_app.instance_path}")
            return
        _fail(f"{_books_dir()} already holds books; choose another CAREBOOKS_INSTANCE")
    password = create_demo()
    click.echo(f"created a demo fund in {current_app.instance_path}")
    click.echo("sign in as alex@example.org or bea@example.org (treasurers), "
               "admin@example.org, or member1@example.org ... member8@example.org")
    click.echo(f"their demo password (shown once): {password}")


@main.command("serve")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def serve_command(port: int, host: str) -> None:
    """Serve the app (development server; see docs/operations.md for production)."""
    from werkzeug.serving import run_simple

    app = create_app()
    from app.workflow.outbox import recover_on_start

    with app.app_context():
        said = recover_on_start()
    if said:
        click.echo(said, err=True)
    from app.workflow.notify import start_thread
    start_thread(app)  # only with CAREBOOKS_NOTIFY_EVERY set (docs/notifications.md)
    click.echo(f"Carebooks: http://{host}:{port}/")
    run_simple(host, port, app, use_reloader=False, threaded=True)


@main.command("notify")
@click.option("--loop", "every", type=int, default=None, metavar="SECONDS",
              help="Keep running, sending every SECONDS (default: send once and exit).")
@with_appcontext
@clean_errors
def notify_command(every: int | None) -> None:
    """Send the notices that are due (docs/notifications.md); for a systemd timer."""
    from app.workflow import notify

    while True:
        out = notify.run_once()
        click.echo(out.note or f"sent {out.sent}, retrying {out.retried}, "
                               f"failed {out.failed}, skipped {out.skipped}")
        if not every:
            return
        time.sleep(every)


@main.command("check")
@click.option("--repair", is_flag=True,
              help="Also cut a torn last entry and write back, from the outbox, every entry "
                   "missing from the books (the cut bytes are kept in .carebooks/torn/).")
@with_appcontext
def check_command(repair: bool) -> None:
    """Settle the outbox, cross-check database and books, verify the seal and audit chains."""
    from app.workflow.check import run_check

    report = run_check(repair=repair)
    click.echo(str(report))
    if not report.ok:
        sys.exit(1)


@main.command("rotate-key")
@click.option("--generate", is_flag=True,
              help="Only print a new key (for CAREBOOKS_DATA_KEY); change nothing.")
@with_appcontext
@clean_errors
def rotate_key_command(generate: bool) -> None:
    """Re-encrypt stories, notes and donor names under a new data key, then retire the old
    key (only once every value has been rewritten; safe to run again after a crash)."""
    from app.crypto import generate_key, key_problem
    from app.workflow.keys import rotate_key

    if generate:
        click.echo(generate_key())
        return
    try:
        done = rotate_key()
    except Exception as exc:  # noqa: BLE001 - a key problem is one line, anything else raises
        if (problem := key_problem(exc)) is None:
            raise
        _fail(problem.message)
    click.echo(f"{'resumed; ' if done.resumed else ''}{done.rewritten} value(s) re-encrypted "
               f"under data key {done.key_id}")
    if done.retired and done.from_env:
        click.echo(f"every value is under the first key now: set CAREBOOKS_DATA_KEY to it "
                   f"alone (drop {', '.join(done.retired)})")
    elif done.retired:
        click.echo(f"retired key(s) {', '.join(done.retired)}; backups made before now need "
                   "the old key file to be read")


@main.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Override the policy's purge_after_days.")
@with_appcontext
@clean_errors
def purge_command(days: int | None) -> None:
    """Remove the stories, notes, contacts and donor names of requests closed (and
    donations made) more than N days ago; keep codes, amounts, categories, dates and
    statuses."""
    from app.crypto import key_problem
    from app.workflow.retention import purge

    try:
        done = purge(days)
    except Exception as exc:  # noqa: BLE001 - a key problem is one line, anything else raises
        if (problem := key_problem(exc)) is None:
            raise
        _fail(problem.message)
    click.echo(f"purged after {done['days']} days: {done['requests']} stor"
               f"{'y' if done['requests'] == 1 else 'ies'}, {done['notes']} note(s), "
               f"{done['donor_names']} donor name(s), {done['replays']} replayed answer(s)"
               # contacts exist only on requests filed on someone's behalf
               + (f", {done['contacts']} contact(s)" if done.get("contacts") else ""))


# --- imports and reconciliation (docs/import.md) -------------------------------------------

def _treasurer(email: str):
    from app.models import Role
    from app.workflow.errors import Forbidden
    from app.workflow.people import person_by_email

    actor = person_by_email(email)
    if not actor.has(Role.treasurer):
        raise Forbidden(f"{email} is not a treasurer")
    return actor


def _print_preview(p: dict) -> None:
    cur = p["currency"]
    click.echo(f"{p['format']} file {p['file_sha256'][:12]} into {p['account']} "
               f"({p['category']})")
    click.echo(f"to add: {len(p['add'])} donation(s), gross {p['totals']['gross']} {cur}, "
               f"fees {p['totals']['fees']} {cur}")
    for d in p["add"]:
        click.echo(f"  row {d['row']:>4}  {d['date']}  {d['amount']:>12}  fee {d['fee']:>8}  "
                   f"{d['donor']}")
    if p["outgoing"]:
        click.echo(f"payments sent: {len(p['outgoing'])} (written only with --match ROW=CODE)")
        for o in p["outgoing"]:
            cands = ", ".join(f"{c['code']} ({c['outstanding']} left)" for c in o["candidates"])
            click.echo(f"  row {o['row']:>4}  {o['date']}  {o['amount']:>12}  "
                       f"{'could pay: ' + cands if cands else 'no approved request fits'}")
    if p["transfers"]:
        click.echo(f"transfers between the fund's accounts: {len(p['transfers'])}")
        for t in p["transfers"]:
            click.echo(f"  row {t['row']:>4}  {t['date']}  {t['amount']:>12}  fee {t['fee']:>8}  "
                       f"{t['from_account']} -> {t['to_account']}")
    if p["refunds"]:
        click.echo(f"refunds of donations: {len(p['refunds'])}")
        for r in p["refunds"]:
            click.echo(f"  row {r['row']:>4}  {r['date']}  {r['amount']:>12}  of {r['of']}")
    if p["duplicates"]:
        click.echo(f"already in the books: {len(p['duplicates'])}")
        for d in p["duplicates"]:
            click.echo(f"  row {d['row']:>4}  {d['date']}  {d['amount']:>12}  = {d['of']}")
    if p["skipped"]:
        click.echo(f"not imported: {len(p['skipped'])}")
        for s in p["skipped"]:
            click.echo(f"  row {s['row']:>4}  {s['date']}  {s['amount']:>12}  {s['reason']}")
    if p["errors"]:
        click.echo(f"cannot be read: {len(p['errors'])}")
        for e in p["errors"]:
            click.echo(f"  row {e['row']:>4}  {e['reason']}")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", required=True, type=_Registered(_import_formats))
@click.option("--mapping", help="A bank CSV's saved column mapping (see import-mapping).")
@click.option("--account", help="The cash account (default: the format's, e.g. "
              "Assets:Fund:PayPal; Stripe and bank: Assets:Fund:Bank).")
@click.option("--category", default="individual", show_default=True,
              help="The donation category of the incoming payments.")
@click.option("--match", "matches", multiple=True, metavar="ROW=CODE",
              help="Record the payment sent on ROW as paying request CODE; repeat.")
@click.option("--dry-run", is_flag=True, help="Show the preview only; write nothing.")
@click.option("--yes", is_flag=True, help="Write without asking (for scripts).")
@click.option("--as", "actor_email", required=True, help="The treasurer importing.")
@with_appcontext
@clean_errors
def import_command(file: str, fmt: str, mapping: str | None, account: str | None,
                   category: str, matches: tuple[str, ...], dry_run: bool, yes: bool,
                   actor_email: str) -> None:
    """Import a PayPal, Venmo, Stripe or bank CSV: preview, then write it all or nothing."""
    from app.workflow import imports
    from app.workflow.errors import InvalidInput

    actor = _treasurer(actor_email)
    chosen = {}
    for item in matches:
        row, sep, code = item.partition("=")
        if not sep:
            raise InvalidInput(f"--match {item!r}: write ROW=CODE, e.g. 5=R-2026-0042",
                               field="match")
        chosen[row.strip()] = code.strip()
    data = Path(file).read_bytes()
    options = {"mapping": mapping, "account": account, "category": category}
    shown = imports.preview(actor, data, fmt, **options)
    _print_preview(shown)
    if shown["errors"]:
        _fail(f"{len(shown['errors'])} row(s) cannot be read; nothing was written")
    if dry_run:
        click.echo("dry run: nothing was written")
        return
    if not shown["add"] and not chosen and not shown["transfers"] and not shown["refunds"]:
        click.echo("nothing new to add")
        return
    if not yes:
        click.confirm(f"Write {len(shown['add'])} donation(s), {len(shown['refunds'])} "
                      f"refund(s), {len(shown['transfers'])} transfer(s) and {len(chosen)} "
                      "payment(s) to the books?", abort=True)
    done = imports.confirm(actor, data, fmt, digest=shown["digest"], matches=chosen, **options)
    click.echo(f"added {done['added']} donation(s)"
               + (f": {done['codes'][0]} to {done['codes'][-1]}" if done["codes"] else ""))
    for code in done["refunds"]:
        click.echo(f"refunded part of {code}")
    for code in done["transfers"]:
        click.echo(f"transfer {code}")
    for p in done["paid"]:
        click.echo(f"paid {p['code']} {p['amount']} (row {p['row']})")


@main.command("import-mapping")
@click.argument("name")
@click.option("--from-file", "from_file", type=click.Path(exists=True, dir_okay=False),
              help="A JSON file with the fields below (tests/data/bank-mapping.json).")
@click.option("--date", "date_col", help="The date column.")
@click.option("--amount", "amount_col", help="The signed amount column.")
@click.option("--description", "description_col", help="The description column.")
@click.option("--reference", "reference_col", help="The reference column.")
@click.option("--id", "id_col", help="The bank's own transaction id column, if any.")
@click.option("--name", "name_col", help="The payer's name column (kept only with consent).")
@click.option("--consent", "consent_col", help="The yes/no column: may the payer be named?")
@click.option("--date-format", help="strftime format of the dates, e.g. %d/%m/%Y.")
@click.option("--decimal", type=click.Choice([".", ","]), help="The decimal mark.")
@click.option("--as", "actor_email", required=True, help="The treasurer saving it.")
@with_appcontext
@clean_errors
def import_mapping_command(name: str, from_file: str | None, actor_email: str, **cols) -> None:
    """Save (or replace) the column mapping of a bank's CSV under NAME."""
    import json

    from app.workflow import imports
    from app.workflow.errors import InvalidInput

    actor = _treasurer(actor_email)
    spec: dict = {}
    if from_file:
        try:
            spec = json.loads(Path(from_file).read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"--from-file: not JSON ({exc})", field="mapping") from None
        if not isinstance(spec, dict):
            raise InvalidInput("--from-file: must hold a JSON object", field="mapping")
    names = {"date_col": "date", "amount_col": "amount", "description_col": "description",
             "reference_col": "reference", "id_col": "id", "name_col": "name",
             "consent_col": "consent", "date_format": "date_format", "decimal": "decimal"}
    spec.update({names[k]: v for k, v in cols.items() if v is not None})
    saved = imports.save_mapping(actor, name, spec)
    m = saved["mapping"]
    click.echo(f"saved mapping {saved['name']}: date={m['date']!r} amount={m['amount']!r} "
               f"({m['date_format']}, decimal {m['decimal']!r})")


@main.command("reconcile")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", required=True, type=_Registered(_import_formats))
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--mapping", help="A bank CSV's saved column mapping.")
@click.option("--account", help="The cash account the statement is for.")
@click.option("--as", "actor_email", required=True, help="The treasurer reconciling.")
@with_appcontext
@clean_errors
def reconcile_command(file: str, fmt: str, month: str, mapping: str | None,
                      account: str | None, actor_email: str) -> None:
    """Statement lines with no entry, and entries with no line, side by side; exits 1
    unless the month reconciles."""
    from app.workflow.reconcile import reconcile

    r = reconcile(_treasurer(actor_email), Path(file).read_bytes(), fmt, month,
                  mapping=mapping, account=account)
    cur = r["currency"]
    click.echo(f"{r['account']} {r['month']}: statement {r['totals']['statement']} {cur}, "
               f"books {r['totals']['books']} {cur}, difference {r['totals']['difference']}")
    click.echo(f"{'statement':<44}| books")
    for p in r["pairs"]:
        ln, e = p["line"], p["entry"]
        click.echo(f"row {ln['row']:>4} {ln['date']} {ln['amount']:>12} {ln['reference'][:14]:<14}"
                   f"| {e['date']} {e['amount']:>12} {e['code']}")
    for ln in r["lines_only"]:
        click.echo(f"row {ln['row']:>4} {ln['date']} {ln['amount']:>12} {ln['reference'][:14]:<14}"
                   f"| (no entry)")
    for e in r["entries_only"]:
        click.echo(f"{'(no statement line)':<44}| {e['date']} {e['amount']:>12} {e['code']} "
                   f"{e['what']}")
    for e in r["errors"]:
        click.echo(f"row {e['row']}: cannot be read: {e['reason']}")
    if r["outside_month"]:
        click.echo(f"({r['outside_month']} line(s) outside {r['month']} left out)")
    if r["reconciled"]:
        click.echo("reconciled: every line has its entry and every entry its line")
    else:
        click.echo(f"not reconciled: {len(r['lines_only'])} line(s) without an entry, "
                   f"{len(r['entries_only'])} entr(y/ies) without a line")
        sys.exit(1)


from app.cli_custody import custody_group, lock_command  # noqa: E402  (issue 21)

main.add_command(custody_group)
main.add_command(lock_command)
