"""A Spark standalone cluster on this machine: one master and N workers, each a JVM process
of its own, started with the ``spark-class`` launcher of the installed PySpark.

What a region runs on its own machines is the same software (docs/registry.md, "A Spark
cluster"): ``spark-class org.apache.spark.deploy.master.Master`` on one host and
``spark-class org.apache.spark.deploy.worker.Worker spark://MASTER:7077`` on each worker host
(or the ``sbin/start-master.sh`` / ``start-worker.sh`` scripts of a Spark distribution). This
module starts that on one machine — for the differential test (tests/population) and the
benchmark — on free ports, with small workers, and stops every process it started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from bonepath.errors import ConfigError

MASTER_CLASS: Final = "org.apache.spark.deploy.master.Master"
WORKER_CLASS: Final = "org.apache.spark.deploy.worker.Worker"


def spark_home() -> Path:
    """The Spark installation inside the PySpark package (``bin/spark-class``, the jars)."""
    try:
        import pyspark
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigError("the spark backend needs PySpark: pip install 'bonepath[spark]'") from exc
    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    """A TCP port nothing listens on now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class StandaloneCluster:
    """A master and ``workers`` workers on 127.0.0.1 (see the module docstring).

    ``worker_cores`` / ``worker_memory`` are what each worker offers to executors (``--cores``,
    ``--memory``); ``directory`` holds the workers' work directories and every process's log.
    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    directory: Path
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "1g"
    daemon_memory: str = "256m"
    start_timeout_s: float = 120.0
    master_port: int = field(default_factory=free_port)
    master_ui_port: int = field(default_factory=free_port)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        """The master's URL, what a driver gives as ``--master``."""
        return f"spark://127.0.0.1:{self.master_port}"

    def start(self) -> Self:
        """Start the master, then the workers; return when every worker has registered."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._launch(
            "master",
            MASTER_CLASS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.master_port),
            "--webui-port",
            str(self.master_ui_port),
        )
        for index in range(self.workers):
            work = self.directory / f"worker-{index}"
            work.mkdir(exist_ok=True)
            self._launch(
                f"worker-{index}",
                WORKER_CLASS,
                "--host",
                "127.0.0.1",
                "--port",
                str(free_port()),
                "--webui-port",
                str(free_port()),
                "--cores",
                str(self.worker_cores),
                "--memory",
                self.worker_memory,
                "--work-dir",
                str(work),
                self.url,
            )
        self._wait_for_workers()
        return self

    def alive_workers(self) -> int:
        """Workers the master counts as alive (its status JSON); 0 while it is not up."""
        try:
            with urllib.request.urlopen(  # noqa: S310 - a fixed http URL on localhost
                f"http://127.0.0.1:{self.master_ui_port}/json/", timeout=2
            ) as answer:
                status = json.load(answer)
        except OSError:
            return 0
        return int(status.get("aliveworkers", 0))

    def pids(self) -> list[int]:
        """The process ids of the master and the workers (running or not)."""
        return [process.pid for process in self._processes]

    def stop(self) -> None:
        """Stop every process started here (TERM, then KILL after 10 s), workers first."""
        for process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in reversed(self._processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._processes.clear()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self, name: str) -> str:
        """The output of process ``name`` (``master``, ``worker-0`` …) so far."""
        path = self.directory / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def _launch(self, name: str, main_class: str, *arguments: str) -> None:
        home = spark_home()
        launcher = home / "bin" / "spark-class"
        if not os.access(launcher, os.X_OK):
            raise ConfigError(f"{launcher} is not executable")
        if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
            raise ConfigError("a Spark cluster needs Java (java on PATH or JAVA_HOME)")
        env = {
            **os.environ,
            "SPARK_HOME": str(home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_DAEMON_MEMORY": self.daemon_memory,
            "SPARK_LOG_DIR": str(self.directory),
            "SPARK_WORKER_DIR": str(self.directory),
            # calendar days must not move with the machine's zone
            "SPARK_DAEMON_JAVA_OPTS": "-Duser.timezone=UTC",
        }
        log = (self.directory / f"{name}.log").open("wb")
        try:
            process = subprocess.Popen(
                [str(launcher), main_class, *arguments],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() takes its children
            )
        finally:
            log.close()
        self._processes.append(process)

    def _wait_for_workers(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            for process, name in zip(self._processes, self._names(), strict=True):
                if process.poll() is not None:
                    raise ConfigError(
                        f"spark {name} exited with {process.returncode}: {self.log(name)[-2000:]}"
                    )
            if self.alive_workers() >= self.workers:
                return
            time.sleep(0.5)
        raise ConfigError(
            f"the spark cluster did not come up in {self.start_timeout_s:.0f} s: "
            f"{self.log('master')[-2000:]}"
        )

    def _names(self) -> list[str]:
        return ["master", *(f"worker-{index}" for index in range(self.workers))]
