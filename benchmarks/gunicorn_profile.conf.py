"""deploy/gunicorn.conf.py with every request profiled (benchmarks/gunicorn_load.py
--profile DIR): each worker thread has its own cProfile, enabled only around the app's
call, counting the thread's CPU time (``time.thread_time``: waits for PostgreSQL and for
the GIL are not counted; FRAMDRIFT_PROFILE_CLOCK=wall counts them); at exit a worker
writes DIR/worker-PID.prof (all its threads merged) for pstats."""

import os
import threading
from pathlib import Path

_here = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"
exec(compile(_here.read_text(), str(_here), "exec"))  # noqa: S102 - our own settings file

_profiles: list = []
_local = threading.local()


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    import cProfile
    import time

    clock = time.perf_counter if os.environ.get("FRAMDRIFT_PROFILE_CLOCK") == "wall" \
        else time.thread_time

    app = worker.wsgi

    def profiled(environ, start_response):  # noqa: ANN001, ANN202
        profile = getattr(_local, "profile", None)
        if profile is None:
            profile = _local.profile = cProfile.Profile(clock)
            _profiles.append(profile)
        profile.enable()
        try:
            body = app(environ, start_response)
            return list(body) if not isinstance(body, list) else body
        finally:
            profile.disable()

    worker.wsgi = profiled


def worker_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    import pstats

    if not _profiles:
        return
    stats = pstats.Stats(_profiles[0])
    for p in _profiles[1:]:
        stats.add(p)
    stats.dump_stats(str(Path(os.environ["FRAMDRIFT_PROFILE_DIR"]) / f"worker-{os.getpid()}.prof"))
