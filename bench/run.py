"""`make bench`: run every bench/*_bench.py module's `run()` and print one table.

Each module exposes `run() -> list[dict]` with keys: bench, metric, value, target, ok
(ok: True/False/None for "no target"). Modules run in name order; one failing module is
reported and the others still run. Names given as arguments run only those modules:
`python bench/run.py load_bench` (`make bench BENCH=load_bench`)."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def discover() -> list[str]:
    return sorted(p.stem for p in (ROOT / "bench").glob("*_bench.py"))


def format_table(rows: list[dict]) -> str:
    header = ["bench", "metric", "value", "target", "ok"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        ok = {True: "yes", False: "NO", None: "-"}[row.get("ok")]
        lines.append(
            "| "
            + " | ".join(str(x) for x in (row["bench"], row["metric"], row["value"], row.get("target", "-"), ok))
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    only = set(argv[1:])
    unknown = only - set(discover())
    if unknown:
        print(f"unknown bench module(s): {sorted(unknown)}; known: {discover()}", file=sys.stderr)
        return 2
    rows: list[dict] = []
    status = 0
    for name in discover():
        if only and name not in only:
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            rows += importlib.import_module(f"bench.{name}").run()
        except Exception:  # one broken module must not hide the others' results
            traceback.print_exc()
            rows.append({"bench": name, "metric": "run", "value": "FAILED (see stderr)", "target": "-", "ok": False})
            status = 1
    print(format_table(rows))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
