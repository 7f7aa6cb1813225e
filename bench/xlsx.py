#!/usr/bin/python3
"""bench/xlsx.py: XLSX beside CSV of the same stored result (issue 13).

    bench/xlsx.py            # or BENCH_ROWS=100000 BENCH_REPS=9 bench/xlsx.py

Compiles tests/unit/result_dump.c (the real serialiser, src/result.c) and
tests/unit/xlsx_dump.c (src/xlsx.c through xlsx_write_tmp(), as the API
calls it, and src/csv.c) with ${CC:-gcc} -O2 into a temporary directory
(none of the project's build, which may carry sanitizers), builds a stored
result document of BENCH_ROWS rows (default 10,000) of eight columns
(int8, float8 multiples of 0.25, numeric, text with quotes and non-ASCII,
timestamptz with microseconds, timestamptz with milliseconds, bool, jsonb),
then converts it BENCH_REPS times (default 7) to CSV and to XLSX, in
alternation, one process each.  Prints the medians: the conversion time
(document in memory to output file written, measured by xlsx_dump), the
process wall time, the peak RSS of the process (VmHWM, the document
included) and the part of it the conversion added, and the ratios.
Needs gcc, libxlsxwriter-dev, libcjson-dev (scripts/deps.sh).
"""
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROWS = int(os.environ.get("BENCH_ROWS", "10000"))
REPS = int(os.environ.get("BENCH_REPS", "7"))
CC = os.environ.get("CC", "gcc")
FLAGS = [CC, "-O2", "-std=c17", "-D_GNU_SOURCE", "-iquote", "src"]


def build(tmp):
    """Compiles result_dump and xlsx_dump into tmp; returns their paths."""
    rd, xd = tmp / "result_dump", tmp / "xlsx_dump"
    subprocess.run(FLAGS + ["-o", str(rd), "tests/unit/result_dump.c",
                            "src/result.c", "src/result_check.c",
                            "src/csv.c", "src/resdoc.c", "src/utf8.c",
                            "src/buf.c", "src/arena.c", "-lm"], cwd=ROOT, check=True)
    subprocess.run(FLAGS + ["-o", str(xd), "tests/unit/xlsx_dump.c",
                            "src/xlsx.c", "src/csv.c", "src/resdoc.c",
                            "src/isotime.c", "src/utf8.c", "src/log.c",
                            "src/buf.c", "src/arena.c", "-lxlsxwriter",
                            "-lcjson", "-lm"], cwd=ROOT, check=True)
    return rd, xd


def document(result_dump, path):
    """Writes a stored document of ROWS rows to path; returns its size."""
    lines = ["C\t20\tid", "C\t701\tf8", "C\t1700\tnum", "C\t25\ttxt",
             "C\t1184\tts_us", "C\t1184\tts_ms", "C\t16\tb", "C\t3802\tj"]
    for i in range(ROWS):
        lines.append("R\t%d\t%s\t%d.%02d\tquote \" and \u00fc\u00e9 %d\t"
                     "2024-01-01 %02d:%02d:%02d.%06d+00\t"
                     "2024-01-01 %02d:%02d:%02d.%03d+00\t%s\t"
                     '{"k": %d, "a": [1, 2.5, "x"]}' % (
                         i, i * 0.25, i, i % 100, i, i // 3600 % 24,
                         i // 60 % 60, i % 60, i, i // 3600 % 24,
                         i // 60 % 60, i % 60, i % 1000,
                         "t" if i % 2 else "f", i))
    with open(path, "wb") as f:
        subprocess.run([str(result_dump)], input=("\n".join(lines) +
                                                  "\n").encode(),
                       stdout=f, stderr=subprocess.DEVNULL, check=True)
    return os.path.getsize(path)


def once(xlsx_dump, doc, out, csv):
    """One conversion; returns (stats dict, wall seconds)."""
    args = [str(xlsx_dump)] + (["-c"] if csv else []) + [str(doc), str(out)]
    t = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    st = {k: int(v) for k, v in (kv.split("=") for kv in
                                 r.stderr.split())}
    st["bytes"] = os.path.getsize(out)
    return st, wall


def main():
    with tempfile.TemporaryDirectory(prefix="pgsched-bench-xlsx-") as d:
        tmp = pathlib.Path(d)
        rd, xd = build(tmp)
        size = document(rd, tmp / "doc.json")
        runs = {"csv": [], "xlsx": []}
        for _ in range(REPS):
            for fmt in ("csv", "xlsx"):
                runs[fmt].append(once(xd, tmp / "doc.json",
                                      tmp / ("out." + fmt), fmt == "csv"))
    print("pg-sched XLSX vs CSV, %s" % time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                     time.gmtime()))
    print("host: %s %s, %d CPU(s); %s -O2" % (
        platform.system(), platform.release(), os.cpu_count(), CC))
    print("stored result: %d rows x 8 columns, document %d kB; medians of"
          " %d runs" % (ROWS, size // 1024, REPS))
    print("%-5s %9s %14s %11s %12s %16s" % (
        "", "file kB", "conversion ms", "process ms", "peak RSS kB",
        "conversion kB"))
    med = {}
    for fmt, rs in runs.items():
        m = med[fmt] = {
            "kb": statistics.median(s["bytes"] for s, _ in rs) / 1024,
            "ms": statistics.median(s["us"] for s, _ in rs) / 1000,
            "wall": statistics.median(w for _, w in rs) * 1000,
            "peak": statistics.median(s["peak_kb"] for s, _ in rs),
            "conv": statistics.median(s["peak_kb"] - s["doc_kb"]
                                      for s, _ in rs)}
        print("%-5s %9.0f %14.1f %11.1f %12.0f %16.0f" % (
            fmt, m["kb"], m["ms"], m["wall"], m["peak"], m["conv"]))
    print("xlsx/csv: conversion time %.2fx, process time %.2fx, peak RSS"
          " %.2fx" % (med["xlsx"]["ms"] / med["csv"]["ms"],
                      med["xlsx"]["wall"] / med["csv"]["wall"],
                      med["xlsx"]["peak"] / med["csv"]["peak"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
