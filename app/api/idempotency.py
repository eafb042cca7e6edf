"""`Idempotency-Key` on every POST: the same key and body replay the first response; the
same key with another body is a 422. A key still being processed by a live request
answers 409 after a short wait, so 32 identical retries produce one effect; a key whose
request died (a killed worker, a crashed server) is taken over by the next retry, which
runs the step afresh — the claims and their owners are app/workflow/claims.py."""

from __future__ import annotations

import functools
import hashlib
import time

from flask import Response, current_app, make_response, request
from sqlalchemy import event

from app.workflow import claims, replies
from app.workflow.errors import Conflict, InvalidInput, WorkflowError

WAIT_SECONDS = 10.0


def _claim(key: str, digest: str):
    """Who is asking (their token), and the outcome of claiming the key for them."""
    from app.api import current_person

    return claims.claim(current_person, key, method=request.method, path=request.path,
                        digest=digest)


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
            person, outcome = _claim(key, digest)
            if outcome.owner is not None:
                break
            held = outcome.held
            if held is None:
                continue  # let go of between two statements: claim again
            if held.body_sha256 != digest:
                raise InvalidInput("Idempotency-Key: this key was used with a different "
                                   "request; use a new key", field="Idempotency-Key")
            if held.status_code is not None:
                if getattr(held.response, "locked", False):  # sealed answer, fund locked
                    raise Conflict("the first answer to this Idempotency-Key quotes text "
                                   "sealed by custody and the fund is locked; the step did "
                                   "happen; read its result with GET",
                                   code="idempotency_locked")
                return Response(held.response, status=held.status_code,
                                mimetype="application/json",
                                headers={"Idempotent-Replayed": "true"})
            if time.monotonic() > deadline:
                raise Conflict("a request with this Idempotency-Key is still being processed",
                               code="idempotency_in_progress")
            time.sleep(0.05)
        answer = _Answer(person.id, key, outcome.owner, status)
        try:
            with replies.expecting(answer.store, resumed=outcome.taken_over):
                response = view(*args, **kwargs)
        except claims.ClaimLost:
            raise  # a retry owns the key now, and its answer is the one kept
        except WorkflowError as exc:  # a refusal is an answer too: store it for replays
            from app.api import workflow_error_response
            response = workflow_error_response(exc)
        except Exception:
            if answer.stored is None:
                claims.release(person.id, key, outcome.owner)
            raise
        resp = response if isinstance(response, Response) else make_response(response)
        answer.finish(resp)
        return resp

    return wrapper


class _Answer:
    """The answer to one request with a key: stored by its step, in the step's own
    transaction (`store`, through `replies.answer`), or by `finish` once it is known —
    each only while the claim is still this request's (`owner`)."""

    def __init__(self, person_id: int, key: str, owner: str, status: int) -> None:
        self.person_id, self.key, self.owner, self.status = person_id, key, owner, status
        self.stored: tuple[int, str] | None = None  # (status, text) the step stored

    def store(self, session, result: dict) -> None:
        """Store `result`, as the view will send it, in the step's transaction (the first
        answer of the request is its answer); ClaimLost rolls the step back if a retry
        took the key over meanwhile."""
        if self.stored is not None:
            return
        text = current_app.json.response(result).get_data(as_text=True)
        claims.store_answer(session, self.person_id, self.key, self.owner, self.status, text)
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
            claims.release(self.person_id, self.key, self.owner)
            return
        claims.keep_answer(self.person_id, self.key, self.owner, resp.status_code, text)
