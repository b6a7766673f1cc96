"""A throwaway PostgreSQL cluster for tests, started from the installed binaries.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres``
system user (created by Debian's postgresql package) and its commands run through
``runuser``. The cluster listens on loopback only, on a free port, and is removed
when the test session ends.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def find_postgres_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    data_dir: Path
    port: int
    user: str = "toolkit"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    @classmethod
    def start(cls, bin_dir: Path) -> "PostgresServer":
        data_dir = Path(tempfile.mkdtemp(prefix="toolkit-pg-"))
        if os.geteuid() == 0:
            shutil.chown(data_dir, "postgres", "postgres")
        server = cls(bin_dir=bin_dir, data_dir=data_dir / "cluster", port=_free_port())
        if os.geteuid() == 0:
            os.makedirs(server.data_dir)
            shutil.chown(server.data_dir, "postgres", "postgres")
        server._run("initdb", "-D", str(server.data_dir), "-A", "trust", "-U", server.user,
                    "-E", "UTF8", "--no-sync", "--locale=C")
        options = (f"-p {server.port} -k {server.data_dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        server._run("pg_ctl", "-D", str(server.data_dir), "-o", options, "-w", "-t", "60",
                    "-l", str(server.data_dir / "server.log"), "start")
        return server

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)
