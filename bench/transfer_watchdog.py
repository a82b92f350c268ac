"""What the deadline watchdog costs: a loopback download with a BudgetClient vs a plain
httpx.Client, and many small requests on one keep-alive connection.

A local server (a child process) answers GET /big with `--size-mib` of zeros and GET /small
with 2 bytes. Each client reads /big (64 KiB reads, as the downloader does) and then makes
`--requests` small requests; the CPU time this process spends (the client's alone, so a busy
machine matters less) is measured, the best of `--rounds` runs of each kept. Target: the
BudgetClient (hooks, rate windows and the deadline watchdog) within 15 % of the plain client
on both. The last line is the result.

    .venv/bin/python bench/transfer_watchdog.py [--size-mib 512] [--requests 2000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lipforge.transfer import BudgetClient, TransferLimits  # noqa: E402

PIECE = 1024 * 1024


def serve(size_bytes: int, ports) -> None:
    zeros = bytes(PIECE)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else a small answer waits for a delayed ACK

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            size = size_bytes if self.path == "/big" else 2
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            left = size
            while left:
                piece = min(left, PIECE)
                self.wfile.write(zeros[:piece])
                left -= piece

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ports.put(server.server_address[1])
    server.serve_forever()


def run(client: httpx.Client, base: str, requests: int) -> tuple[float, float]:
    started = time.process_time()
    with client.stream("GET", f"{base}/big") as answer:
        for _chunk in answer.iter_raw(64 * 1024):
            pass
    big_s = time.process_time() - started
    started = time.process_time()
    for _ in range(requests):
        client.get(f"{base}/small").read()
    return big_s, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ports = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=serve, args=(args.size_mib * 1024 * 1024, ports), daemon=True
    )
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=30)}"
    limits = TransferLimits(deadline_s=3600.0, min_rate_bps=1024.0)
    best = {"plain": [float("inf")] * 2, "budget": [float("inf")] * 2}
    for _round in range(args.rounds):
        for name in best:
            client = httpx.Client(trust_env=False) if name == "plain" else None
            client = client or BudgetClient(limits, each_request=True, trust_env=False)
            with client:
                times = run(client, base, args.requests)
            best[name] = [min(a, b) for a, b in zip(best[name], times, strict=True)]
    server.terminate()
    mib_s = {name: args.size_mib / times[0] for name, times in best.items()}
    per_request_ms = {name: times[1] / args.requests * 1000 for name, times in best.items()}
    print(
        f"download, MiB per CPU second: plain {mib_s['plain']:.0f}, "
        f"BudgetClient {mib_s['budget']:.0f}"
    )
    print(
        f"small request, CPU ms: plain {per_request_ms['plain']:.3f}, "
        f"BudgetClient {per_request_ms['budget']:.3f}"
    )
    ratio_big = best["budget"][0] / best["plain"][0]
    ratio_small = best["budget"][1] / best["plain"][1]
    print(f"BudgetClient / plain CPU: download {ratio_big:.2f}x, requests {ratio_small:.2f}x")


if __name__ == "__main__":
    main()
