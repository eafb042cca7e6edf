"""The data key's rotation as one workflow call: re-encrypt every encrypted column under a
new key, retire the old one, and record it in the audit log (docs/security.md)."""

from __future__ import annotations

from app import crypto
from app.db import engine, session_scope
from app.models import encrypted_columns
from app.workflow import audit


def rotate_key() -> crypto.Rotation:
    """Rotate the data key over every encrypted column; audited. Raises DataKeyError."""
    done = crypto.rotate(engine(), encrypted_columns())
    with session_scope() as session:
        audit.record(session, None, "data.key_rotated", "", key=done.key_id,
                     rewritten=done.rewritten, retired=len(done.retired))
    return done
