"""The member's request page says what happens next, and a question waiting for the
member's answer is the first thing on it, as a call to act."""

from __future__ import annotations

import re

from tests.app.conftest import ask
from tests.app.test_access_matrix import sign_in


def page(fund, who: str, code: str, lang: str = "en") -> str:
    client = sign_in(fund, who)
    resp = client.get(f"/my/requests/{code}", headers={"Accept-Language": lang})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def main_of(html: str) -> str:
    return html[html.index("<main"):]


def test_a_question_waiting_for_the_member_comes_first_as_a_call_to_act(fund):
    code = ask(fund, "member")
    assert fund.api("treasurer", "POST", f"/requests/{code}/needs-info",
                    json={"question": "Which month is the rent for?"})[0] == 200
    html = main_of(page(fund, "member", code))
    first = re.search(r"<h[12][^>]*>([^<]+)</h[12]>", html).group(1)
    assert first == "Waiting for an answer from you"
    assert html.index("Waiting for an answer from you") < html.index("<h1")
    assert "Which month is the rent for?" in html
    assert "Nothing moves until you answer." in html
    es = main_of(page(fund, "member", code, "es"))
    assert re.search(r"<h[12][^>]*>([^<]+)</h[12]>", es).group(1) == \
        "Esperamos una respuesta suya"


def test_the_page_repeats_the_request_and_says_what_happens_next(fund):
    code = ask(fund, "member", amount="600.00")
    html = main_of(page(fund, "member", code))
    assert "Waiting for an answer from you" not in html
    assert "What happens next" in html
    assert "You asked for $600.00" in html or "You asked for 600.00" in html
    assert "A treasurer will read your request" in html
    assert "We will not email you" in html  # the default choice is none
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    html = main_of(page(fund, "member", code))
    assert "A second treasurer must also say yes" in html
    assert fund.api("treasurer2", "POST", f"/requests/{code}/approve", json={})[0] == 200
    html = main_of(page(fund, "member", code))
    assert "A treasurer will send it by" in html
    assert fund.api("treasurer", "POST", f"/requests/{code}/payments",
                    json={"amount": "600.00", "account": "Assets:Fund:Bank"})[0] == 201
    html = main_of(page(fund, "member", code))
    assert "Everything approved has been sent" in html
    assert "We will not email you" not in html  # nothing more will happen
