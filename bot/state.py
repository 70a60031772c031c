"""The responder's memory, in SQLite (WAL, one transaction per decision).

Crash safety comes from the order of things: a message and the epoch mark
that passes it are stored together; a reply is planned (stored with its
final bytes and a fixed file name) before it is delivered, delivered in a
way that can be repeated without a second copy (a maildir file under that
fixed name), and marked delivered afterwards. A run killed anywhere redoes
at most the last step, and redoing it changes nothing.
"""
from __future__ import annotations

import os
import sqlite3
import time

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
"""


def default_path() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "tdxbot", "watch.sqlite3")


class State:
    def __init__(self, path: str):
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- reading the archive ---------------------------------------------

    def marks(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT epoch, commit_id FROM marks"))

    def ingest(self, epoch: int, commit: str, message: tuple | None) -> None:
        """Store one message (or none) and move the epoch mark past it, together."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if message is not None:
                msgid, root, raw, is_patch = message
                inserted = self.db.execute(
                    "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?)",
                    (msgid, root, raw, int(is_patch), now)).rowcount
                if inserted:
                    self.db.execute(
                        "INSERT INTO threads VALUES (?, ?, ?, 1) ON CONFLICT(root) DO UPDATE "
                        "SET updated = excluded.updated, open = 1", (root, now, now))
            self.db.execute("INSERT INTO marks VALUES (?, ?) ON CONFLICT(epoch) DO UPDATE "
                            "SET commit_id = excluded.commit_id", (epoch, commit))

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

    def decide(self, key: str, root: str, status: str, reason: str,
               replies: list[tuple[str, str, bytes]] = ()) -> None:
        """Record a decision and the replies it plans, in one transaction.
        A patch that already has a reply keeps it: never a second one."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT INTO series VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE "
                            "SET status = excluded.status, reason = excluded.reason, decided = excluded.decided",
                            (key, root, status, reason, time.time()))
            for patch_msgid, name, raw in replies:
                self.db.execute("INSERT OR IGNORE INTO replies VALUES (?, ?, ?, ?, 'planned', NULL)",
                                (patch_msgid, key, name, raw))

    def replied_patches(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT patch_msgid FROM replies")}

    # -- delivering ----------------------------------------------------------

    def planned(self) -> list[tuple[str, str, bytes]]:
        return list(self.db.execute(
            "SELECT patch_msgid, name, raw FROM replies WHERE state = 'planned' ORDER BY rowid"))

    def set_reply_state(self, patch_msgid: str, state: str) -> None:
        with self.db:
            self.db.execute("UPDATE replies SET state = ?, delivered = ? WHERE patch_msgid = ?",
                            (state, time.time(), patch_msgid))

    def sent_since(self, since: float) -> int:
        return self.db.execute("SELECT COUNT(*) FROM replies WHERE state IN ('sent', 'sending') "
                               "AND delivered >= ?", (since,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        out = {}
        for status, n in self.db.execute("SELECT status, COUNT(*) FROM series GROUP BY status"):
            out[f"series {status}"] = n
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM replies GROUP BY state"):
            out[f"replies {state}"] = n
        return out
