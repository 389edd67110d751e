"""The Prefect side of tests/bench/vs-prefect: one no-op DAG as a flow.

    python flow.py chain100|fan200|one

Each step is a run of the no-op task `noop`, submitted to the flow's
default task runner (a thread pool): the chain passes the previous future
in `wait_for=`, the fan submits 200 tasks that wait for the first one and
a last task that waits for all 200. The same shapes as the Shutter
workflows the script writes. The flow fails (exit code 1) if a task does;
it prints how many of its tasks completed (as the client saw them: the
database may not hold them all when the process ends, see vs-prefect).
"""

import sys

from prefect import flow, task
from prefect.futures import PrefectFuture, wait


@task
def noop() -> None:
    return None


def completed(futures: list[PrefectFuture[None]]) -> int:
    futures[-1].result()
    wait(futures)
    return sum(future.state.is_completed() for future in futures)


@flow(name="chain100")
def chain100() -> int:
    futures = [noop.submit()]
    for _ in range(99):
        futures.append(noop.submit(wait_for=[futures[-1]]))
    return completed(futures)


@flow(name="fan200")
def fan200() -> int:
    start = noop.submit()
    middle = [noop.submit(wait_for=[start]) for _ in range(200)]
    return completed([start, *middle, noop.submit(wait_for=middle)])


@flow(name="one")
def one() -> int:
    return completed([noop.submit()])


FLOWS = {"chain100": chain100, "fan200": fan200, "one": one}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in FLOWS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(FLOWS)}")
    print(f"completed {FLOWS[sys.argv[1]]()}")
