"""Baseline for `make bench` (rate limits): the Python `limits` library's fixed-window
strategy on Redis, single client and 16 concurrent clients. Prints one JSON line per mode:
decisions/s, p99 latency in ms, and round trips per decision measured with CLIENT LIST's
command counter when available, else from INFO commandstats.
"""
import json
import sys
import threading
import time

import redis
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

URL = sys.argv[1]
DECISIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 20000


def total_calls(client):
    stats = client.info("commandstats")
    return sum(entry["calls"] for name, entry in stats.items() if name != "cmdstat_info")


def run(threads):
    storage = storage_from_string(URL)
    limiter = FixedWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(1_000_000_000)
    per_thread = DECISIONS // threads
    latencies = [[] for _ in range(threads)]

    def work(index):
        for i in range(per_thread):
            started = time.perf_counter()
            limiter.hit(item, "user", str(index * 1000 + i % 50))
            latencies[index].append((time.perf_counter() - started) * 1000)

    admin = redis.Redis.from_url(URL)
    admin.config_resetstat()
    before = total_calls(admin)
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    calls = total_calls(admin) - before
    flat = sorted(ms for per in latencies for ms in per)
    decisions = per_thread * threads
    print(json.dumps({
        "clients": threads,
        "decisions_per_sec": decisions / elapsed,
        "p99_ms": flat[int(len(flat) * 0.99)],
        "commands_per_decision": calls / decisions,
    }))


for threads in (1, 16):
    run(threads)
