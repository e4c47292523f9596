#!/usr/bin/env python3
"""Time writing a new file in blocks of several sizes: the page-cache cost of a download's writes.

usage: python benchmarks/write_sizes.py [--size-mib 1024] [--rounds 8] [--dir DIR]

Writes SIZE MiB of random bytes to a new file in DIR, in blocks of 16 KiB, 64 KiB, 256 KiB and
1 MiB, deletes it and syncs, ROUNDS times in turn, and prints every time. On a virtual machine
whose free memory returns to the host (free page reporting), big writes, which get large
page-cache folios, can be several times slower than others; `crunch download` writes in
blocks of at most crunch.transfer.download.WRITE_BLOCK.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Dict, List

SIZES = (16 << 10, 64 << 10, 256 << 10, 1 << 20)


def write_file(path: str, block: int, total: int) -> float:
    data = os.urandom(block)
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for _ in range(total // block):
            os.write(fd, data)
    finally:
        os.close(fd)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--dir", default=None, help="where to write (default: the temporary folder)")
    args = parser.parse_args()
    total = args.size_mib << 20
    times: Dict[int, List[float]] = {block: [] for block in SIZES}
    with tempfile.TemporaryDirectory(prefix="crunch-bench-write-", dir=args.dir) as folder:
        path = os.path.join(folder, "out.bin")
        for _ in range(args.rounds):
            for block in SIZES:
                times[block].append(write_file(path, block, total))
                os.unlink(path)
                os.sync()
    print(f"writing a new {args.size_mib} MiB file, {args.rounds} rounds (seconds):")
    for block, values in times.items():
        print(
            f"  blocks of {block >> 10:5} KiB: {' '.join(f'{t:.2f}' for t in values)}"
            f"   median {statistics.median(values):.2f}, worst {max(values):.2f}"
        )


if __name__ == "__main__":
    main()
