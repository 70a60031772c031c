"""The responder's memory, in SQLite (WAL, one transaction per decision).

Crash safety comes from the order of things: a message and the epoch mark
that passes it are stored together; a reply is planned (stored with its
final bytes and a fixed file name) before it is delivered, delivered in a
way that can be repeated without a second copy (a maildir file under that
fixed name), and marked delivered afterwards. A run killed anywhere redoes
at most the last step, and redoing it changes nothing. Over SMTP a reply is
marked 'sending' just before the server is asked to take its data; one
left in that state was maybe sent and is never sent again.

One watcher per state file: an exclusive lock on FILE.lock, held for the
life of the State, makes a second watcher stop with a clear message. The
lock file is opened without following a symlink, and the state file, its
-wal and -shm files and the lock must be regular files: a FIFO or a device
planted there is refused, never opened (opening a FIFO blocks).

Another process may hold SQLite's own lock on the database (a tool reading
it in a long transaction, say). Each statement waits up to busy_timeout
seconds for it; past that, the SQLite error says the database is busy
(is_busy) and the watcher decides: a daemon waits and tries again, --once
gives up with one line.

Every archive entry read (the blob id of the 'm' of each commit passed, and
of the commit at the mark) is kept in read_blobs: when an epoch's history
is rewritten (public-inbox-purge, -edit), those ids find the place in the
new history where reading stopped, because a purge keeps every other
message's blob as it was.
"""
from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse

from ..common import UserError
from ..mail import printable

SCHEMA = """
CREATE TABLE IF NOT EXISTS marks (epoch INTEGER PRIMARY KEY, commit_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    msgid TEXT PRIMARY KEY, root TEXT NOT NULL, raw BLOB NOT NULL, is_patch INTEGER NOT NULL,
    seen REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_root ON messages(root);
CREATE TABLE IF NOT EXISTS threads (root TEXT PRIMARY KEY, first_seen REAL NOT NULL,
    updated REAL NOT NULL, open INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS series (key TEXT PRIMARY KEY, root TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT, decided REAL);
CREATE TABLE IF NOT EXISTS replies (patch_msgid TEXT PRIMARY KEY, series_key TEXT NOT NULL,
    name TEXT NOT NULL, raw BLOB NOT NULL, state TEXT NOT NULL, delivered REAL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skipped (epoch INTEGER, commit_id TEXT, msgid TEXT, reason TEXT NOT NULL,
    seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS read_blobs (blob TEXT PRIMARY KEY, msgid TEXT);
"""
# Columns added after the first release; an older state file gets them.
ADDED_COLUMNS = (("messages", "archived", "REAL"), ("replies", "attempts", "INTEGER NOT NULL DEFAULT 0"),
                 ("replies", "next_try", "REAL"), ("replies", "reason", "TEXT"),
                 ("marks", "depth", "INTEGER"), ("marks", "entry", "TEXT"), ("series", "patches", "TEXT"))
REPLY_STATES = ("planned", "drafted", "sending", "sent", "maybe-sent", "failed", "expired", "withdrawn")
# How long one statement waits for another process's lock on the database.
BUSY_TIMEOUT = 30.0


class StateBusy(UserError):
    """The state database stayed locked by another process past the wait."""


def is_busy(exc: BaseException) -> bool:
    """Is this SQLite error another process holding the database's lock?"""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def git_blob_id(raw: bytes) -> str:
    """The id git gives a blob with these bytes."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def _regular_or_absent(path: str) -> None:
    """Refuse a path that exists and is not a regular file (after symlinks):
    SQLite would block for ever opening a FIFO, or read a device."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"{path}: cannot use the state file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: not a regular file ({_kind(mode)}); pass --state FILE with a plain file")


def _kind(mode: int) -> str:
    import stat

    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a plain file"


def default_path() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "tdxbot", "watch.sqlite3")


def _lock(path: str):
    """Hold an exclusive lock on path + '.lock', or raise UserError naming
    the process that holds it. The lock file is opened without following
    a symlink (O_NOFOLLOW) and must be a regular file with one link: a
    symlink or hard link planted there could otherwise make the watcher
    write its pid into another file."""
    import fcntl
    import stat

    lock_path = path + ".lock"
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(lock_path, flags, 0o600)
    except OSError as exc:
        import errno

        if exc.errno == errno.ELOOP:
            raise UserError(f"{lock_path}: the lock file is a symbolic link; refusing to follow it "
                            "(remove it)") from None
        raise UserError(f"{lock_path}: cannot open the lock file: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UserError(f"{lock_path}: the lock file is {_kind(info.st_mode)}, not a regular file (remove it)")
    if info.st_nlink != 1:
        os.close(fd)  # a hard link to another file: writing our pid would overwrite it
        raise UserError(f"{lock_path}: the lock file has {info.st_nlink} hard links; refusing to write to it "
                        "(remove it)")
    os.set_blocking(fd, True)
    fh = os.fdopen(fd, "r+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read(32).strip() or "another process"
        fh.close()
        raise UserError(f"another tdxbot watch (pid {printable(holder)}) is using {path}; "
                        "one watcher per state file") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


class State:
    def __init__(self, path: str, lock: bool = True, readonly: bool = False,
                 busy_timeout: float = BUSY_TIMEOUT):
        folder = os.path.dirname(os.path.abspath(path))
        self._lock = None
        for name in (path, path + "-wal", path + "-shm"):
            _regular_or_absent(name)
        if readonly and not os.path.exists(path):
            raise UserError(f"{path}: no state file yet (no watch has run with it)")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{folder}: cannot create the state folder: {exc.strerror or exc}") from None
        self.path = path
        self._lock = _lock(path) if lock else None
        try:
            if readonly:
                self.db = sqlite3.connect(f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro", uri=True,
                                          isolation_level=None, timeout=busy_timeout)
                self.db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return
            self.db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            for table, column, kind in ADDED_COLUMNS:
                have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except sqlite3.Error as exc:
            self.close()
            raise (StateBusy if is_busy(exc) else UserError)(state_error(path, exc)) from None

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- where reading starts ------------------------------------------------

    def started(self) -> bool:
        """Has a watch read this archive before? (A state from before the
        meta table counts as started when it has marks.)"""
        if self.db.execute("SELECT 1 FROM meta WHERE key = 'started'").fetchone():
            return True
        return self.db.execute("SELECT 1 FROM marks LIMIT 1").fetchone() is not None

    def start(self, how: str, marks: dict[int, str],
              places: dict[int, tuple[int | None, str | None]] | None = None) -> None:
        """Record the first run and where it starts reading, together.
        places: (depth, entry_key) of each mark (see inbox)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for epoch, commit in marks.items():
                depth, entry = (places or {}).get(epoch, (None, None))
                self.db.execute("INSERT OR REPLACE INTO marks (epoch, commit_id, depth, entry) VALUES (?, ?, ?, ?)",
                                (epoch, commit, depth, entry))
                if entry:
                    self.db.execute("INSERT OR IGNORE INTO read_blobs VALUES (?, NULL)", (entry,))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('started', ?)", (f"{time.time():.0f} {how}",))

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- reading the archive ---------------------------------------------

    def marks(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT epoch, commit_id FROM marks"))

    def places(self) -> dict[int, tuple[int | None, str | None]]:
        """(depth, entry_key) of each mark, where known."""
        return {epoch: (depth, entry) for epoch, depth, entry in
                self.db.execute("SELECT epoch, depth, entry FROM marks")}

    def ingest(self, epoch: int, commit: str, message: tuple | None, archived: float | None = None,
               skipped: tuple[str | None, str] | None = None, entry: str | None = None,
               depth: int | None = None) -> str | None:
        """Store one message (or none) and move the epoch mark past it,
        together. skipped: (msgid, reason) of a message that is recorded
        but not stored. entry, depth: the archive entry id of the commit
        (kept in read_blobs too) and its depth in the epoch, kept with the
        mark. A second message with a stored Message-ID replaces
        the first only when it has a diff and the first has none; the
        return value says what happened to such a duplicate (nothing for
        the very same bytes again, which is no news)."""
        now = time.time()
        note = None
        stored = None  # the msgid whose stored bytes are this entry
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if skipped is not None:
                self.db.execute("INSERT INTO skipped VALUES (?, ?, ?, ?, ?)",
                                (epoch, commit, skipped[0], skipped[1], now))
            if message is not None:
                msgid, root, raw, is_patch = message
                old = self.db.execute("SELECT raw FROM messages WHERE msgid = ?", (msgid,)).fetchone()
                inserted = 0
                if old is None:
                    inserted = self.db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
                                               (msgid, root, raw, int(is_patch), now, archived)).rowcount
                elif old[0] == raw:
                    stored = msgid  # the same mail read again (after a rewritten epoch): nothing new
                elif has_diff(raw) and not has_diff(old[0]):
                    inserted = self.db.execute(
                        "UPDATE messages SET root = ?, raw = ?, is_patch = ?, archived = ? WHERE msgid = ?",
                        (root, raw, int(is_patch), archived, msgid)).rowcount
                    note = "kept the new one, which has a diff"
                else:
                    note = "kept the first one"
                if inserted:
                    stored = msgid
                    self.db.execute(
                        "INSERT INTO threads VALUES (?, ?, ?, 1) ON CONFLICT(root) DO UPDATE "
                        "SET updated = excluded.updated, open = 1", (root, now, now))
            if entry:
                self.db.execute("INSERT INTO read_blobs VALUES (?, ?) ON CONFLICT(blob) DO UPDATE "
                                "SET msgid = COALESCE(excluded.msgid, read_blobs.msgid)",
                                (entry, stored))
            self.db.execute("INSERT INTO marks (epoch, commit_id, depth, entry) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT(epoch) DO UPDATE SET commit_id = excluded.commit_id, "
                            "depth = excluded.depth, entry = excluded.entry", (epoch, commit, depth, entry))
        return note

    def known_entry(self, key: str) -> bool:
        """Was this archive entry (see inbox.entry_key) read before? A state
        from before read_blobs learns the ids of the messages it stored on
        the first question."""
        if self.meta("read-blobs") is None:
            self._backfill_blobs()
        return self.db.execute("SELECT 1 FROM read_blobs WHERE blob = ?", (key,)).fetchone() is not None

    def _backfill_blobs(self) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for msgid, raw in self.db.execute("SELECT msgid, raw FROM messages").fetchall():
                self.db.execute("INSERT OR IGNORE INTO read_blobs VALUES (?, ?)", (git_blob_id(raw), msgid))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('read-blobs', '1')")

    def withdraw_purged(self, blobs: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """The archive erased these blobs (public-inbox-purge): forget the
        stored messages that were them, withdraw the replies to them that
        are still planned (a reply would quote what was erased), and return
        (withdrawn patch ids, [(patch id, state)] of replies already out)."""
        if not blobs:
            return [], []
        if self.meta("read-blobs") is None:
            self._backfill_blobs()
        withdrawn, out = [], []
        ids = sorted(blobs)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                rows = self.db.execute(f"SELECT msgid FROM read_blobs WHERE msgid IS NOT NULL AND blob IN "
                                       f"({','.join('?' * len(chunk))})", chunk).fetchall()
                for (msgid,) in rows:
                    stored = self.db.execute("SELECT raw FROM messages WHERE msgid = ?", (msgid,)).fetchone()
                    if stored is None or git_blob_id(stored[0]) not in blobs:
                        continue  # forgotten already, or what is stored is another mail with that id
                    self.db.execute("DELETE FROM messages WHERE msgid = ?", (msgid,))
                    reply = self.db.execute("SELECT state FROM replies WHERE patch_msgid = ?", (msgid,)).fetchone()
                    if reply is None:
                        continue
                    if reply[0] == "planned":
                        self.db.execute("UPDATE replies SET state = 'withdrawn', delivered = ?, reason = ? "
                                        "WHERE patch_msgid = ?",
                                        (time.time(), "the patch was purged from the archive", msgid))
                        withdrawn.append(msgid)
                    elif reply[0] != "withdrawn":
                        out.append((msgid, reply[0]))
        return withdrawn, out

    def message_time(self, msgid: str) -> tuple[float | None, float | None, bytes | None]:
        """(archive time, when this state first stored it, raw) of a stored
        message."""
        row = self.db.execute("SELECT archived, seen, raw FROM messages WHERE msgid = ?", (msgid,)).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    # -- threads and series ------------------------------------------------

    def open_threads(self) -> list[tuple[str, float]]:
        return list(self.db.execute("SELECT root, first_seen FROM threads WHERE open = 1 ORDER BY first_seen"))

    def thread_messages(self, root: str) -> list[bytes]:
        """The thread's messages, including replies whose References name only
        their parent (their root is then a message inside this thread)."""
        rows: dict[str, tuple[float, bytes]] = {}
        frontier = [root]
        while frontier:
            found = []
            for i in range(0, len(frontier), 500):  # SQLite caps the number of parameters
                chunk = frontier[i:i + 500]
                found += self.db.execute(
                    f"SELECT msgid, seen, raw FROM messages WHERE root IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()
            frontier = [m for m, _, _ in found if m not in rows and m != root]
            for msgid, seen, raw in found:
                rows.setdefault(msgid, (seen, raw))
        return [raw for _, (seen, raw) in sorted(rows.items(), key=lambda kv: (kv[1][0], kv[0]))]

    def close_thread(self, root: str) -> None:
        with self.db:
            self.db.execute("UPDATE threads SET open = 0 WHERE root = ?", (root,))

    def series_status(self, key: str) -> str | None:
        row = self.db.execute("SELECT status FROM series WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def decided_patches(self, key: str) -> set[str] | None:
        """The patches (Message-IDs) the decisions on series key and its
        later parts (key+...) covered; None when it is not decided. A
        decision recorded before the patches were kept covers all (it
        stands for whatever the series held)."""
        rows = self.db.execute("SELECT key, patches FROM series WHERE key = ? OR "
                               "(key > ? AND key < ?)", (key, key + "+", key + "," )).fetchall()
        if not rows:
            return None
        if any(patches is None for _, patches in rows):
            return {"*"}
        return {p for _, patches in rows for p in patches.split()}

    def decide(self, key: str, root: str, status: str, reason: str,
               replies: list[tuple[str, str, bytes]] = (), patches=()) -> None:
        """Record a decision and the replies it plans, in one transaction.
        A patch that already has a reply keeps it: never a second one."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT INTO series (key, root, status, reason, decided, patches) "
                            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE "
                            "SET status = excluded.status, reason = excluded.reason, decided = excluded.decided, "
                            "patches = excluded.patches",
                            (key, root, status, reason, time.time(), " ".join(sorted(patches))))
            for patch_msgid, name, raw in replies:
                self.db.execute("INSERT OR IGNORE INTO replies (patch_msgid, series_key, name, raw, state) "
                                "VALUES (?, ?, ?, ?, 'planned')", (patch_msgid, key, name, raw))

    def replied_patches(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT patch_msgid FROM replies")}

    # -- delivering ----------------------------------------------------------

    def planned(self, now: float | None = None) -> list[tuple[str, str, bytes]]:
        """Replies waiting for delivery (with now: only those whose retry
        time has come), oldest first."""
        if now is None:
            return list(self.db.execute(
                "SELECT patch_msgid, name, raw FROM replies WHERE state = 'planned' ORDER BY rowid"))
        return list(self.db.execute(
            "SELECT patch_msgid, name, raw FROM replies WHERE state = 'planned' "
            "AND (next_try IS NULL OR next_try <= ?) ORDER BY rowid", (now,)))

    def set_reply_state(self, patch_msgid: str, state: str, reason: str | None = None) -> None:
        assert state in REPLY_STATES
        with self.db:
            self.db.execute("UPDATE replies SET state = ?, delivered = ?, reason = COALESCE(?, reason) "
                            "WHERE patch_msgid = ?", (state, time.time(), reason, patch_msgid))

    def retry_later(self, patch_msgid: str, reason: str, now: float, backoff, max_attempts: int) -> str:
        """A delivery that certainly delivered nothing: planned again with
        the reason and a later retry time, or failed after max_attempts.
        Returns the new state."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute("SELECT attempts FROM replies WHERE patch_msgid = ?", (patch_msgid,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            state = "failed" if attempts >= max_attempts else "planned"
            self.db.execute("UPDATE replies SET state = ?, attempts = ?, next_try = ?, reason = ?, "
                            "delivered = NULL WHERE patch_msgid = ?",
                            (state, attempts, now + backoff(attempts), reason, patch_msgid))
        return state

    def sent_since(self, since: float) -> int:
        return self.db.execute("SELECT COUNT(*) FROM replies WHERE state IN ('sent', 'sending', 'maybe-sent') "
                               "AND delivered >= ?", (since,)).fetchone()[0]

    def status_lines(self, now: float, limit: int = 20) -> list[str]:
        """What `tdxbot watch --status` prints: where reading stands, the
        replies by state (planned with their retry time and last error,
        failed and maybe-sent with their reason), skipped series by reason
        and the skipped messages, newest first, at most limit of each."""
        def when(t) -> str:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "-"

        out = [f"state: {self.path}"]
        started = self.meta("started")
        if started:
            stamp, _, how = started.partition(" ")
            out.append(f"first run: {when(float(stamp))} ({how})")
        for epoch, commit in sorted(self.marks().items()):
            out.append(f"epoch {epoch}: read up to {commit[:12]}")
        stored = self.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        out.append(f"messages stored: {stored}")
        counts = dict(self.db.execute("SELECT state, COUNT(*) FROM replies GROUP BY state"))
        out.append("replies: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in REPLY_STATES))
        rows = self.db.execute(
            "SELECT patch_msgid, state, attempts, next_try, reason, delivered FROM replies "
            "WHERE state IN ('planned', 'failed', 'maybe-sent', 'sending', 'expired', 'withdrawn') "
            "ORDER BY state, rowid DESC").fetchall()
        for state in ("planned", "failed", "maybe-sent", "sending", "expired", "withdrawn"):
            mine = [r for r in rows if r[1] == state][:limit]
            if not mine:
                continue
            out.append(f"{state} replies:" if state != "sending" else "interrupted while sending (maybe sent):")
            for msgid, _, attempts, next_try, reason, delivered in mine:
                line = f"  <{printable(msgid)}>"
                if state == "planned" and attempts:
                    line += f" after {attempts} failed attempt(s), next try {when(next_try)}"
                elif state != "planned":
                    line += f" at {when(delivered)}"
                if reason:
                    line += f": {printable(reason)}"
                out.append(line)
        series = dict(self.db.execute("SELECT status, COUNT(*) FROM series GROUP BY status"))
        out.append("series: " + ", ".join(f"{n} {s}" for s, n in sorted(series.items())) if series
                   else "series: none decided yet")
        skipped = self.db.execute("SELECT key, reason, decided FROM series WHERE status = 'skipped' "
                                  "ORDER BY decided DESC LIMIT ?", (limit,)).fetchall()
        if skipped:
            out.append("skipped series (newest first):")
            out.extend(f"  {printable(key)}: {printable(reason or '')}" for key, reason, _ in skipped)
        bad = self.db.execute("SELECT epoch, commit_id, reason, seen FROM skipped ORDER BY rowid DESC LIMIT ?",
                              (limit,)).fetchall()
        total = self.db.execute("SELECT COUNT(*) FROM skipped").fetchone()[0]
        if bad:
            out.append(f"skipped messages ({total}, newest first):")
            out.extend(f"  epoch {epoch} commit {(commit or '?')[:12]}: {printable(reason)}"
                       for epoch, commit, reason, _ in bad)
        return out

    def counts(self) -> dict[str, int]:
        out = {}
        for status, n in self.db.execute("SELECT status, COUNT(*) FROM series GROUP BY status"):
            out[f"series {status}"] = n
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM replies GROUP BY state"):
            out[f"replies {state}"] = n
        return out


def has_diff(raw: bytes) -> bool:
    """Does a raw mail carry a diff (for choosing between two mails with one
    Message-ID)?"""
    import re

    return re.search(rb"(?m)^diff --git |^--- \S.*\r?\n\+\+\+ \S", raw) is not None


def state_error(path: str, exc: Exception) -> str:
    """One line for an SQLite error on the state file."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return f"{path}: the state file is read-only"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"{path}: not a usable tdxbot state file ({text}); move it aside to start afresh"
    if "unable to open" in text:
        return f"{path}: cannot open the state file ({text})"
    return f"{path}: state file error: {text}"
