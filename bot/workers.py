"""`carebot serve --workers N`: N server processes on one port, supervised.

The supervisor binds one listening socket per worker on the same port (SO_REUSEPORT) and
hands each to its worker process (a whole Carebot server: its own event loop, NLU and
conversation log). The kernel spreads new connections evenly over the sockets; a shared
socket would let one busy worker win most accepts. A restarted worker gets its socket back,
so connections that arrived meanwhile wait in its queue rather than fail. Without Redis the supervisor is also the workers' hub
(:mod:`bot.dialogue.socket_hub`): conversation locks, the latest state and live fan-out, so
SQLite deployments share conversations correctly; with ``CAREBOT_REDIS_URL`` the workers
share through Redis, as separate servers would.

A worker that dies is logged and started again (after a pause that grows while it keeps
dying); SIGTERM or Ctrl-C stops every worker cleanly. The workers' Prometheus metrics go to
one multiprocess directory, so ``/metrics`` at any of them adds all of them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bot.config import Config, limit_malloc_arenas, use_offline_models

logger = logging.getLogger("carebot.workers")

SHUTDOWN_SECONDS = 60.0  # a worker gets this long to finish its turns and flush its log
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # after each death in a row
HEALTHY_SECONDS = 60.0  # a worker up this long has stopped dying: the pause starts over


def default_workers() -> int:
    """The machine's cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """One socket per worker, all on ``host:port``; the kernel balances between them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_server((host, port), family=family, backlog=2048,
                                                reuse_port=True))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


@dataclass
class _Worker:
    index: int
    process: multiprocessing.process.BaseProcess | None = None
    ready: object = None  # multiprocessing Event, set once the worker serves
    started_at: float = 0.0
    deaths: int = 0  # in a row
    was_ready: bool = False


class Supervisor:
    """Starts, watches and restarts the workers; stops them all on SIGTERM / SIGINT."""

    def __init__(self, config: Config, count: int, sockets: list[socket.socket], *,
                 log_level: int = logging.INFO, shutdown_seconds: float = SHUTDOWN_SECONDS
                 ) -> None:
        self.config = config
        self.count = count
        self.sockets = sockets  # the socket of worker i is sockets[i]
        self.log_level = log_level
        self.shutdown_seconds = shutdown_seconds
        self._context = multiprocessing.get_context("spawn")  # no fork of threads and models
        self._workers = [_Worker(i) for i in range(count)]
        self._stop = asyncio.Event()
        self._stopping = False
        self._failed: str | None = None
        self._temp_dirs: list[Path] = []

    async def run(self) -> int:
        """Serve until stopped; the exit status (1 when the workers could not start)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        hub = await self._prepare()
        try:
            for worker in self._workers:
                self._start(worker)
            watch = asyncio.create_task(self._watch_readiness())
            await self._stop.wait()
            watch.cancel()
        finally:
            await self._stop_all()
            if hub is not None:
                await hub.close()
            for directory in self._temp_dirs:
                shutil.rmtree(directory, ignore_errors=True)
        if self._failed:
            logger.error("%s", self._failed)
            return 1
        logger.info("all %d workers stopped", self.count)
        return 0

    async def _prepare(self):
        """The shared parts: the hub (without Redis) and the metrics directory."""
        from prometheus_client import multiprocess  # noqa: F401 - fail early if missing

        hub = None
        overrides: dict = {}
        if not self.config.redis_url:
            from bot.dialogue.socket_hub import HubServer

            directory = Path(tempfile.mkdtemp(prefix="carebot-hub-"))
            self._temp_dirs.append(directory)
            hub = HubServer(directory / "hub.sock")
            await hub.start()
            overrides["hub_socket"] = str(hub.path)
        metrics_dir = self.config.monitoring.metrics_dir
        if metrics_dir is None:
            metrics_dir = tempfile.mkdtemp(prefix="carebot-metrics-")
            self._temp_dirs.append(Path(metrics_dir))
        else:
            # prometheus-client's rule: the directory starts empty for a new set of processes
            Path(metrics_dir).mkdir(parents=True, exist_ok=True)
            for stale in Path(metrics_dir).glob("*.db"):
                stale.unlink()
        overrides["monitoring"] = replace(self.config.monitoring, metrics_dir=metrics_dir)
        self.config = replace(self.config, **overrides)
        self.metrics_dir = metrics_dir
        where = "Redis" if self.config.redis_url else "this supervisor"
        logger.info("serving on http://%s:%d with %d workers (sharing conversations through "
                    "%s)", self.config.host, self.config.port, self.count, where)
        return hub

    def _start(self, worker: _Worker) -> None:
        if self._stopping:
            return
        worker.ready = self._context.Event()
        worker.was_ready = False
        worker.process = self._context.Process(
            target=_worker_main, name=f"carebot-worker-{worker.index}",
            args=(self.config, worker.index, self.sockets[worker.index], worker.ready,
                  self.log_level, os.getpid()))
        worker.process.start()
        worker.started_at = time.monotonic()
        asyncio.get_running_loop().add_reader(worker.process.sentinel, self._exited, worker)
        logger.info("worker %d started (pid %d)", worker.index, worker.process.pid)

    async def _watch_readiness(self) -> None:
        while True:
            for worker in self._workers:
                if worker.process is not None and not worker.was_ready \
                        and worker.ready.is_set():
                    worker.was_ready = True
                    logger.info("worker %d (pid %d) is serving", worker.index,
                                worker.process.pid)
                if worker.was_ready and worker.deaths \
                        and time.monotonic() - worker.started_at > HEALTHY_SECONDS:
                    worker.deaths = 0
            await asyncio.sleep(0.2)

    def _exited(self, worker: _Worker) -> None:
        process = worker.process
        loop = asyncio.get_running_loop()
        loop.remove_reader(process.sentinel)
        process.join(0)
        if self._stopping:
            return
        was_ready = worker.was_ready or worker.ready.is_set()
        _retire_metrics(process.pid, self.metrics_dir)
        if not was_ready and not any(w.was_ready for w in self._workers):
            # the first start failed (no models, a bad setting...): restarting cannot help
            self._failed = (f"worker {worker.index} exited with code {process.exitcode} "
                            "before it could serve; see its messages above")
            self._stop.set()
            return
        delay = RESTART_DELAYS[min(worker.deaths, len(RESTART_DELAYS) - 1)]
        worker.deaths += 1
        logger.error("worker %d (pid %d) died with exit code %s; restarting it in %.1f s",
                     worker.index, process.pid, process.exitcode, delay)
        loop.call_later(delay, self._start, worker)

    async def _stop_all(self) -> None:
        self._stopping = True
        running = [w.process for w in self._workers if w.process and w.process.is_alive()]
        logger.info("stopping %d workers", len(running))
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()  # SIGTERM: aiohttp finishes the requests, the log flushes
        deadline = time.monotonic() + self.shutdown_seconds
        for process in running:
            await asyncio.to_thread(process.join, max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                logger.error("worker pid %d did not stop in %.0f s; killed", process.pid,
                             self.shutdown_seconds)
                process.kill()
                await asyncio.to_thread(process.join, 5)
            if process.exitcode not in (0, -signal.SIGTERM):
                logger.warning("worker pid %d stopped with exit code %s", process.pid,
                               process.exitcode)


def _retire_metrics(pid: int, metrics_dir: str) -> None:
    """A dead worker's live gauges stop counting; its counters stay in the totals."""
    from prometheus_client import multiprocess

    try:
        multiprocess.mark_process_dead(pid, metrics_dir)
    except OSError as exc:
        logger.warning("could not retire the metric files of pid %d: %s", pid, exc)


def serve_workers(config: Config, count: int, *, log_level: int = logging.INFO) -> int:
    """Run ``count`` workers on ``config.host:config.port`` until SIGTERM; the exit status."""
    from analytics.store.db import migrate

    sockets = listening_sockets(config.host, config.port, count)
    migrate(config.database_url)  # once, here: workers starting together find it done
    try:
        return asyncio.run(Supervisor(config, count, sockets, log_level=log_level).run())
    finally:
        for sock in sockets:
            sock.close()


# -- in the worker process ---------------------------------------------------------------------


def _worker_main(config: Config, index: int, sock: socket.socket, ready, log_level: int,
                 parent_pid: int) -> None:
    logging.basicConfig(level=log_level,
                        format=f"%(asctime)s %(levelname)s worker-{index} %(name)s: %(message)s")
    use_offline_models()
    limit_malloc_arenas()
    from aiohttp import web

    from bot.app import create_app
    from bot.dialogue.assistant import ModelsMissing

    async def serving(app: web.Application):
        ready.set()
        watch = asyncio.create_task(_watch_parent(parent_pid))
        yield
        watch.cancel()

    try:
        app = create_app(config)
        app.cleanup_ctx.append(serving)  # last: runs once everything else has started
        web.run_app(app, sock=sock, print=None, access_log=None,
                    shutdown_timeout=SHUTDOWN_SECONDS - 5)
    except ModelsMissing as exc:
        logging.getLogger("carebot").error("%s", exc)
        sys.exit(2)


async def _watch_parent(parent_pid: int) -> None:
    """The supervisor was killed: stop cleanly rather than serve on alone."""
    while True:
        await asyncio.sleep(1.0)
        if os.getppid() != parent_pid:
            logging.getLogger("carebot").error("the supervisor (pid %d) is gone; stopping",
                                               parent_pid)
            os.kill(os.getpid(), signal.SIGTERM)
            return
