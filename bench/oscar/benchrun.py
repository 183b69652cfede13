"""Warm-up + measured wrk runs against a running gunicorn (used by bench.sh).

usage: benchrun.py BASE_URL MASTER_PID RUNS DURATION LUA PATHS_TXT OUTDIR
"""

import os
import re
import subprocess
import sys
import urllib.request

WARMUP = 200
DB = "oscar_bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    """utime+stime of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14, 15 of stat(5)


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    s = f.read()
            except OSError:
                continue
            if int(s[s.rindex(")") + 2 :].split()[1]) == ppid:
                out.append(int(d))
    return sorted(out)


def pg_backends():
    sql = f"SELECT pid FROM pg_stat_activity WHERE datname = '{DB}' AND pid <> pg_backend_pid()"  # noqa: S608  # nosec B608 - a constant
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-tAX", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(int(x) for x in out.split())


def snapshot(pids):
    return {p: t for p in pids if (t := ticks(p)) is not None}


def delta(before, after_pids, label):
    after = snapshot(after_pids)
    gone = set(before) - set(after)
    new = set(after) - set(before)
    if gone or new:
        print(
            f"warning: {label} processes changed during run (gone {sorted(gone)}, "
            f"new {sorted(new)}); CPU figure may be off",
            file=sys.stderr,
        )
    return sum(t - before.get(p, 0) for p, t in after.items())


def warmup(base, paths):
    # The last WARMUP entries: every measured run starts at entry 0, so runs
    # replay the same sequence and only overlap the warm-up pages on a wrap.
    for p in paths[-WARMUP:]:
        with urllib.request.urlopen(base + p, timeout=30) as r:  # noqa: S310  # nosec B310 - http://127.0.0.1
            r.read()
            if r.status != 200:
                sys.exit(f"warm-up: {p} -> HTTP {r.status}")


def parse_wrk(out):
    def grab(pattern, default=None, cast=float):
        m = re.search(pattern, out, re.M)
        return cast(m.group(1)) if m else default

    return {
        "rps": grab(r"^Requests/sec:\s+([\d.]+)"),
        "requests": grab(r"^\s*(\d+) requests in", cast=int),
        "wrk_non2xx": grab(r"Non-2xx or 3xx responses:\s+(\d+)", 0, int),
        "lua_non2xx": grab(r"^lua_non2xx:\s+(\d+)", None, int),
        "lua_sent": grab(r"^lua_sent:\s+(\d+)", 0, int),
        "lua_paths": grab(r"^lua_paths:\s+(\d+)", 0, int),
        "socket_errors": grab(r"^\s*(Socket errors:.*)$", None, str),
    }


def main():
    base, master, runs, duration, lua, paths_txt, outdir = sys.argv[1:8]
    master, runs = int(master), int(runs)
    with open(paths_txt) as f:
        paths = f.read().split()

    warmup(base, paths)
    workers0 = children(master)
    if len(workers0) != 2:
        sys.exit(f"expected 2 gunicorn workers under {master}, found {workers0}")

    for k in range(1, runs + 1):
        workers = children(master)
        backends = pg_backends()
        w0, p0 = snapshot(workers), snapshot(backends)
        proc = subprocess.run(
            ["wrk", "-t2", "-c8", f"-d{duration}s", "-s", lua, base + "/api/products/", "--", "0", "2"],
            capture_output=True,
            text=True,
        )
        wdelta = delta(w0, children(master), "gunicorn worker")
        pdelta = delta(p0, pg_backends(), "postgres backend")
        with open(os.path.join(outdir, f"wrk-run{k}.txt"), "w") as f:
            f.write(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            sys.exit(f"wrk failed (rc {proc.returncode}):\n{proc.stdout}{proc.stderr}")
        r = parse_wrk(proc.stdout)
        if not r["requests"] or r["rps"] is None or r["lua_non2xx"] is None:
            sys.exit(f"could not parse wrk output:\n{proc.stdout}")
        n = r["requests"]
        wms = wdelta / CLK_TCK * 1000 / n
        pms = pdelta / CLK_TCK * 1000 / n
        non2xx = max(r["lua_non2xx"], r["wrk_non2xx"])
        print(
            f"oscar run {k}: {r['rps']:.1f} req/s, worker CPU {wms:.3f} ms/req, "
            f"postgres CPU {pms:.3f} ms/req, non-2xx {non2xx}",
            flush=True,
        )
        if r["socket_errors"]:
            print(f"warning: run {k}: {r['socket_errors']}", file=sys.stderr)
        if r["lua_sent"] > r["lua_paths"] - WARMUP:
            print(
                f"note: run {k}: sent {r['lua_sent']} requests, more than the "
                f"{r['lua_paths'] - WARMUP} pages not used by warm-up; some pages "
                "were requested twice (use a shorter DURATION to avoid)",
                file=sys.stderr,
            )


if __name__ == "__main__":
    main()
