"""The community's books: derived byte for byte the same, valid, and holding no one's aid."""

from __future__ import annotations

import re

from reports.community import PERIODS, derive, write
from reports.periods import publication_periods
from reports.privacy import Rules
from tests.books_check import bean_check_errors, fava_errors

RULES = Rules(k=5)


def _who(fund) -> dict:
    return {f.code: f.recipient for f in fund.plan.facts}


def test_same_books_and_rules_give_the_same_bytes_and_other_rules_do_not(fund):
    first = derive(fund.books, _who(fund), RULES)
    again = derive(fund.books, dict(reversed(list(_who(fund).items()))), RULES)
    assert first == again
    assert derive(fund.books, _who(fund), Rules(k=6)) != first


def test_they_pass_bean_check_and_open_in_fava(fund, tmp_path):
    folder = tmp_path / "community"
    write(folder, derive(fund.books, _who(fund), RULES))
    assert bean_check_errors(folder / "main.beancount") == []
    assert fava_errors(folder / "main.beancount") == []


def test_no_request_code_no_donor_name_no_single_request(fund):
    files = derive(fund.books, _who(fund), RULES)
    text = b"".join(files.values()).decode()
    assert not re.search(r"\bR-\d{4}-\d{4}\b", text)
    assert not re.search(r"\bD-\d{4}-\d{4}\b", text)
    # a consenting donor is named per period and kind (as the books always did), never
    # next to their own amount
    assert 'donors: "Rosa Martínez"' in text
    # no date inside a period: every transaction is dated a period's last day
    pub = publication_periods(fund.books, _who(fund), RULES)
    ends = {p.last_day.isoformat() for p in pub.periods}
    dated = set(re.findall(r"^(\d{4}-\d{2}-\d{2}) \*", files[PERIODS].decode(), re.M))
    assert dated == ends
    # no exact amount of a request in a combined category appears anywhere
    combined = {c for p in pub.periods for g in p.approved.groups if g.label == "combined"
                for c in g.categories}
    for entry in fund.plan.entries:
        for posting in getattr(entry, "postings", []):
            if posting.account.split(":")[-1].lower() in combined:
                assert not re.search(rf"\s{posting.units.number} USD", text)


def test_pending_months_publish_no_cash(fund):
    pub = publication_periods(fund.books, _who(fund), Rules(k=500))
    assert pub.periods == () and len(pub.pending) == len(fund.books.state.seals)
    files = derive(fund.books, _who(fund), Rules(k=500))
    assert b" balance " not in files[PERIODS] and b"Publication period" not in files[PERIODS]


def test_cash_is_one_total_never_one_account(fund):
    """A single account's change would tell the payments by payout method (one Venmo
    payment in a period is one person's aid): the fund's cash is published together."""
    files = derive(fund.books, _who(fund), RULES)
    text = b"".join(files.values()).decode()
    used = set(re.findall(r"Assets:Fund:[A-Za-z-]+", text))
    assert used == {"Assets:Fund:All"}, used
    assert re.search(r"^\d{4}-\d\d-\d\d balance Assets:Fund:All ", text, re.M)
