"""Ray as the distributed engine: every (suite, method, seed) run a Ray task, on any machine of a cluster.

Why Ray: Syne Tune 0.16 as installed has only single-host backends, and a paper-scale comparison is
suites x methods x seeds runs of GPU-hours each (issue 17). Each run becomes one task with the same
declared resources (CPUs = workers x threads per trial, GPUs = workers x GPUs per trial), so every method
gets the same hardware wherever it lands; inside the task the run is the ordinary local one
(:func:`hyperion_bench.runner.run_experiment` for that one (method, seed)), warm workers and GPU slots
included (Ray sets ``CUDA_VISIBLE_DEVICES`` to the task's GPUs, which the GPU plan then shares out).

No shared file system is assumed. The task runs in a temporary folder of its node and sends the run's
folder back to :class:`FolderSink`, an actor pinned to the driver's node that writes into ``--out``:
once when the run starts, after every finished trial (the append-only logs travel as what was added
since the last send) and when it ends. A lost node or worker process: Ray runs the task again
elsewhere (``MAX_RETRIES``), and the retry starts from what had travelled back, so trial-level resume
(:mod:`hyperion_bench.resume`) keeps every finished trial. The driver holds each run's lock in
``--out`` (:mod:`hyperion_bench.runlock`) while the tasks run, so no second command writes there.

Who may submit work: a Ray cluster runs whatever code it is sent. The local instance ``--backend ray``
starts cannot be bound to this machine alone: Ray turns 127.0.0.1 into the machine's network address
(``ray._private.services.resolve_ip_for_localhost``) and its servers listen on every interface (seen with
``ss -ltnp`` under Ray 2.60). What keeps others out is Ray's token authentication, on by default for
local instances since Ray 2.59 (it says so when it starts); for a cluster, start every node with
``RAY_AUTH_MODE=token`` and the same token (docs/cli.md), and keep it on a private network.

Each node needs the package installed and the suite's data under ``--data-dir`` (or ``--download``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from hyperion_bench.atomic import write_bytes_atomic
from hyperion_bench.errors import UserError
from hyperion_bench.placement import check_share
from hyperion_bench.runlock import RunLock

MAX_RETRIES = 3  # runs of a task after its node or worker process is lost
APPEND_ONLY = ("trials.jsonl", "history.jsonl", "epochs.jsonl")  # sent as what was added since the last send


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--backend ray needs Ray: pip install -e '.[ray]'") from None
    return ray


class FolderSink:
    """The driver's end of the copy: writes what tasks send into ``root`` (``--out``). A Ray actor on
    the driver's node (see :func:`run_on_ray`); plain Python, so it is testable without Ray."""

    def __init__(self, root: str):
        self.root = Path(root)

    def put(self, rel: str, files: dict[str, bytes], appended: dict[str, bytes]) -> None:
        """``files`` replace whole files of ``root/rel``; ``appended`` are added at the end of theirs."""
        folder = self.root / rel
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_bytes_atomic(folder / name, data)
        for name, data in appended.items():
            with open(folder / name, "ab") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())

    def get(self, rel: str) -> dict[str, bytes]:
        """The files of ``root/rel`` (not its subfolders): what a retried task starts from."""
        folder = self.root / rel
        if not folder.is_dir():
            return {}
        return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


class FolderSender:
    """The task's end: sends a run folder's changes to the sink (``__call__(folder)``, the runner's
    ``on_progress`` hook). Append-only logs go as their new bytes, other files whole when changed; a log
    that shrank (a torn last line cut on resume) goes whole."""

    def __init__(self, sink: Any, rel: str, send: Any):
        self.sink, self.rel, self.send = sink, rel, send
        self.sent: dict[str, int] = {}  # append-only log -> bytes the sink has
        self.stamps: dict[str, tuple[int, int]] = {}  # other file -> (mtime_ns, size) last sent

    def __call__(self, folder: Path) -> None:
        files: dict[str, bytes] = {}
        appended: dict[str, bytes] = {}
        for path in sorted(Path(folder).iterdir()):
            if not path.is_file():
                continue
            st = path.stat()
            if path.name in APPEND_ONLY:
                done = self.sent.get(path.name)
                if done is not None and st.st_size == done:
                    continue
                data = path.read_bytes()
                if done is None or len(data) < done:
                    files[path.name] = data
                else:
                    appended[path.name] = data[done:]
                self.sent[path.name] = len(data)
            elif self.stamps.get(path.name) != (st.st_mtime_ns, st.st_size):
                files[path.name] = path.read_bytes()
                self.stamps[path.name] = (st.st_mtime_ns, st.st_size)
        if files or appended:
            self.send(self.sink, self.rel, files, appended)


def _check_address(address: str) -> None:
    """One line, at once, for an address nothing listens on (Ray would retry for a minute)."""
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--address {address!r}: give HOST:PORT of the Ray head node (e.g. 10.0.0.5:6379) or auto")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise UserError(f"--address {address}: cannot reach a Ray head node there ({exc.strerror or exc})") from None


def _init(ray: Any, address: str | None) -> bool:
    """Connect to the cluster at ``address``, or start a local instance bound to this machine; returns
    whether this process started it (and so shuts it down)."""
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "configure_logging": False}  # tasks' progress lines reach the driver
    if address is None:
        ray.init(**quiet)
        return True
    _check_address(address)
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"--address {address}: cannot join the Ray cluster ({str(exc).splitlines()[0]})") from None
    return False


def task_resources(settings: Any, node_cpus: list[float]) -> tuple[float, float]:
    """(CPUs, GPUs) every run's task declares: the same for every method. Threads per trial: the most
    that the smallest node (``node_cpus``: each alive node's CPUs) can give every worker, so that a task
    fits anywhere and runs alike everywhere (GPU trials: one thread)."""
    gpus = 0.0
    if settings.gpus is not None:
        raise UserError("--gpus names one machine's GPUs; with --backend ray each task gets its GPUs from Ray "
                        "(use --gpus-per-trial)")
    if settings.device == "cuda":
        per_trial = settings.gpus_per_trial if settings.gpus_per_trial is not None else 1.0
        gpus = settings.workers * check_share(per_trial)
    elif settings.gpus_per_trial is not None:
        raise UserError("--gpus and --gpus-per-trial need --device cuda (with --backend ray, the task's GPUs "
                        "come from Ray)")
    usable = [c for c in node_cpus if c >= settings.workers] or [settings.workers]
    threads = 1 if settings.device == "cuda" else max(1, int(min(usable)) // settings.workers)
    return float(settings.workers * threads), gpus


def _check_resources(ray: Any, cpus: float, gpus: float) -> None:
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if not any(n.get("CPU", 0) >= cpus and n.get("GPU", 0) >= gpus for n in nodes):
        best = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
        raise UserError(f"--backend ray: each run needs {cpus:g} CPUs and {gpus:g} GPUs on one node; the largest "
                        f"node has {best.get('CPU', 0):g} CPUs and {best.get('GPU', 0):g} GPUs (lower --workers)")


def _payload(settings: Any, cpus: float) -> dict[str, Any]:
    """What a task needs to rebuild the run's settings on its node (the suite travels as its text)."""
    fields = asdict(replace(settings, suite=None, on_progress=None))  # type: ignore[arg-type]
    for name in ("suite", "on_progress", "segment_meta"):  # the task sets its own
        fields.pop(name)
    fields["out"] = str(fields["out"])
    return {"settings": fields, "suite_name": settings.suite.name, "suite_text": settings.suite.path.read_bytes(),
            "cpus": int(cpus)}


def run_task(payload: dict[str, Any], method: str, seed: int, sink: Any, send: Any, fetch: Any) -> str:
    """One (method, seed) run in a temporary folder of this node, sent back to ``sink`` as it goes.
    ``send(sink, rel, files, appended)`` and ``fetch(sink, rel)`` reach the sink (Ray calls in a task)."""
    from hyperion_bench.runner import Budget, RunSettings, run_experiment
    from hyperion_bench.suites import load_suite

    local = Path(tempfile.mkdtemp(prefix="hb-ray-"))
    try:
        suite_file = local / "suite" / f"{payload['suite_name']}.toml"
        suite_file.parent.mkdir()
        suite_file.write_bytes(payload["suite_text"])
        suite = load_suite(suite_file)
        rel = f"{suite.name}/{method}/seed-{seed}"
        folder = local / "out" / rel
        folder.mkdir(parents=True)
        for name, data in fetch(sink, rel).items():  # a retry: what had travelled back
            (folder / name).write_bytes(data)
        fields = dict(payload["settings"], methods=[method], seeds=[seed], shard=None, out=local / "out",
                      gpus=None, budget=Budget(**payload["settings"]["budget"]),
                      cpus=payload["cpus"])  # the task's declared CPUs, not the node's
        node = {"ray_node_id": _node_id()}  # which node ran each segment (metadata.json segments)
        settings = RunSettings(suite=suite, on_progress=FolderSender(sink, rel, send), segment_meta=node, **fields)
        run_experiment(settings)
        return rel
    finally:
        shutil.rmtree(local, ignore_errors=True)


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray, joined at ``address`` or started locally for the block (and shut down after it, when this
    process started it). A ``study`` holds one session for all its suites."""
    ray = _import_ray()
    started = _init(ray, address)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def run_on_ray(settings: Any, address: str | None = None) -> list[Path]:
    """Run the command's (method, seed) runs as Ray tasks on the cluster at ``address`` (None: a local
    instance; see the module docstring); returns the result folders in ``--out``."""
    from hyperion_bench.runner import planned_runs

    runs = planned_runs(settings)
    _import_ray()
    task_resources(settings, [])  # bad GPU asks: one line before Ray starts
    with ray_session(address) as ray:
        cpus, gpus = task_resources(settings, [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")])
        return _submit(ray, settings, runs, cpus, gpus)


def _submit(ray: Any, settings: Any, runs: list[tuple[str, int]], cpus: float, gpus: float) -> list[Path]:
    locks = []
    try:
        _check_resources(ray, cpus, gpus)
        out = Path(settings.out)
        here = ray.get_runtime_context().get_node_id()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        sink = ray.remote(FolderSink).options(
            num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=here, soft=False)
        ).remote(str(out.resolve()))
        folders = {}
        for method, seed in runs:
            folder = out / settings.suite.name / method / f"seed-{seed}"
            if (folder / "done.json").exists():
                print(f"[hyperion-bench] {settings.suite.name}/{method}/seed-{seed}: already done, skipped", flush=True)
                continue
            lock = RunLock(folder)
            note = lock.acquire()
            if note:
                print(note, flush=True)
            locks.append(lock)
            folders[(method, seed)] = folder
        task = ray.remote(_task).options(num_cpus=cpus, num_gpus=gpus, max_retries=MAX_RETRIES)
        payload = ray.put(_payload(settings, cpus))
        refs = {task.remote(payload, m, s, sink): (m, s) for (m, s) in folders}
        print(f"[hyperion-bench] ray: {len(refs)} runs as tasks of {cpus:g} CPUs and {gpus:g} GPUs each "
              f"(Ray at {ray.get_runtime_context().gcs_address})", flush=True)
        failed = []
        for ref, (method, seed) in refs.items():
            try:
                ray.get(ref)
            except Exception as exc:  # a task that failed after its retries: said, the others kept
                failed.append(f"{method}/seed-{seed}")
                print(f"[hyperion-bench] ray: {settings.suite.name}/{method}/seed-{seed} failed: "
                      f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__}",
                      file=sys.stderr, flush=True)
        if failed:
            raise UserError(f"--backend ray: {len(failed)} runs failed ({', '.join(failed)}); finished trials are in "
                            f"{out}: run the same command to resume them")
        return [out / settings.suite.name / m / f"seed-{s}" for m, s in runs]
    finally:
        for lock in locks:
            lock.release()


def _node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id()
    except Exception:  # not in a Ray worker (tests call run_task directly)
        return ""


def _task(payload: dict[str, Any], method: str, seed: int, sink: Any) -> str:
    import ray

    def send(sink: Any, rel: str, files: dict[str, bytes], appended: dict[str, bytes]) -> None:
        ray.get(sink.put.remote(rel, files, appended))

    def fetch(sink: Any, rel: str) -> dict[str, bytes]:
        return ray.get(sink.get.remote(rel))

    return run_task(payload, method, seed, sink, send, fetch)
