"""The unlocked key's page is shared by processes forked after it was made (as gunicorn's
workers are, deploy/gunicorn.conf.py): an unlock in one worker unlocks its siblings, a
lock in one locks them all, and the process is not dumpable (issue 21)."""

from __future__ import annotations

import os
import time

from app.custody import memory


def _child(action) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            action()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def test_an_unlock_in_one_worker_reaches_the_other_and_a_lock_too():
    memory.page()           # the master makes the page before forking its workers
    memory.wipe()
    key = os.urandom(32)
    _child(lambda: memory.put("abcd1234", "split001", 3, key))       # worker 1 unlocks
    assert memory.get("abcd1234", "split001", 3, 60) == key          # worker 2 reads it
    _child(memory.wipe)                                               # worker 1 locks
    assert memory.get("abcd1234", "split001", 3, 60) is None


def test_a_newer_generation_or_idle_time_drops_the_key():
    key = os.urandom(32)
    memory.put("abcd1234", "split001", 3, key)
    assert memory.get("abcd1234", "split001", 4, 60) is None          # `carebooks lock`
    assert not memory.held()                                          # and it is wiped
    memory.put("abcd1234", "split001", 3, key)
    time.sleep(0.01)
    assert memory.get("abcd1234", "split001", 3, 0.001) is None       # idle
    assert bytes(memory.page()[64:96]) == bytes(32)


def test_the_process_cannot_dump_core():
    import ctypes

    memory.harden_process()
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0   # PR_GET_DUMPABLE answers 0
