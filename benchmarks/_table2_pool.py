"""Table 2's runs in parallel (`table2.py --jobs N`): N worker processes, each training
whole runs, one after another, until none is left.

On a CPU each worker is pinned to one core of those this process may use (round robin),
which is how the CPU results were taken (one run per core, `taskset -c`): a run's numbers
do not depend on the number of threads, so they equal a sequential call's (checked on
jax 0.10.1, 0.10.2, 0.11.2 and 0.12.1; on jax 0.6.1 they differed in float32's last
digits). On a GPU the workers share the device (small batches leave it mostly idle);
each allocates GPU memory as it needs it instead of taking most of it up front.

Workers are started with "spawn", not "fork" (a forked child of a process that has used
jax can deadlock), so each imports the script and loads the data set itself.
"""

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax


_worker: dict[str, Any] = {}
"""A worker's own state: the loaded data set and the function that trains one run."""


def _start_worker(cores, load: Callable[[], Any], run: Callable[..., Any]) -> None:
    core = cores.get()
    if core is not None:
        os.sched_setaffinity(0, {core})  # before jax makes its thread pool: one core
    _worker.update(data=load(), run=run)


def _run_job(job: tuple) -> Any:
    return _worker["run"](*job, data=_worker["data"])


def cores_for(workers: int, pin: bool) -> list[int | None]:
    """The core each worker is pinned to (round robin over the cores this process may
    use), or None for each where `pin` is False or the system cannot pin (macOS)."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return [None] * workers
    available = sorted(os.sched_getaffinity(0))
    return [available[i % len(available)] for i in range(workers)]


def run_parallel(
    jobs: Sequence[tuple], workers: int, load: Callable[[], Any], run: Callable[..., Any]
) -> Iterator[tuple[tuple, Any]]:
    """Yield `(job, run(*job, data=data))` for every job, in the order they finish, computed
    by `workers` processes that each call `load()` once for `data`; on the CPU backend each
    is pinned to a core. `load` and `run` must be picklable (module-level functions, or
    `functools.partial` of them). A job that raises re-raises here, naming the job."""
    # Before this process's backend starts: it and the workers share a GPU, if any.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    pin = jax.default_backend() == "cpu"
    context = multiprocessing.get_context("spawn")
    cores = context.Queue()
    for core in cores_for(workers, pin):
        cores.put(core)
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(cores, load, run)
    ) as pool:
        futures = {pool.submit(_run_job, job): job for job in jobs}
        for future in concurrent.futures.as_completed(futures):
            job = futures[future]
            try:
                yield job, future.result()
            except Exception as error:
                raise RuntimeError(f"run {job} failed in a worker: {error}") from error
