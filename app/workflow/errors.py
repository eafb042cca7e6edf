"""Every way the workflow refuses, one class per kind; HTTP statuses are chosen by the API."""

from __future__ import annotations


class WorkflowError(Exception):
    """Base of workflow refusals; `code` is stable, `message` is for people."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class InvalidInput(WorkflowError):
    """A field is missing or breaks its rule."""

    code = "invalid"


class NotFound(WorkflowError):
    """No such request or donation (or not one you may see)."""

    code = "not_found"


class Unauthenticated(WorkflowError):
    """No valid credentials were given."""

    code = "unauthenticated"


class Forbidden(WorkflowError):
    """Your role does not allow this."""

    code = "forbidden"


class IllegalTransition(WorkflowError):
    """The request's status does not allow this action."""

    code = "illegal_transition"


class PolicyRefused(WorkflowError):
    """A rule of the fund's policy refuses this; `code` names the rule."""

    code = "policy"


class Conflict(WorkflowError):
    """Someone else changed this at the same moment, or the key is in use."""

    code = "conflict"


class BooksRefused(WorkflowError):
    """The books refuse the entry this would write (the ledger's rule is the code)."""

    code = "books"


class BooksUnavailable(WorkflowError):
    """The books cannot be written now (a full disk, a failed fsync, a torn file); nothing
    was changed. `code` is the ledger's rule."""

    code = "books_unavailable"


class SavedNotInBooks(WorkflowError):
    """The change was saved, but its entry could not be written to the books yet: it waits
    in the outbox and is written when the books can take it. Not to be repeated."""

    code = "saved_not_in_books"
