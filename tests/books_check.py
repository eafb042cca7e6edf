"""The two real clients every ledger a test writes must satisfy: bean-check and Fava."""

from __future__ import annotations

from pathlib import Path

from beancount import loader
from beancount.ops import validation


def bean_check_errors(main: Path) -> list[str]:
    """What `bean-check main.beancount` reports, as `file:line: message` strings."""
    _, errors, _ = loader.load_file(str(main),
                                    extra_validations=validation.HARDCORE_VALIDATIONS)
    return [f"{(e.source or {}).get('filename')}:{(e.source or {}).get('lineno')}: "
            f"{e.message}" for e in errors]


def fava_errors(main: Path) -> list[str]:
    """The errors Fava shows when it opens `main` as it is (polling: no watcher threads)."""
    from fava.core import FavaLedger  # imported late: only the books check needs Fava

    return [f"{(e.source or {}).get('filename')}:{(e.source or {}).get('lineno')}: "
            f"{e.message}" for e in FavaLedger(str(main), poll_watcher=True).errors]


def books_problems(root: Path) -> list[str]:
    """bean-check and Fava errors of every books folder under `root`."""
    problems = []
    for main in sorted(root.rglob("main.beancount")):
        problems += [f"bean-check {main}: {e}" for e in bean_check_errors(main)]
        problems += [f"fava {main}: {e}" for e in fava_errors(main)]
    return problems
