"""A throwaway RabbitMQ node on ports of its own, for fault tests and benchmarks that stop and
restart it. The shared broker on 5672 (node rabbit@localhost) is never touched."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from live_server import free_port

RABBIT_BIN = Path(os.environ.get("CAREBOT_TEST_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
RABBIT_HOME = Path("/var/lib/rabbitmq")  # the rabbitmq user's home: its Erlang cookie


class RabbitMQUnavailable(RuntimeError):
    pass


def _as_rabbitmq(args: list[str]) -> list[str]:
    # As root the node runs as the rabbitmq user, as the packaged service does (its cookie).
    if os.geteuid() == 0:
        return ["runuser", "-u", "rabbitmq", "--", *args]
    return args


class ThrowawayRabbitMQ:
    """A RabbitMQ node in a temporary directory: its own AMQP and distribution ports, its own
    node name, config, data and logs, no plugins. guest/guest may log in from 127.0.0.1."""

    def __init__(self) -> None:
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            raise RabbitMQUnavailable(f"rabbitmq-server not found in {RABBIT_BIN}; install "
                                      "RabbitMQ or set CAREBOT_TEST_RABBITMQ_BIN")
        self.directory = Path(tempfile.mkdtemp(prefix="carebot-rabbit-"))
        self.port = free_port()
        self.dist_port = free_port()
        while self.dist_port == self.port:
            self.dist_port = free_port()
        self.node = f"carebot-{uuid.uuid4().hex[:8]}@localhost"
        (self.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            "log.console = false\n")
        (self.directory / "rabbitmq-env.conf").write_text("")
        (self.directory / "enabled_plugins").write_text("[].\n")
        if os.geteuid() == 0:
            for path in [self.directory, *self.directory.iterdir()]:
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONFIG_FILE=str(self.directory / "rabbitmq.conf"),
            RABBITMQ_CONF_ENV_FILE=str(self.directory / "rabbitmq-env.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.directory / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(self.directory / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.directory / "log"),
            ERL_EPMD_ADDRESS="127.0.0.1",
        )
        if os.geteuid() == 0:
            env["HOME"] = str(RABBIT_HOME)
        return env

    def start(self, timeout: float = 120) -> None:
        log = (self.directory / "server.out").open("ab")
        self.process = subprocess.Popen(
            _as_rabbitmq([str(RABBIT_BIN / "rabbitmq-server")]), env=self._env(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RabbitMQUnavailable(f"RabbitMQ exited:\n{self.output()}")
            if self._accepts_amqp():
                return
            time.sleep(0.3)
        self.kill()
        raise RabbitMQUnavailable(f"RabbitMQ did not come up in {timeout} s:\n{self.output()}")

    def _accepts_amqp(self) -> bool:
        """The AMQP listener answers a protocol header (it listens only once the node booted)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"AMQP\x00\x00\x09\x01")
                return bool(s.recv(8))
        except OSError:
            return False

    def output(self) -> str:
        path = self.directory / "server.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """A clean stop (rabbitmqctl stop): what it confirmed is on disk."""
        if self.process is None:
            return
        subprocess.run(_as_rabbitmq([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node,
                                     "stop"]), env=self._env(), capture_output=True,
                       timeout=120)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def kill(self) -> None:
        """Gone at once, as in a crash (SIGKILL to the node's whole process group)."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)
        self.process = None

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
