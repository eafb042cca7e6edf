"""`Idempotency-Key` on every POST: the same key and body replay the first response; the
same key with another body is a 422. A key still being processed answers 409 after a
short wait, so 32 identical retries produce one effect."""

from __future__ import annotations

import functools
import hashlib
import json
import time

from flask import Response, current_app, make_response, request
from sqlalchemy import bindparam, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import select, update

from app.db import session_scope
from app.models import IdempotencyKey, Person, utcnow
from app.workflow import replies
from app.workflow.errors import Conflict, InvalidInput, WorkflowError

WAIT_SECONDS = 10.0


# Plain statements, not the ORM's unit of work: they run twice on every POST with a key.
_CLAIM = IdempotencyKey.__table__.insert()
_ANSWER = (update(IdempotencyKey.__table__)
           .where(IdempotencyKey.person_id == bindparam("person"),
                  IdempotencyKey.key == bindparam("the_key"))
           .values(status_code=bindparam("status"), response=bindparam("answer")))


def _claim(key: str, digest: str) -> tuple[Person, IdempotencyKey | None]:
    """Who is asking (their token), and the key inserted as in progress, in one
    transaction; the existing row if someone holds the key already."""
    from app.api import current_person

    try:
        with session_scope() as session:
            person = current_person(session)
            session.connection().execute(_CLAIM, {
                "person_id": person.id, "key": key, "method": request.method,
                "path": request.path, "body_sha256": digest, "status_code": None,
                "response": None, "created_at": utcnow()})
        return person, None
    except IntegrityError:
        with session_scope() as session:
            return person, session.exec(select(IdempotencyKey).where(
                IdempotencyKey.person_id == person.id, IdempotencyKey.key == key)).first()


def idempotent(view=None, *, status: int = 200):
    """Wrap a POST view so that an Idempotency-Key makes it safe to retry. `status` is
    what the view answers when it succeeds (201 for one that creates): a step that hands
    its result to `replies.answer` has it stored, with that status, in its own
    transaction."""
    if view is None:
        return functools.partial(idempotent, status=status)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise InvalidInput("Idempotency-Key: 1 to 255 characters", field="Idempotency-Key")
        digest = hashlib.sha256(request.method.encode() + b" " + request.path.encode()
                                + b"\n" + request.get_data()).hexdigest()
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            person, existing = _claim(key, digest)
            if existing is None:
                break
            if existing.body_sha256 != digest:
                raise InvalidInput("Idempotency-Key: this key was used with a different "
                                   "request; use a new key", field="Idempotency-Key")
            if existing.status_code is not None:
                return Response(existing.response, status=existing.status_code,
                                mimetype="application/json",
                                headers={"Idempotent-Replayed": "true"})
            if time.monotonic() > deadline:
                raise Conflict("a request with this Idempotency-Key is still being processed",
                               code="idempotency_in_progress")
            time.sleep(0.05)
        answer = _Answer(person.id, key, status)
        try:
            with replies.expecting(answer.store):
                response = view(*args, **kwargs)
        except WorkflowError as exc:  # a refusal is an answer too: store it for replays
            from app.api import workflow_error_response
            response = workflow_error_response(exc)
        except Exception:
            if answer.stored is None:
                _release(person.id, key)
            raise
        resp = response if isinstance(response, Response) else make_response(response)
        answer.finish(resp)
        return resp

    return wrapper


class _Answer:
    """The answer to one request with a key: stored by its step, in the step's own
    transaction (`store`, through `replies.answer`), or by `finish` once it is known."""

    def __init__(self, person_id: int, key: str, status: int) -> None:
        self.person_id, self.key, self.status = person_id, key, status
        self.stored: tuple[int, str] | None = None  # (status, text) the step stored

    def store(self, session, result: dict) -> None:
        """Store `result`, as the view will send it, in the step's transaction (the first
        answer of the request is its answer)."""
        if self.stored is not None:
            return
        text = current_app.json.response(result).get_data(as_text=True)
        self._write(session, self.status, text)
        self.stored = (self.status, text)
        event.listen(session, "after_rollback", self._forget, once=True)

    def _forget(self, _session) -> None:
        self.stored = None  # rolled back with the step

    def finish(self, resp: Response) -> None:
        """Keep `resp` for replays unless the step stored it already. A 5xx after the
        step stored its answer (the change stands; its entry waits in the outbox) keeps
        that answer: a retry is told what was done and does not do it again. A 5xx before
        it forgets the key, so that a retry runs afresh."""
        text = resp.get_data(as_text=True)
        if self.stored is not None:
            if resp.status_code >= 500 or (resp.status_code, text) == self.stored:
                return
        elif resp.status_code >= 500:
            _release(self.person_id, self.key)
            return
        with session_scope() as session:  # the row is ours since _claim
            self._write(session, resp.status_code, text)

    def _write(self, session, status: int, text: str) -> None:
        session.connection().execute(_ANSWER, {"person": self.person_id, "the_key": self.key,
                                               "status": status, "answer": text})


def _release(person_id: int, key: str) -> None:
    """Forget a key whose request failed before answering, so a retry runs afresh."""
    with session_scope() as session:
        row = session.exec(select(IdempotencyKey).where(
            IdempotencyKey.person_id == person_id, IdempotencyKey.key == key)).first()
        if row is not None and row.status_code is None:
            session.delete(row)


def canonical(data) -> str:
    """Stable JSON text (for tests comparing replays)."""
    return json.dumps(data, sort_keys=True)
