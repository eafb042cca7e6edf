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


@contextmanager
def expecting(store: Store) -> Iterator[None]:
    """Within this block a step's `answer` goes to `store`, with the step's session
    (the API keeps the first of a request's answers)."""
    token = _EXPECTING.set(store)
    try:
        yield
    finally:
        _EXPECTING.reset(token)


def answer(session: Session, result: dict) -> None:
    """The step's answer is `result`: stored with the step's change if someone expects
    it (see the module doc); otherwise nothing."""
    store = _EXPECTING.get()
    if store is not None:
        store(session, result)
