#!/usr/bin/env python3
"""What each commit in a SQLite WAL wrote, by table and index.

A capture commit's cost is mostly the pages it writes to the WAL, so this counts, over the commits still in the WAL,
how many pages of each B-tree (table or index) a commit wrote on average, and the average step payload. Use it on a
copy of a store taken while its writer was running, for example the proxy bench's:

    dotnet run -c Release --project bench/Lore.Benchmarks -- proxy --arms lore --clients 16 --seconds 6 --rounds 1 --keep-store /tmp/kept
    python3 bench/tools/wal-pages.py /tmp/kept/bench.db

It opens a scratch copy (the store's own files are never written) and needs Python's sqlite3 built with dbstat.
"""
import collections
import shutil
import sqlite3
import struct
import sys
import tempfile
from pathlib import Path


WAL_MAGIC = (0x377F0682, 0x377F0683)


def frames(wal: bytes):
    """(page number, commit marker) of each valid frame, stopping at the first frame of an older WAL generation."""
    magic, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", wal[:32])
    offset = 32
    while offset + 24 + page_size <= len(wal):
        page, commit, frame_salt1, frame_salt2 = struct.unpack(">IIII", wal[offset:offset + 16])
        if (frame_salt1, frame_salt2) != (salt1, salt2):
            return
        yield page, commit
        offset += 24 + page_size


def main(path: str) -> int:
    source = Path(path)
    wal_path = Path(str(source) + "-wal")
    if not source.is_file() or not wal_path.is_file():
        print(f"{source}: needs the database and its -wal file beside it", file=sys.stderr)
        return 2

    wal = wal_path.read_bytes()
    if len(wal) < 32 or struct.unpack(">I", wal[:4])[0] not in WAL_MAGIC:
        print(f"{wal_path}: not a SQLite WAL file (no WAL header)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / source.name
        shutil.copy(source, copy)
        shutil.copy(wal_path, str(copy) + "-wal")
        commits, current = [], []
        for page, commit in frames(wal):
            current.append(page)
            if commit:
                commits.append(current)
                current = []
        if not commits:
            print("no whole commit in the WAL", file=sys.stderr)
            return 1

        connection = sqlite3.connect(copy)
        try:
            owner = {page: name for name, page in connection.execute("SELECT name, pageno FROM dbstat")}
        except sqlite3.DatabaseError as error:
            print(f"{source}: cannot be read as a SQLite database with its WAL ({error})", file=sys.stderr)
            return 2
        counts = collections.Counter(owner.get(page, "?") for commit in commits for page in commit)
        print(f"{len(commits)} commits in the WAL, {sum(map(len, commits)) / len(commits):.1f} pages each on average")
        for name, count in counts.most_common():
            print(f"  {name:40s} {count / len(commits):6.2f} pages per commit")
        steps = connection.execute("SELECT COUNT(*), AVG(LENGTH(payload)) FROM steps").fetchone()
        if steps[0]:
            print(f"steps: {steps[0]}, payload {steps[1]:.0f} bytes on average")
        connection.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: wal-pages.py PATH-TO-DATABASE (its -wal file beside it)", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
