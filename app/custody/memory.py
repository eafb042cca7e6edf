"""Where the unlocked private key lives: one page of anonymous shared memory, never a file.

Why shared memory: gunicorn runs two worker processes (deploy/gunicorn.conf.py), and an
unlock typed into one of them must reach both, without the key touching the disk. The
gunicorn configuration creates this page in the master process before it forks (see
`deploy/gunicorn.conf.py`); every worker, including one restarted after a timeout,
inherits the same page. A worker writes the key there on unlock and zeroes it on lock.
The other choices, and why they lost, are in docs/privacy.md ("Custody: how an unlock
reaches every worker"). Outside gunicorn (`carebooks serve`, tests, the CLI) the page is
created on first use and belongs to that process (and any child it forks).

The page is `mlock`ed (not swapped out) and marked `MADV_DONTDUMP` (left out of core
dumps), and the process is made non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`), where the
system allows. Python itself may still hold transient copies (the bytes passed to the
cryptography library while opening a value); docs/privacy.md says so.

Layout: state (1 byte: 1 unlocked), generation (8), key id (8 ascii), split id (8 ascii),
last use (8, unix seconds), then the 32-byte private key. From byte 512, the shares of a
split made on the Custody page that their holders have not seen yet (`put_shares`): the
split id, and per share its holder's person id, number and 32 bytes. Each is zeroed as it
is shown (`take_share`); a restart or `carebooks lock` drops them all, and the split is
then made again (until every share is seen, the split is not in force).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import struct
import threading
import time

SIZE = mmap.PAGESIZE
_HEAD = struct.Struct("<BQ8s8sd")
_KEY_AT = 64
_SHARES_AT = 512
_SHARES_HEAD = struct.Struct("<B8sBB")          # held (1), split id, kind, count
_SLOT = struct.Struct("<IB32s")                 # person id, share number, share
_SLOTS_AT = _SHARES_AT + 16
MAX_SLOTS = 16
_lock = threading.RLock()
_page: mmap.mmap | None = None


def _harden(page: mmap.mmap) -> None:
    """Keep the page out of swap and core dumps; make the process non-dumpable."""
    try:
        page.madvise(mmap.MADV_DONTDUMP)
    except (AttributeError, OSError):
        pass
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        libc.mlock(ctypes.c_void_p(address), ctypes.c_size_t(SIZE))
    except (OSError, AttributeError, TypeError):
        pass


def page() -> mmap.mmap:
    """The shared page (created on first use; gunicorn's master creates it before forking)."""
    global _page
    with _lock:
        if _page is None:
            _page = mmap.mmap(-1, SIZE, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
            _harden(_page)
        return _page


def harden_process() -> None:
    """Make this process non-dumpable (called by every worker after the fork, too)."""
    _harden(page())


def put(kid: str, split_id: str, generation: int, private_raw: bytes) -> None:
    """Hold the private key for key `kid`, unlocked at lock generation `generation`."""
    mem = page()
    with _lock:
        mem[_KEY_AT:_KEY_AT + 32] = private_raw
        mem[0:_HEAD.size] = _HEAD.pack(1, generation, kid.encode(), split_id.encode(),
                                        time.time())


def get(kid: str, split_id: str, generation: int, idle_seconds: float) -> bytes | None:
    """The private key when it is held for this key, split and generation and has been
    used within `idle_seconds`; otherwise the page is wiped and None is returned."""
    mem = page()
    with _lock:
        state, gen, held_kid, held_split, used = _HEAD.unpack(mem[0:_HEAD.size])
        if state != 1:
            return None
        now = time.time()
        if (gen != generation or held_kid != kid.encode() or held_split != split_id.encode()
                or now - used > idle_seconds):
            mem[0:_SHARES_AT] = bytes(_SHARES_AT)   # the key only: shares wait for holders
            return None
        mem[0:_HEAD.size] = _HEAD.pack(1, gen, held_kid, held_split, now)
        return bytes(mem[_KEY_AT:_KEY_AT + 32])


def held() -> bool:
    """True while some key is in the page (whatever its generation)."""
    return page()[0] == 1


def lock_key() -> None:
    """Zero the key (shares waiting for their holders stay)."""
    with _lock:
        page()[0:_SHARES_AT] = bytes(_SHARES_AT)


def wipe() -> None:
    """Zero the page: every process sharing it is locked, and waiting shares are gone."""
    with _lock:
        _wipe(page())


def _wipe(mem: mmap.mmap) -> None:
    mem[0:SIZE] = bytes(SIZE)


# --- shares waiting for their holders (a split made on the Custody page) ------------------

def put_shares(split_id: str, kind: int, slots: list[tuple[int, int, bytes]]) -> None:
    """Hold the shares of split `split_id` (kind 1: the first split, 2: a re-split) until
    each holder has seen theirs: (person id, share number, 32-byte share) each."""
    if len(slots) > MAX_SLOTS:
        raise ValueError("too many shares")
    mem = page()
    with _lock:
        mem[_SHARES_AT:SIZE] = bytes(SIZE - _SHARES_AT)
        for i, (person_id, number, value) in enumerate(slots):
            at = _SLOTS_AT + i * _SLOT.size
            mem[at:at + _SLOT.size] = _SLOT.pack(person_id, number, value)
        mem[_SHARES_AT:_SHARES_AT + _SHARES_HEAD.size] = _SHARES_HEAD.pack(
            1, split_id.encode(), kind, len(slots))


def waiting_shares() -> tuple[str, int, list[int]] | None:
    """(split id, kind, the person ids still to see their share), or None."""
    mem = page()
    with _lock:
        held, split_id, kind, count = _SHARES_HEAD.unpack(
            mem[_SHARES_AT:_SHARES_AT + _SHARES_HEAD.size])
        if held != 1:
            return None
        people = []
        for i in range(count):
            at = _SLOTS_AT + i * _SLOT.size
            person_id, number, _value = _SLOT.unpack(mem[at:at + _SLOT.size])
            if number:
                people.append(person_id)
        return split_id.decode(), kind, people


def take_share(person_id: int) -> tuple[str, int, bytes] | None:
    """(split id, number, share) of `person_id`'s waiting share, zeroed as it is taken
    (shown once); None when they have none waiting."""
    mem = page()
    with _lock:
        held, split_id, _kind, count = _SHARES_HEAD.unpack(
            mem[_SHARES_AT:_SHARES_AT + _SHARES_HEAD.size])
        if held != 1:
            return None
        for i in range(count):
            at = _SLOTS_AT + i * _SLOT.size
            holder, number, value = _SLOT.unpack(mem[at:at + _SLOT.size])
            if number and holder == person_id:
                mem[at:at + _SLOT.size] = bytes(_SLOT.size)
                return split_id.decode(), number, value
        return None


def wipe_shares() -> None:
    """Drop every waiting share."""
    with _lock:
        page()[_SHARES_AT:SIZE] = bytes(SIZE - _SHARES_AT)
