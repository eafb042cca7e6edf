"""Second-factor secrets and held uploads under custody (issue 21).

A treasurer's authenticator secret is wrapped under a key only their password makes, so a
locked fund still signs its treasurers in (they must, to unlock it) while a copy of its
disk yields no secret; a secret still under the data key moves at the next sign-in,
locked or not, and the custody migration seals whatever is left. A held statement file is
sealed to the fund's key: it is held while locked and imported only once unlocked.
"""

from __future__ import annotations

import json

import pyotp
import pytest
from sqlalchemy import text

from app.custody import factor, memory
from app.models import Person
from tests.app.conftest import PASSWORD
from tests.app.import_helpers import ifund  # noqa: F401 (fixture)
from tests.app.test_custody import cli, split
from tests.app.test_import_pages import confirm_fields, held_files, upload
from tests.app.test_web import Browser
from tests.app.test_web import text as page_text


@pytest.fixture(autouse=True)
def locked_process():
    memory.wipe()
    yield
    memory.wipe()


def row(fund, who: str) -> dict:
    """The person's second-factor columns as stored (no decryption)."""
    with fund.ctx():
        from app.db import engine
        with engine().connect() as conn:
            found = conn.execute(text(
                "SELECT totp_secret, totp_wrapped, totp_hold, totp_pending FROM person "
                "WHERE id = :id"), {"id": fund.people[who].id}).mappings().one()
    return dict(found)


def as_before_this_change(fund, who: str) -> None:
    """Put `who`'s secret back where it was before: in totp_secret, under the data key."""
    from app.db import session_scope
    with fund.ctx(), session_scope() as session:
        person = session.get(Person, fund.people[who].id)
        person.totp_secret, person.totp_wrapped = fund.totp[who], None


def test_the_secret_is_kept_wrapped_under_the_password_only(fund):
    stored = row(fund, "treasurer")
    assert stored["totp_secret"] is None and factor.is_wrapped(stored["totp_wrapped"])
    assert fund.totp["treasurer"] not in json.dumps(stored)
    with pytest.raises(factor.FactorError):
        factor.unwrap(stored["totp_wrapped"], factor.key_for("not the password at all",
                                                            stored["totp_wrapped"]),
                      fund.people["treasurer"].id)
    # moved to another person's row, it does not open even with the right password
    with pytest.raises(factor.FactorError):
        factor.unwrap(stored["totp_wrapped"], factor.key_for(PASSWORD, stored["totp_wrapped"]),
                      fund.people["treasurer2"].id)
    assert factor.unwrap(stored["totp_wrapped"], factor.key_for(PASSWORD, stored["totp_wrapped"]),
                         fund.people["treasurer"].id) == fund.totp["treasurer"]


def test_a_data_key_secret_moves_under_the_password_at_the_next_sign_in(fund):
    as_before_this_change(fund, "treasurer")
    assert row(fund, "treasurer")["totp_secret"].startswith("cb1:")
    Browser(fund).sign_in("treasurer")
    stored = row(fund, "treasurer")
    assert stored["totp_secret"] is None and factor.is_wrapped(stored["totp_wrapped"])
    assert stored["totp_hold"] is None          # the held key is gone once the code passed
    Browser(fund).sign_in("treasurer")           # and the next sign-in opens it


def test_a_locked_fund_signs_treasurers_in_and_they_unlock_it(fund):
    shares = split(fund)
    memory.wipe()
    treasurer = Browser(fund).sign_in("treasurer")       # the factor opens while locked
    resp = treasurer.post("/custody", "/custody/unlock", {"u-shares": "\n".join(shares[:2])})
    assert resp.status_code == 303


def test_the_half_finished_sign_in_holds_nothing_the_disk_alone_opens(fund):
    browser = Browser(fund)
    resp = browser.post("/sign-in", data={"email": "treasurer@example.org",
                                          "password": PASSWORD})
    assert resp.headers["Location"].endswith("/sign-in/code")
    hold = row(fund, "treasurer")["totp_hold"]
    assert hold and fund.totp["treasurer"] not in hold
    pid = fund.people["treasurer"].id
    assert factor.release(hold, None, pid) is None
    assert factor.release(hold, "A" * 43, pid) is None
    # the browser's cookie holds the other half: the code step goes through
    resp = browser.post("/sign-in/code", data={"code": fund.code("treasurer")})
    assert resp.status_code == 303


def test_the_custody_migration_seals_a_secret_not_yet_wrapped(fund):
    as_before_this_change(fund, "treasurer2")
    code, out, _err = cli(fund, "custody", "split", "--shares", "3", "--needed", "2")
    assert code == 0 and "treasurer2" in out and "recovery code" in out
    shares = [line.split(":", 1)[1].strip() for line in out.splitlines()
              if line.startswith("share ")]
    assert row(fund, "treasurer2")["totp_secret"].startswith("cb2:")
    memory.wipe()
    # locked: the app's code cannot be checked, and the page says what to do instead
    browser = Browser(fund)
    browser.post("/sign-in", data={"email": "treasurer2@example.org", "password": PASSWORD})
    resp = browser.post("/sign-in/code", data={"code": fund.code("treasurer2")})
    assert resp.status_code == 422 and "recovery codes" in page_text(resp)
    resp = browser.post("/sign-in/code", data={"code": fund.recovery["treasurer2"][0]})
    assert resp.status_code == 303                      # a recovery code still works
    # unlocked: the next sign-in opens the sealed secret and wraps it under the password
    Browser(fund).sign_in("treasurer").post("/custody", "/custody/unlock",
                                           {"u-shares": "\n".join(shares[:2])})
    Browser(fund).sign_in("treasurer2")
    stored = row(fund, "treasurer2")
    assert stored["totp_secret"] is None and factor.is_wrapped(stored["totp_wrapped"])


def test_a_password_change_rewraps_the_secret(fund):
    from app.workflow import sessions

    new = "a different long passphrase 42"
    with fund.ctx():
        sessions.change_password(fund.people["treasurer"].id, PASSWORD, new)
    wrapped = row(fund, "treasurer")["totp_wrapped"]
    pid = fund.people["treasurer"].id
    with pytest.raises(factor.FactorError):
        factor.unwrap(wrapped, factor.key_for(PASSWORD, wrapped), pid)
    assert factor.unwrap(wrapped, factor.key_for(new, wrapped), pid) == fund.totp["treasurer"]
    browser = Browser(fund)
    browser.post("/sign-in", data={"email": "treasurer@example.org", "password": new})
    assert browser.post("/sign-in/code", data={"code": fund.code("treasurer")}
                        ).status_code == 303


def test_a_first_sign_in_keeps_the_offered_secret_wrapped(fund):
    from app.db import session_scope
    with fund.ctx(), session_scope() as session:
        person = session.get(Person, fund.people["admin"].id)
        person.totp_wrapped = person.totp_secret = None
    Browser(fund).sign_in("admin")      # the setup page, its code, the recovery codes
    stored = row(fund, "admin")
    assert stored["totp_pending"] is None and factor.is_wrapped(stored["totp_wrapped"])


# --- held uploads -------------------------------------------------------------------------

def test_a_held_statement_is_sealed_and_waits_for_the_unlock(ifund):
    from tests.app.test_access_matrix import sign_in

    fund = ifund
    shares = split(fund)
    memory.wipe()
    client = sign_in(fund, "treasurer")
    resp = upload(client, "paypal.csv", "paypal")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="held-sealed"' in html
    [held] = held_files(fund)
    assert held.read_text().startswith("cb2:") and b"Marisol" not in held.read_bytes()
    fields = confirm_fields(html)
    resp = client.post("/treasurer/import/confirm", data={**fields, "action": "confirm"})
    assert resp.status_code == 409 and "locked: 2 treasurers must unlock" in page_text(resp)
    assert held_files(fund) == [held]                        # kept, still sealed
    Browser(fund).sign_in("treasurer2").post("/custody", "/custody/unlock",
                                             {"u-shares": "\n".join(shares[:2])})
    resp = client.post("/treasurer/import/confirm", data={**fields, "action": "confirm"})
    assert resp.status_code == 303 and held_files(fund) == []


def test_the_custody_migration_seals_files_already_held(ifund):
    from tests.app.test_access_matrix import sign_in

    fund = ifund
    client = sign_in(fund, "treasurer")
    assert upload(client, "paypal.csv", "paypal").status_code == 200
    [held] = held_files(fund)
    assert held.read_text().startswith("cb1:")
    age = held.stat().st_mtime_ns
    split(fund)
    assert held.read_text().startswith("cb2:") and held.stat().st_mtime_ns == age
