"""The README's "First steps" are a test (issue 18): every command in the section's code
blocks runs, in order, in a shell, on a fresh instance, with the sample files that ship in
`samples/`, and succeeds. Change the README and this runs what it says now.

The commands run as a reader would run them: `bash -e`, from a folder holding `.venv`
(this interpreter's environment) and `samples/`, with HOME in the test's own folder (the
README's instance is `~/our-fund`) and no CAREBOOKS_* or DATABASE_URL of the caller's.
The README's dates are fixed (a fund started on 2026-09-01, sealed through 2026-11), so
they hold on any day from 2026-12-01 on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def first_steps_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the README's "First steps" section, in order."""
    start = readme.index("\n## First steps")
    end = readme.find("\n## ", start + 1)
    section = readme[start:end if end != -1 else None]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def test_the_first_steps_name_their_commands():
    blocks = first_steps_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    text = "\n".join(blocks)
    for command in ("init", "user add", "import", "import-mapping", "reconcile", "seal",
                    "report", "check", "audit"):
        assert f"carebooks {command}" in text, command
    for path in re.findall(r"samples/[\w.-]+", text):
        assert (ROOT / path).is_file(), f"the README names {path}, which does not ship"


def test_every_first_step_runs_in_order_on_a_fresh_instance(tmp_path):
    blocks = first_steps_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks, "the README's First steps have no ```sh block"
    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix))
    (work / "samples").symlink_to(ROOT / "samples")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CAREBOOKS_") and k != "DATABASE_URL"}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    script = "set -euxo pipefail\n" + "\n".join(blocks)
    run = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, (f"a First steps command failed (exit {run.returncode}); "
                                 f"the last lines:\n{run.stderr[-3000:]}\n{run.stdout[-2000:]}")
    out = run.stdout
    assert "check: OK" in out
    for month in ("2026-09", "2026-10", "2026-11"):
        assert f"sealed {month}:" in out
    assert re.search(r"published 2026-11-v\d+-es-", out)
    assert "2026-11: passed" in out
    books = home / "our-fund" / "books"
    assert (books / "2026" / "2026-11.beancount").is_file()
