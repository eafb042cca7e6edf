"""A step's answer, kept in the step's own transaction for whoever will ask again.

The API replays the first answer to a POST sent again with the same Idempotency-Key
(app/api/idempotency.py). When the step that answers calls `answer(session, result)`
before its transaction commits, the answer is stored with the change it reports: one
commit for both, and no moment at which the change stands and its answer does not (a
crash there left the key unanswered, and every retry a 409). A step that does not call
it has its answer stored by the API afterwards, as before; so is any answer other than
the one stored here (the API compares).

The workflow knows nothing of keys: the API sets, for one request, what to do with an
answer (`expecting`), and `answer` does it when something is expected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlmodel import Session

Store = Callable[[Session, dict], None]
_EXPECTING: ContextVar[Store | None] = ContextVar("carebooks_answer", default=None)
_RESUMED: ContextVar[bool] = ContextVar("carebooks_resumed", default=False)


@contextmanager
def expecting(store: Store, *, resumed: bool = False) -> Iterator[None]:
    """Within this block a step's `answer` goes to `store`, with the step's session
    (the API keeps the first of a request's answers). `resumed`: this runs again a
    request whose first attempt died without an answer (app/workflow/claims.py)."""
    token, again = _EXPECTING.set(store), _RESUMED.set(resumed)
    try:
        yield
    finally:
        _EXPECTING.reset(token)
        _RESUMED.reset(again)


def resumed() -> bool:
    """Whether this step runs again a request whose first attempt died unanswered: a step
    whose effect leaves the database (a seal in the books) may find it already done, and
    answers from what was done."""
    return _RESUMED.get()


def answer(session: Session, result: dict) -> None:
    """The step's answer is `result`: stored with the step's change if someone expects
    it (see the module doc); otherwise nothing."""
    store = _EXPECTING.get()
    if store is not None:
        store(session, result)
