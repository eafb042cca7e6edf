"""Importing in a real browser: a treasurer uploads the PayPal sample, reads the preview
(axe-scanned), picks the request a payment sent settles, confirms, then reconciles the
month and sees both sides."""

from __future__ import annotations

import pytest

from tests.app.conftest import ask
from tests.e2e.conftest import serve
from tests.app.import_helpers import DATA, approve_before_samples, new_fund
from tests.e2e.test_walkthrough import sign_in


@pytest.fixture
def site(tmp_path):
    """A fund whose books hold the samples' month, served on 127.0.0.1."""
    yield from serve(new_fund(tmp_path, f"sqlite:///{tmp_path / 'e2e.db'}"))


def test_a_treasurer_imports_matches_and_reconciles(site, tab):
    code = ask(site, amount="40.00", payout_method="paypal")
    approve_before_samples(site, code)  # the rows are of the samples' month
    t = tab("import", width=360)
    page = sign_in(t, "treasurer")
    page = t.goto("/treasurer/import")
    page.set_input_files("#file", str(DATA / "paypal.csv"))
    page.select_option("#format", "paypal")
    page.click("main button.primary")
    t.check("import-preview")
    text = page.inner_text("main")
    assert "5 donation(s) to add to PayPal" in text
    assert "Marisol Ejemplo" in text and "Rowan Example" not in page.content()
    page.select_option("#match-5", code)
    page.click("text=Write it to the books")
    t.check("import-done")
    assert "Imported: 5 donation(s) and 1 payment(s)" in page.inner_text("main")

    page = t.goto("/treasurer/reconcile")
    page.set_input_files("#file", str(DATA / "paypal.csv"))
    page.select_option("#format", "paypal")
    page.fill("#month", "2026-10")
    page.click("main button.primary")
    t.check("reconcile-result")
    text = page.inner_text("main")
    # the refund and the withdrawal are imported too (issue 18), and the payment sent was
    # matched to its request above: every line has its entry
    assert "Reconciled: every statement line has its entry and every entry its line" in text
    assert "No entry in the books" not in text
