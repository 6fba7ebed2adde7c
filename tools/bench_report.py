"""tools/bench's results as markdown and a bar chart.

    python tools/bench_report.py OUT_DIR RESULT.json...

writes OUT_DIR/results.md (the tables of every result file given) and
OUT_DIR/ratios.png (matplotlib: the ratios to pure Python, log scale).
tools/bench.py imports it for its own table; it needs no extension.
"""

import json
import pathlib
import sys

PEERS = ["pyawaitable2", "cython", "pyo3"]
COLUMNS = ["python", "ours", "floor", *PEERS]
NAMES = {
    "python": "pure Python",
    "floor": "minimal am_send",
    "pyawaitable2": "pyawaitable 2.0.1",
    "cython": "Cython 3.3.1",
    "pyo3": "PyO3 0.30.1",
}
ROWS = ["noawait", "trampoline", "sleep", "chain10", "meth_async",
        "tasks", "tasks_peak", "pending"]
TITLES = {
    "noawait": "no-await `await f(1)`",
    "trampoline": "trampoline `await f(inner())`",
    "sleep": "trampoline, inner does `asyncio.sleep(0)`",
    "chain10": "ten awaits in one awaitable",
    "meth_async": "METH_ASYNC `await echo(1)`",
    "tasks": "100,000 tasks: wall time",
    "tasks_peak": "100,000 tasks: peak RSS",
    "pending": "memory per pending awaitable",
}
# The targets for this project's API (ratios to pure Python);
# the trampoline's is 0.65x for the core implementation.
TARGETS = {"trampoline": 0.75, "noawait": 0.8, "meth_async": 0.8,
           "pending": 1.0}
CORE_TRAMPOLINE_TARGET = 0.65


def status_of(reason):
    for prefix in ("build failed", "import failed", "error", "skipped"):
        if reason.startswith(prefix):
            return prefix
    return "n/a"


def peer_versions(peers_dir):
    if peers_dir is None:
        return {}
    path = pathlib.Path(peers_dir, "status.json")
    if not path.exists():
        return {}
    status = json.loads(path.read_text())
    return {name: entry.get("version") for name, entry in status.items()}


def column_name(report, impl):
    if impl == "ours":
        return report["ours"]
    return NAMES[impl]


def quantity(row, cell):
    if row == "tasks":
        return f"{cell['ns_median'] / 1e9:.2f} s"
    if row == "tasks_peak":
        return f"{cell['bytes'] / 2**20:.0f} MiB"
    if row == "pending":
        return f"{cell['bytes']:.0f} B"
    ns = cell["ns_median"]
    return f"{ns / 1000:.1f} µs" if ns >= 10_000 else f"{ns:.0f} ns"


def markdown(reports):
    """One table per interpreter and loop: ratio to pure Python (median of
    per-round ratios) and the median quantity; reasons as footnotes."""
    out = []
    for report in reports:
        for loop_kind, table in report["loops"].items():
            notes = []
            out.append(f"#### CPython {report['python']} ({report['label']}), "
                       f"{loop_kind}")
            out.append("")
            out.extend(table_header(report))
            for row in ROWS:
                if row not in table:
                    continue
                cells = [TITLES[row]]
                for impl in COLUMNS:
                    cell = table[row].get(impl)
                    if cell is None:
                        cells.append("")
                    elif cell["status"] == "ok":
                        ratio = cell.get("ratio")
                        text = quantity(row, cell)
                        if impl != "python" and ratio is not None:
                            text = f"**{ratio:.2f}x** ({text})"
                        cells.append(text)
                    else:
                        if cell["reason"] not in notes:
                            notes.append(cell["reason"])
                        number = notes.index(cell["reason"]) + 1
                        cells.append(f"{cell['status']} [{number}]")
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
            for number, reason in enumerate(notes, 1):
                # One line per note: build logs keep only their first line.
                first = reason.splitlines()[0]
                out.append(f"[{number}] {first}  ")
            if notes:
                out.append("")
            out.extend(targets(report, table))
            out.append("")
    return "\n".join(out)


def targets(report, table):
    """The issue's targets for our column: met or missed."""
    lines = []
    for row, target in TARGETS.items():
        if row == "trampoline" and report["ours"].endswith("core"):
            target = CORE_TRAMPOLINE_TARGET
        cell = table.get(row, {}).get("ours", {})
        if cell.get("ratio") is None:
            continue
        # Judged as shown: memory in whole pages is 1.00x when equal.
        verdict = "met" if round(cell["ratio"], 2) <= target else "missed"
        lines.append(f"{TITLES[row]}: {cell['ratio']:.2f}x, target "
                     f"{target:.2f}x, {verdict}")
    behind = []
    for row in ROWS:
        ours = table.get(row, {}).get("ours", {}).get("ratio")
        if ours is None:
            continue
        for peer in PEERS:
            theirs = table.get(row, {}).get(peer, {}).get("ratio")
            if theirs is not None and theirs < ours:
                behind.append(f"{NAMES[peer]} in {row}")
    lines.append("ahead of every peer: " + (
        "yes" if not behind else "no, behind " + ", ".join(behind)))
    return ["Targets: " + "; ".join(lines) + "."]


def table_header(report):
    """The header and rule lines of a table with a column per implementation."""
    header = ["scenario"] + [column_name(report, c) for c in COLUMNS]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]


def callgrind_markdown(report):
    table = report.get("callgrind", {})
    out = [f"#### CPython {report['python']} ({report['label']}): "
           f"instructions per await (callgrind, n={report['n']})", ""]
    out.extend(table_header(report))
    for row in ROWS:
        if row not in table:
            continue
        cells = [TITLES[row]]
        for impl in COLUMNS:
            cell = table[row].get(impl)
            if cell is None:
                cells.append("n/a")
            elif impl == "python" or cell["ratio"] is None:
                cells.append(f"{cell['instructions']:,.0f}")
            else:
                cells.append(f"{cell['instructions']:,.0f} "
                             f"({cell['ratio']:.2f}x)")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def chart(reports, path):
    """Grouped bars of the ratios, one panel per interpreter and loop."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(report, loop_kind, table) for report in reports
              for loop_kind, table in report["loops"].items()]
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(12, 4.2 * len(panels)))
    impls = COLUMNS[1:]
    width = 0.8 / len(impls)
    for ax, (report, loop_kind, table) in zip(axes[:, 0], panels):
        rows = [row for row in ROWS if row in table]
        for i, impl in enumerate(impls):
            xs, ys = [], []
            for x, row in enumerate(rows):
                cell = table[row].get(impl, {})
                ratio = cell.get("ratio")
                at = x + (i - (len(impls) - 1) / 2) * width
                if ratio is not None and ratio > 0:
                    xs.append(at)
                    ys.append(ratio)
                elif cell.get("status", "ok") != "ok":
                    # A missing bar says why, so no failure hides.
                    ax.text(at, 1.0, cell["status"], rotation=90,
                            fontsize=6, ha="center", va="bottom")
            ax.bar(xs, ys, width, label=column_name(report, impl))
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([TITLES[r].replace("`", "") for r in rows],
                           rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("ratio to pure Python (lower is better)")
        ax.set_title(f"CPython {report['python']} ({report['label']}), "
                     f"{loop_kind}: ratio to pure-Python async def "
                     f"(1.0 = pure Python)", fontsize=10)
        ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    out = pathlib.Path(sys.argv[1])
    reports = [json.loads(pathlib.Path(p).read_text()) for p in sys.argv[2:]]
    timed = [r for r in reports if r.get("loops")]
    counted = [r for r in reports if r.get("callgrind")]
    text = ["<!-- written by tools/bench; do not edit -->", "",
            markdown(timed)]
    for report in counted:
        text.append(callgrind_markdown(report))
    (out / "results.md").write_text("\n".join(text))
    chart(timed, out / "ratios.png")
    print(f"wrote {out / 'results.md'} and {out / 'ratios.png'}")


if __name__ == "__main__":
    main()
