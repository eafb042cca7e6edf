"""The `carebooks` command line (issue 3, "CLI"), run in-process with click's CliRunner
against a fresh instance folder (SQLite; the workflow and API tests cover PostgreSQL).

Each error must be one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import create_app
from app.cli import main

HEX64 = re.compile(r"^[0-9a-f]{64}$")
PASSWORD = "a long enough passphrase"




@pytest.fixture
def instance(tmp_path, monkeypatch):
    """An empty instance folder named by CAREBOOKS_INSTANCE, on SQLite."""
    folder = tmp_path / "instance"
    monkeypatch.setenv("CAREBOOKS_INSTANCE", str(folder))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CAREBOOKS_SECRET_KEY", raising=False)
    return folder


def run(instance: Path, *args: str, input: str | None = None, ok: bool = True):
    """Invoke `carebooks ARGS`; with ok=True it must succeed, else it must fail cleanly."""
    result = CliRunner().invoke(main, list(args), input=input,
                                env={"CAREBOOKS_INSTANCE": str(instance), "DATABASE_URL": None})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash is never a clean error
    if ok:
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
    else:
        assert result.exit_code != 0, (args, result.stdout)
    return result


def one_error_line(result) -> str:
    """The single line a failed command printed on stderr."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def months_back(today: dt.date, n: int) -> str:
    year, month = today.year, today.month - n
    while month <= 0:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def month_file(instance: Path, month: str) -> Path:
    return instance / "books" / month[:4] / f"{month}.beancount"


def init(instance: Path, name: str = "Eastside Mutual Aid"):
    return run(instance, "init", "--name", name, "--currency", "USD")


# --- init and db upgrade -----------------------------------------------------------------

def test_init_creates_the_database_and_books_that_bean_check_accepts(instance):
    result = init(instance)
    assert "Eastside Mutual Aid" in result.stdout
    assert (instance / "carebooks.db").is_file()
    main_file = instance / "books" / "main.beancount"
    assert main_file.is_file() and (instance / "books" / "accounts.beancount").is_file()
    bean_check = Path(sys.executable).with_name("bean-check")
    proc = subprocess.run([str(bean_check), str(main_file)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr.strip() == "", \
        (proc.stdout, proc.stderr)
    from beancount import loader

    entries, errors, options = loader.load_file(str(main_file))
    assert errors == []
    assert options["title"] == "Eastside Mutual Aid"
    assert options["operating_currency"] == ["USD"]
    opened = {e.account for e in entries if type(e).__name__ == "Open"}
    assert {"Assets:Fund:Bank", "Expenses:Aid:Rent", "Liabilities:Aid:Approved",
            "Income:Donations:Individual"} <= opened
    # the new fund is consistent
    result = run(instance, "check")
    assert "check: OK" in result.stdout
    # init again refuses, in one line, and leaves the books alone
    before = main_file.read_bytes()
    err = one_error_line(run(instance, "init", "--name", "Another Name", ok=False))
    assert err.startswith("error:") and "exist" in err
    assert main_file.read_bytes() == before


def test_init_refuses_a_bad_currency_in_one_line(instance):
    err = one_error_line(run(instance, "init", "--name", "X", "--currency", "dollars", ok=False))
    assert "currency" in err and "dollars" in err
    assert not (instance / "books" / "main.beancount").exists()


@pytest.mark.parametrize("name", [
    "\n2020-01-01 price USD 2 EUR ;",         # a directive after a newline
    "Fund\n2020-01-01 price USD 2 EUR",       # ... after a name
    "Eastside Mutual Aid\n",                  # a trailing newline (broke the instance)
    "Fund\udcff",                             # a non-UTF-8 byte, as click decodes it
    "Fund\u2028Aid", "Fund\u202eAid", "Fund\tAid", "Fund \"A\"", "\u3164",
])
def test_init_refuses_a_name_that_could_write_into_the_books_and_leaves_nothing(instance,
                                                                               name):
    """Issue 16 item 1 (failed on 0983efd: the directive was written, bean-check passed)."""
    err = one_error_line(run(instance, "init", "--name", name, ok=False))
    assert err.startswith("error: name:"), err
    assert not (instance / "books").exists()
    assert not (instance / "carebooks.db").exists()


def test_init_writes_the_checked_name_not_the_raw_one(instance):
    from beancount import loader

    init(instance, "  Eastside  Mutual Aid ")
    main_file = instance / "books" / "main.beancount"
    _, errors, options = loader.load_file(str(main_file))
    assert errors == [] and options["title"] == "Eastside  Mutual Aid"
    assert "  Eastside" not in main_file.read_text()


def test_db_upgrade_is_idempotent_and_prints_the_revision(instance):
    from alembic.script import ScriptDirectory

    from app.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    first = run(instance, "db", "upgrade")  # on an empty instance: creates the schema
    assert first.stdout.strip() == f"database at revision {head}"
    assert (instance / "carebooks.db").is_file()
    second = run(instance, "db", "upgrade")
    assert second.stdout == first.stdout
    init(instance)
    assert run(instance, "db", "upgrade").stdout == first.stdout


# --- people and tokens ------------------------------------------------------------------

def test_user_add_reads_the_password_from_stdin(instance):
    init(instance)
    result = run(instance, "user", "add", "Tess@Example.org", "--role", "treasurer",
                 "--password-stdin", input=PASSWORD + "\n")
    assert "tess@example.org" in result.stdout and "treasurer" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    # and from a prompt (asked twice)
    result = run(instance, "user", "add", "max@example.org", "--role", "member",
                 input=f"{PASSWORD}\n{PASSWORD}\n")
    assert "max@example.org" in result.stdout
    from argon2 import PasswordHasher

    from app.models import Role
    from app.workflow.people import person_by_email

    app = create_app(instance=instance)
    with app.app_context():
        tess = person_by_email("tess@example.org")
        assert tess.has(Role.treasurer) and not tess.has(Role.admin)
        assert PasswordHasher().verify(tess.password_hash, PASSWORD)
        assert person_by_email("max@example.org").has(Role.member)
    app.extensions["carebooks.engine"].dispose()


@pytest.mark.parametrize("email, password, words", [
    ("short@example.org", "too short", ["password", "12"]),
    ("not-an-email", PASSWORD, ["email", "not-an-email"]),
    ("two@@example.org", PASSWORD, ["email"]),
    ("tess@example.org", PASSWORD, ["tess@example.org", "already"]),
])
def test_user_add_errors_are_one_clear_line(instance, email, password, words):
    init(instance)
    run(instance, "user", "add", "tess@example.org", "--role", "member", "--password-stdin",
        input=PASSWORD + "\n")
    result = run(instance, "user", "add", email, "--role", "treasurer", "--password-stdin",
                 input=password + "\n", ok=False)
    err = one_error_line(result)
    assert err.startswith("error:"), err
    for word in words:
        assert word in err, (word, err)
    assert password not in err
    # nobody was added or changed: tess is still only a member, the other does not exist
    from app.models import Role
    from app.workflow.errors import NotFound
    from app.workflow.people import person_by_email

    app = create_app(instance=instance)
    with app.app_context():
        assert not person_by_email("tess@example.org").has(Role.treasurer)
        if email != "tess@example.org":
            with pytest.raises(NotFound):
                person_by_email(email)
    app.extensions["carebooks.engine"].dispose()


def test_token_create_prints_a_token_that_opens_the_api(instance):
    init(instance)
    run(instance, "user", "add", "max@example.org", "--role", "member", "--password-stdin",
        input=PASSWORD + "\n")
    result = run(instance, "token", "create", "max@example.org")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    token = lines[0].strip()
    assert len(token) >= 32 and " " not in token
    second = run(instance, "token", "create", "max@example.org").stdout.strip()
    assert second != token
    app = create_app(instance=instance)
    client = app.test_client()
    resp = client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json() == {"requests": []}
    assert client.get("/api/v1/requests", headers={
        "Authorization": f"Bearer {second}"}).status_code == 200
    resp = client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}x"})
    assert resp.status_code == 401
    # the token works for POSTs too: the member can ask for aid
    soon = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    resp = client.post("/api/v1/requests", headers={"Authorization": f"Bearer {token}"},
                       json={"amount": "120.00", "category": "food", "needed_by": soon,
                             "payout_method": "cash", "story": "Groceries this week."})
    assert resp.status_code == 201 and resp.get_json()["member"] == "max"
    app.extensions["carebooks.engine"].dispose()
    # only the token's hash is kept
    assert token.encode() not in (instance / "carebooks.db").read_bytes()
    err = one_error_line(run(instance, "token", "create", "nobody@example.org", ok=False))
    assert err.startswith("error:") and "nobody@example.org" in err


def test_token_scopes_and_days_from_the_command_line(instance):
    """Issue 16 item 3: --scope and --days; money refused, in one line, to a member."""
    init(instance)
    run(instance, "user", "add", "max@example.org", "--role", "member", "--password-stdin",
        input=PASSWORD + "\n")
    err = one_error_line(run(instance, "token", "create", "max@example.org", "--scope",
                             "money", ok=False))
    assert "money is only for a treasurer" in err
    err = one_error_line(run(instance, "token", "create", "max@example.org", "--days", "0",
                             ok=False))
    assert err.startswith("error: days:")
    run(instance, "token", "create", "max@example.org", "--scope", "read", "--days", "7")
    (line,) = run(instance, "token", "list").stdout.splitlines()
    _id, email, scopes, expires, state = line.split("\t")
    assert (email, scopes, state) == ("max@example.org", "read", "live")
    assert expires == "expires " + (dt.date.today() + dt.timedelta(days=7)).isoformat() \
        or expires == "expires " + (dt.date.today() + dt.timedelta(days=8)).isoformat()


def test_backup_without_key_leaves_the_data_key_out(instance, tmp_path):
    """Issue 16 item 9 (failed on 0983efd: no such option; every backup held the key)."""
    import tarfile

    init(instance)
    app = create_app(instance=instance)
    with app.app_context():
        from app.crypto import keyring
        keyring(create=True)  # the key a first story would make
    app.extensions["carebooks.engine"].dispose()
    assert (instance / "data.key").is_file()
    out = run(instance, "backup", "--without-key", str(tmp_path / "b.tar.gz")).stdout
    assert "NOT in it" in out
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        assert "data.key" not in tar.getnames() and "manifest.json" in tar.getnames()
    target = tmp_path / "restored"
    out = run(target, "restore", str(tmp_path / "b.tar.gz")).stdout
    assert "--without-key" in out and "data.key" in out


# --- seal, check, demo ------------------------------------------------------------------

def _statement(instance: Path, month: str) -> dict[str, str]:
    """The books' balance of each cash account at the end of `month` (what the bank says)."""
    from app.fund import books

    app = create_app(instance=instance)
    with app.app_context():
        state = books().state
        out = {a: str(state.balance_at_end_of(a, month)) for a in state.cash_accounts()}
    app.extensions["carebooks.engine"].dispose()
    return out


def test_demo_fund_passes_check_and_seals_the_next_month(instance):
    result = run(instance, "demo")
    assert "demo" in result.stdout
    result = run(instance, "check")
    assert result.stdout.strip().endswith("check: OK"), result.stdout
    assert "PROBLEM" not in result.stdout
    today = dt.date.today()
    sealed = months_back(today, 2)
    assert f"sealed through {sealed}" in result.stdout
    month = months_back(today, 1)
    balances = _statement(instance, month)
    assert balances["Assets:Fund:Bank"] != "0.00"
    args = [f"--balance={a}={v}" for a, v in balances.items() if v != "0.00"]

    # wrong statement balance: one line naming the account and both figures
    wrong = [a for a in args if "Assets:Fund:Bank" not in a] + ["--balance",
                                                                "Assets:Fund:Bank=1.00"]
    err = one_error_line(run(instance, "seal", month, *wrong, "--as", "alex@example.org",
                             ok=False))
    assert err.startswith("error:") and "Assets:Fund:Bank" in err and "1.00" in err
    # out of order, not a treasurer, badly written balance, unknown person
    err = one_error_line(run(instance, "seal", months_back(today, 0), *args, "--as",
                             "alex@example.org", ok=False))
    assert "not over" in err or months_back(today, 1) in err
    err = one_error_line(run(instance, "seal", month, *args, "--as", "member1@example.org",
                             ok=False))
    assert "treasurer" in err
    err = one_error_line(run(instance, "seal", month, "--balance", "Assets:Fund:Bank",
                             "--as", "alex@example.org", ok=False))
    assert "ACCOUNT=AMOUNT" in err
    err = one_error_line(run(instance, "seal", month, *args, "--as", "ghost@example.org",
                             ok=False))
    assert "ghost@example.org" in err
    assert run(instance, "check").stdout.count(f"sealed through {sealed}") == 1

    result = run(instance, "seal", month, *args, "--as", "alex@example.org")
    line = result.stdout.strip()
    assert line.startswith(f"sealed {month}: ")
    assert HEX64.match(line.rsplit(" ", 1)[1]), line
    assert line.rsplit(" ", 1)[1] in (instance / "books" / "seals.beancount").read_text()
    result = run(instance, "check")
    assert f"sealed through {month}" in result.stdout and "check: OK" in result.stdout
    # sealing it twice is refused in one line
    err = one_error_line(run(instance, "seal", month, *args, "--as", "alex@example.org",
                             ok=False))
    assert err.startswith("error:")


def test_check_names_the_month_whose_sealed_file_changed(instance):
    run(instance, "demo")
    assert run(instance, "check").exit_code == 0
    month = months_back(dt.date.today(), 3)  # the first month the demo sealed
    path = month_file(instance, month)
    text = path.read_text(encoding="utf-8")
    assert '"Donation"' in text
    path.write_text(text.replace('"Donation"', '"Donatiom"', 1), encoding="utf-8")  # one char
    result = run(instance, "check", ok=False)
    problems = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    assert problems, result.stdout
    assert any(month in line for line in problems), problems
    assert "Traceback" not in result.stdout + result.stderr
    # putting the character back makes the fund whole again
    path.write_text(text, encoding="utf-8")
    assert "check: OK" in run(instance, "check").stdout


# --- policy --------------------------------------------------------------------------------


def test_policy_set_by_an_admin_changes_the_rules_and_is_audited(instance):
    run(instance, "demo")
    out = run(instance, "policy", "set", "request_cap=800.00", "member_window_days=60",
              "budget.food=300", "--as", "admin@example.org").stdout
    assert "request_cap = 800.00" in out and "member_window_days = 60" in out
    assert "category_budgets = {'food': '300.00'}" in out
    shown = run(instance, "policy", "show").stdout
    assert "request_cap = 800.00" in shown
    app = create_app(instance=instance)
    with app.app_context():
        from sqlmodel import select

        from app.db import session_scope
        from app.models import AuditEvent
        with session_scope() as session:
            events = session.exec(select(AuditEvent).where(
                AuditEvent.action == "policy.changed")).all()
    assert len(events) == 1 and '"request_cap":"1000.00"' in events[0].detail


@pytest.mark.parametrize(("args", "words"), [
    (("request_cap=800.00", "--as", "alex@example.org"), "only an admin"),
    (("request_cap=-5", "--as", "admin@example.org"), "request_cap: must be more than zero"),
    (("budget.food=abc", "--as", "admin@example.org"), "food: 'abc' is not an amount"),
    (("budget.snacks=3", "--as", "admin@example.org"), "the fund's categories"),
    (("colour=blue", "--as", "admin@example.org"), "colour: not a policy setting"),
])
def test_policy_set_refusals_are_one_line_and_change_nothing(instance, args, words):
    run(instance, "demo")
    before = run(instance, "policy", "show").stdout
    result = run(instance, "policy", "set", *args, ok=False)
    assert words in one_error_line(result)
    assert run(instance, "policy", "show").stdout == before
