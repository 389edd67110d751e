"""Prints tests/bench/vs-prefect's figures from its timing files.

    python3 report.py WORK_DIR RUNS

WORK_DIR holds one file per command, NAME.json in hyperfine's
`--export-json` shape (`results[0].times`, seconds): floor,
shutter-{one,chain100,fan200} and prefect-{one,chain100,fan200}; and
recorded-DAG: "RECORDED TOTAL", the task runs Prefect's database held as
completed when a check run ended. Markdown tables, medians in ms.
"""

import json
import os
import statistics
import sys

DAGS = [("one", "one step", 1), ("chain100", "chain of 100", 100), ("fan200", "fan 1 -> 200 -> 1", 202)]


def times(work, name):
    with open(os.path.join(work, name + ".json")) as f:
        return [t * 1000 for t in json.load(f)["results"][0]["times"]]


def main():
    work, runs = sys.argv[1], sys.argv[2]
    median = {name: statistics.median(times(work, name)) for name in
              ["floor"] + [f"{side}-{dag}" for side in ("shutter", "prefect") for dag, _, _ in DAGS]}

    print(f"Whole process, median of {runs} runs (ms):")
    print()
    print("| DAG | steps | Shutter | Prefect | Prefect / Shutter | Shutter steps/s | Prefect steps/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for dag, label, steps in DAGS:
        s, p = median[f"shutter-{dag}"], median[f"prefect-{dag}"]
        print(f"| {label} | {steps} | {s:,.1f} | {p:,.0f} | {p / s:,.1f} | "
              f"{steps / s * 1000:,.0f} | {steps / p * 1000:,.1f} |")
    print()
    print("Beyond start-up: (median of the DAG - median of one step) / (steps - 1):")
    print()
    print("| DAG | Shutter ms/step | Prefect ms/step | Shutter steps/s | Prefect steps/s |")
    print("|---|---:|---:|---:|---:|")
    for dag, label, steps in DAGS[1:]:
        s = (median[f"shutter-{dag}"] - median["shutter-one"]) / (steps - 1)
        p = (median[f"prefect-{dag}"] - median["prefect-one"]) / (steps - 1)
        rate = lambda ms: f"{1000 / ms:,.0f}" if ms > 0 else "-"
        print(f"| {label} | {s:.2f} | {p:.2f} | {rate(s)} | {rate(p)} |")
    print()
    floor, one = median["floor"], median["shutter-one"]
    print("| start-up | median (ms) | ratio to the floor |")
    print("|---|---:|---:|")
    print(f"| floor: `sqlite3 NEW.db` creating a table and committing one row | {floor:.1f} | 1.0 |")
    print(f"| `shutter run` of one `core.noop` step, new database | {one:.1f} | {one / floor:.1f} |")
    print()
    print("Prefect's database when `python flow.py` ended (the untimed check runs): "
          "task runs recorded as completed, of those the flow completed:")
    for dag, label, steps in DAGS:
        with open(os.path.join(work, f"recorded-{dag}")) as f:
            recorded, total = f.read().split()
        print(f"  {label}: {recorded} of {total}")
    print()
    print("Every run (ms), sorted:")
    for name in median:
        print(f"  {name}: " + ", ".join(f"{t:,.1f}" for t in sorted(times(work, name))))


if __name__ == "__main__":
    main()
