"""Publishing the monthly report: only a sealed month, stored with its SHA-256 and never
replaced; a correction is a new version with a reason; every version stays public."""

from __future__ import annotations

import hashlib
import re

import pytest
from click.testing import CliRunner

from app.workflow import months, reports
from app.workflow.errors import Forbidden, InvalidInput, PolicyRefused
from tests.app.conftest import make_fund


@pytest.fixture
def fund(tmp_path):
    return make_fund(tmp_path, f"sqlite:///{tmp_path / 'pub.db'}")


def _seal_first_month(fund) -> str:
    month = f"{fund.start.year:04d}-{fund.start.month:02d}"
    months.seal(fund.people["treasurer"], month, {"balances": {"Assets:Fund:Bank": "5000.00"}})
    return month


def test_a_month_must_be_sealed_before_its_report_is_published(fund):
    month = f"{fund.start.year:04d}-{fund.start.month:02d}"
    with fund.ctx():
        with pytest.raises(PolicyRefused) as info:
            reports.publish(fund.people["treasurer"], month)
        assert info.value.code == "month_not_sealed"
        with pytest.raises(Forbidden):
            reports.publish(fund.people["member"], month)
        assert reports.archive() == []


def test_published_reports_are_kept_as_published_and_corrections_are_new_versions(fund):
    with fund.ctx():
        month = _seal_first_month(fund)
        first = reports.publish(fund.people["treasurer"], month)
        assert {(r["version"], r["lang"]) for r in first} == {(1, "en"), (1, "es")}
        folder = reports.folder()
        v1 = {r["filename"]: (folder / r["filename"]).read_bytes() for r in first}
        for r in first:
            data = v1[r["filename"]]
            assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == r["sha256"]
        with pytest.raises(InvalidInput) as info:
            reports.publish(fund.people["treasurer"], month)  # a second version needs a reason
        assert info.value.field == "reason"
        second = reports.publish(fund.people["treasurer2"], month,
                                 reason="A donation was recorded in the wrong month.")
        assert {r["version"] for r in second} == {1, 2}
        for name, data in v1.items():  # version 1 is untouched
            assert (folder / name).read_bytes() == data
    client = fund.client()
    page = client.get("/reports").get_data(as_text=True)
    assert page.count(".pdf") >= 4 and "A donation was recorded in the wrong month." in page
    for r in second:
        resp = client.get(f"/reports/{r['filename']}")
        assert resp.status_code == 200 and hashlib.sha256(resp.data).hexdigest() == r["sha256"]
        assert r["sha256"] in page


def test_a_changed_report_file_is_not_served(fund):
    with fund.ctx():
        month = _seal_first_month(fund)
        row = reports.publish(fund.people["treasurer"], month)[0]
        path = reports.folder() / row["filename"]
    path.write_bytes(path.read_bytes() + b"%tampered")
    resp = fund.client().get(f"/reports/{row['filename']}")
    assert resp.status_code == 404 and "missing or changed" in resp.get_data(as_text=True)


def test_the_cli_renders_a_report_and_publishes_one(fund, tmp_path, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("CAREBOOKS_INSTANCE", fund.app.instance_path)
    monkeypatch.setenv("DATABASE_URL", fund.app.config["DATABASE_URL"])
    with fund.ctx():
        month = _seal_first_month(fund)
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(main, ["report", month, "--lang", "es", "--paper", "letter",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    result = CliRunner().invoke(main, ["report", month, "--publish", "treasurer@example.org"])
    assert result.exit_code == 0, result.output
    assert len(re.findall(r"sha256 [0-9a-f]{64}", result.output)) == 2
    result = CliRunner().invoke(main, ["report", "2026-13", "--out", str(out)])
    assert result.exit_code != 0 and "month" in result.stderr
