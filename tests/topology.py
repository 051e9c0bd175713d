"""Real multi-server Redis set-ups for the storage tests: a Redis Cluster and a Sentinel group.

Each server is Debian's ``redis-server`` on a free loopback port, in a tmp dir, without
persistence. :class:`Cluster` is 3 masters with a replica each (``redis-cli --cluster
create``); :class:`SentinelGroup` is a master, its replica and one sentinel (quorum 1, short
timeouts, so a failover takes a few seconds). Both are session fixtures in ``conftest.py``,
started only when a test asks for them.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

HOST = "127.0.0.1"
#: Seconds a set-up may take to agree before a test fails (start-up, a failover).
SETTLE_TIMEOUT = 60.0


def free_port(bus: bool = False) -> int:
    """Return a free loopback port (and, with ``bus``, port + 10000 free too: the cluster bus)."""
    while True:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        if not bus:
            return port
        if port < 55000:
            with socket.socket() as probe:
                try:
                    probe.bind((HOST, port + 10000))
                except OSError:
                    continue
            return port


def settle(condition: Callable[[], Any], what: str, timeout: float = SETTLE_TIMEOUT) -> Any:
    """Poll ``condition`` (Redis errors count as not yet) until truthy; raise after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except (redis.RedisError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"Redis did not settle: {what}")
        time.sleep(0.1)


class Server:
    """One redis-server process."""

    def __init__(self, tmp: Path, *args: str, port: int | None = None,
                 sentinel: bool = False) -> None:
        self.port = port or free_port()
        self.dir = tmp / str(self.port)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the server and wait until it answers."""
        command = [shutil.which("redis-server") or "redis-server"]
        if self.sentinel:
            command += [str(self.dir / "sentinel.conf"), "--sentinel"]
        else:
            command += ["--save", "", "--appendonly", "no"]
        command += ["--port", str(self.port), "--bind", HOST, "--dir", str(self.dir),
                    "--logfile", "server.log", *self.args]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        settle(lambda: self.client().ping(), f"{self.port} answers PING")

    def client(self, **options: Any) -> redis.Redis:
        """Return a new client of this one server."""
        return redis.Redis(host=HOST, port=self.port, decode_responses=True,
                           socket_timeout=5, **options)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Cluster:
    """A started Redis Cluster: 3 masters, a replica each."""

    def __init__(self, tmp: Path, masters: int = 3, node_timeout_ms: int = 2000) -> None:
        self.servers = [
            Server(tmp, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                   "--cluster-node-timeout", str(node_timeout_ms), port=free_port(bus=True))
            for _ in range(2 * masters)
        ]
        addresses = [f"{HOST}:{server.port}" for server in self.servers]
        subprocess.run([shutil.which("redis-cli") or "redis-cli", "--cluster", "create",
                        *addresses, "--cluster-replicas", "1", "--cluster-yes"],
                       check=True, capture_output=True, timeout=120)
        self.wait_ok()

    @property
    def startup_nodes(self) -> list[dict[str, Any]]:
        """Return the nodes as ``DIFFS_SETTINGS["redis"]["cluster"]["startup_nodes"]`` wants."""
        return [{"host": HOST, "port": server.port} for server in self.servers]

    def wait_ok(self) -> None:
        """Wait until every running node says ``cluster_state:ok`` and agrees on 3 masters."""
        def agreed() -> bool:
            for server in self.running():
                with server.client() as client:
                    if client.cluster("info")["cluster_state"] != "ok":
                        return False
                    masters = [n for n in client.cluster("nodes").values()
                               if "master" in n["flags"] and "fail" not in n["flags"]]
                    if len(masters) != len(self.servers) // 2:
                        return False
            return True

        settle(agreed, "cluster_state:ok on every node")

    def running(self) -> list[Server]:
        return [s for s in self.servers if s.process is not None and s.process.poll() is None]

    def role(self, server: Server) -> str:
        with server.client() as client:
            return str(client.execute_command("ROLE")[0])

    def masters(self) -> list[Server]:
        """Return the running servers that are masters now."""
        return [s for s in self.running() if self.role(s) == "master"]

    def replica_of(self, master: Server) -> Server:
        """Return the running replica of ``master``."""
        for server in self.running():
            with server.client() as client:
                role = client.execute_command("ROLE")
            if role[0] == "slave" and int(role[2]) == master.port:
                return server
        raise RuntimeError(f"no replica of {master.port}")

    def fail_over(self, master: Server) -> Server:
        """Promote ``master``'s replica (``CLUSTER FAILOVER``, no data lost); return it."""
        replica = self.replica_of(master)
        with replica.client() as client:
            client.execute_command("CLUSTER", "FAILOVER")
        settle(lambda: self.role(replica) == "master" and self.role(master) == "slave",
               f"{replica.port} took over from {master.port}")
        self.wait_ok()
        return replica

    def flush(self) -> None:
        """Empty every master."""
        for master in self.masters():
            with master.client() as client:
                client.flushall()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


class SentinelGroup:
    """A started master, its replica and one sentinel watching them as ``service_name``."""

    service_name = "diffs-test"

    def __init__(self, tmp: Path) -> None:
        self.master = Server(tmp)
        self.replica = Server(tmp, "--replicaof", HOST, str(self.master.port))
        settle(lambda: self.replica.client().info("replication")["master_link_status"] == "up",
               "the replica is in sync")
        port = free_port()
        conf = tmp / str(port) / "sentinel.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(
            f"sentinel monitor {self.service_name} {HOST} {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.service_name} 1000\n"
            f"sentinel failover-timeout {self.service_name} 5000\n"
            f"sentinel parallel-syncs {self.service_name} 1\n"
        )
        self.sentinel = Server(tmp, port=port, sentinel=True)
        settle(lambda: self.master_port() == self.master.port, "the sentinel sees the master")
        settle(lambda: self.sentinel.client().execute_command(
            "SENTINEL", "REPLICAS", self.service_name), "the sentinel sees the replica")

    @property
    def sentinels(self) -> list[list[Any]]:
        """Return ``DIFFS_SETTINGS["redis"]["sentinel"]["sentinels"]``."""
        return [[HOST, self.sentinel.port]]

    def master_port(self) -> int:
        with self.sentinel.client() as client:
            _, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                             self.service_name)
        return int(port)

    def current_master(self) -> Server:
        port = self.master_port()
        return self.master if port == self.master.port else self.replica

    def kill_master(self) -> Server:
        """Kill the master; return the replica once the sentinel promoted it."""
        old = self.current_master()
        new = self.replica if old is self.master else self.master
        old.kill()
        settle(lambda: self.master_port() == new.port, "the sentinel promoted the replica")
        settle(lambda: new.client().execute_command("ROLE")[0] == "master", "it is master")
        old.start()  # empty, as a master: the sentinel turns it into the new one's replica
        settle(lambda: old.client().execute_command("ROLE")[0] == "slave", "it came back a replica")
        return new

    def flush(self) -> None:
        with self.current_master().client() as client:
            client.flushall()

    def stop(self) -> None:
        for server in (self.sentinel, self.replica, self.master):
            server.stop()
