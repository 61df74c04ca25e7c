"""Owner-only files and directories under the data dir: databases and their WAL and shm files,
logs, key files and the suite's secrets are readable by the service's own user only.

The launcher sets the umask to 077 for itself and every service it starts, which covers every
file they create. These helpers make it so whoever starts a service (uvicorn directly, a
container), and tighten files an older version left world-readable.

SQLite creates a database's ``-wal`` and ``-shm`` files with the database file's own mode
(os_unix.c, ``findCreateFileMode``), so creating the database file 0600 before SQLite opens it is
what keeps those owner-only too; files that exist already are ``chmod``-ed.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) owner-only; an existing directory is left as it is
    unless we created it (``mkdir``'s mode is masked by the umask, hence the ``chmod``)."""
    if path.is_dir():
        return
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, DIR_MODE)


def private_sqlite_file(path: Path) -> None:
    """Make the SQLite database at ``path`` owner-only before SQLite opens it: create it empty
    with mode 0600 when missing (SQLite takes an empty file as a new database), and tighten an
    existing one and its ``-wal``/``-shm`` files."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if candidate.stat().st_mode & 0o077:
                os.chmod(candidate, FILE_MODE)


#: What the suite keeps under its data dir (databases and their companions, key and secret
#: files, logs): ``tighten_tree`` touches these only, so a data dir pointed at a shared folder by
#: mistake does not have the rest of it changed.
SUITE_FILES = ("*.db", "*.db-wal", "*.db-shm", "*.db-journal", "*.key", "*.json", "logs/*.log")


def tighten_tree(root: Path) -> int:
    """Make ``root``, its ``logs`` directory and the suite's files in them owner-only (what an
    older version left readable by others). Returns how many entries changed."""
    if not root.is_dir():
        return 0
    changed = 0
    entries = [root, root / "logs", *(p for pattern in SUITE_FILES for p in root.glob(pattern))]
    for entry in entries:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            st = entry.lstat()
            if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
                continue
            os.chmod(entry, DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE)
            changed += 1
    return changed


def write_private_file(path: Path, text: str, *, replace: bool) -> bool:
    """Write ``text`` to ``path`` with mode 0600, atomically: readers see the old content or the
    new, never a part. With ``replace=False`` an existing file is kept (returns ``False``): the
    first of several processes creating the same file wins."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, FILE_MODE)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # fails when the file exists: never overwrites another's
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


__all__ = ["DIR_MODE", "FILE_MODE", "private_dir", "private_sqlite_file", "tighten_tree", "write_private_file"]
