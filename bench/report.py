"""Benchmark of the monthly report: building it next to WeasyPrint alone, at 100k entries.

    .venv/bin/python bench/report.py --keep          # what `make bench-report` runs
    .venv/bin/python bench/report.py --size 10000    # a smaller fund, quicker
    .venv/bin/python bench/report.py --quick         # a smoke run: 1k entries, one run

It builds (or, with --keep, reuses from bench/out/) the 100k-entry fund of
`bench/books.py` — five years, one file per month, all but the last two months sealed —
opens it as the app does (`Books.open`, from the snapshot), and then, in one process,
times for the last sealed month:

* the report: `month_figures` (from the books, with request facts for every request
  of the month) + `render_html` + WeasyPrint writing the PDF;
* WeasyPrint alone: the same finished HTML to PDF, nothing else.

Each is run --repeat times after one warm-up run (imports and template compilation
excluded); the table shows medians. Target: the report at most 1.5x WeasyPrint alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _bench_books():
    """bench/books.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_books", ROOT / "bench" / "books.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def facts_for(books, month: str) -> list:
    """Request facts for every request of `month`, as the app would hand them over.

    Recipients are drawn from a pool of 300 pseudonyms; dates are a few days around
    the books' own dates (the benchmark measures the work, not the figures).
    """
    from beancount.core import data

    from reports.figures import RequestFact

    state = books.state
    facts = {}
    for entry in books.entries_of(month):
        if not isinstance(entry, data.Transaction):
            continue
        for code in entry.links:
            if not code.startswith("R-") or code in facts:
                continue
            account = next(a for a in state.links[code] if a.startswith("Expenses:Aid:"))
            n = int(code.rsplit("-", 1)[-1])
            asked = entry.date - dt.timedelta(days=n % 9)
            facts[code] = RequestFact(code, n * 7919 % 300, account.rsplit(":", 1)[-1].lower(),
                                      asked, asked + dt.timedelta(days=5 + n % 11),
                                      entry.date + dt.timedelta(days=n % 4))
    return list(facts.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=100_000, help="entries in the fund (100000)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each (median)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the generated books in --out and reuse them next time")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"),
                    help="where --keep stores the books (default bench/out, gitignored)")
    ap.add_argument("--lang", default="en", choices=("en", "es"))
    ap.add_argument("--paper", default="a4", choices=("a4", "letter"))
    ap.add_argument("--strict", action="store_true", help="exit 1 when the target fails")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run in seconds (the suite runs it): a 1000-entry fund, one "
                         "timed run; its figures mean little")
    args = ap.parse_args()
    if args.quick:
        args.size, args.repeat = 1000, 1

    bb = _bench_books()
    base = Path(args.out).resolve() if args.keep else Path(tempfile.mkdtemp(
        prefix="carebooks-bench-report-"))
    base.mkdir(parents=True, exist_ok=True)
    books_dir, stamp = bb.prepare(base, args.size, args.keep)

    from ledger import Books
    from reports.figures import month_figures
    from reports.render import html_to_pdf, render_html

    t0 = time.perf_counter()
    books = Books.open(books_dir)
    t_open = time.perf_counter() - t0
    month = stamp["sealed_through"]
    facts = facts_for(books, month)
    today = dt.date.fromisoformat(stamp["open_months"][-1] + "-15")
    treasurers = 2

    def report() -> tuple[dict[str, float], str, bytes]:
        times = {}
        t = time.perf_counter()
        fig = month_figures(books, month, facts=facts, treasurers=treasurers, today=today)
        times["figures"] = time.perf_counter() - t
        t = time.perf_counter()
        html = render_html(fig, lang=args.lang, paper=args.paper)
        times["html"] = time.perf_counter() - t
        t = time.perf_counter()
        pdf = html_to_pdf(html)
        times["pdf"] = time.perf_counter() - t
        times["total"] = sum(times.values())
        return times, html, pdf

    _, html, pdf = report()          # warm-up: imports, templates, fonts
    html_to_pdf(html)
    runs, alone = [], []
    for i in range(args.repeat):   # alternate which goes first, so neither gains from order
        if i % 2:
            times, html, pdf = report()
        t = time.perf_counter()
        html_to_pdf(html)
        alone.append(time.perf_counter() - t)
        if not i % 2:
            times, html, pdf = report()
        runs.append(times)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    weasy = statistics.median(alone)
    ratio = med["total"] / weasy
    ok = ratio <= 1.5

    rows = [
        ("Books.open (from the snapshot; the app holds the books open)", t_open, ""),
        ("  month_figures (books + facts for every request of the month)", med["figures"], ""),
        ("  render_html (Jinja2, Babel)", med["html"], ""),
        ("  WeasyPrint: HTML -> PDF", med["pdf"], ""),
        ("the report: figures + HTML + PDF", med["total"], f"{ratio:.2f}x"),
        ("WeasyPrint alone, the same finished HTML", weasy, "1.00x"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"fund: {stamp['n']} entries over {len(stamp['months'])} months; report for {month} "
          f"({len(facts)} requests with facts), {args.lang}, {args.paper}, "
          f"{len(pdf) // 1024} KiB PDF; medians of {args.repeat} runs after a warm-up")
    print(f"{'step'.ljust(width)}  {'seconds':>8}  {'vs alone':>8}")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 8}")
    for name, seconds, rel in rows:
        print(f"{name.ljust(width)}  {seconds:8.3f}  {rel:>8}")
    print()
    print(f"target: the report at most 1.5x WeasyPrint alone: {'PASS' if ok else 'FAIL'} "
          f"({med['total']:.3f} s vs {weasy:.3f} s = {ratio:.2f}x)")
    if not args.keep:
        import shutil
        shutil.rmtree(base, ignore_errors=True)
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
