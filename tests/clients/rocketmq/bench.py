"""Send and consume rates of localyun's RocketMQ TCP data plane with the C++ client (PyPI `rocketmq`), 100-byte
bodies, one topic with 8 queues, one producer and one push consumer, in memory and with `--data-dir` (every
acknowledged send on disk: written to the instance's message log and fsynced before the answer).

Not part of the test run. From the repository root, after `cargo build --release` and
`bash tests/clients/rocketmq/run.sh` (which makes .venv with the client):

    LOCALYUN_BIN=target/release/localyun .venv/bin/python tests/clients/rocketmq/bench.py [N]

N messages per send measure (default 20,000). Prints a Markdown table for BENCHMARKS.md ("RocketMQ data
plane"). `send_sync` is measured over the first and the second half of its messages separately: with
`--data-dir` a send costs the same whether 0 or N messages are stored, so both halves should run at the same
rate.
"""
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rocketmq.client import Message, PushConsumer  # noqa: E402
from rocketmq.ffi import _CConsumeStatus as ConsumeStatus  # noqa: E402

from rocketmq_clients import Server, producer  # noqa: E402

N = (int(sys.argv[1]) if len(sys.argv) > 1 else 20_000) // 64 * 64  # whole batches, even halves
BODY = b"x" * 100
TOPIC, GROUP = "T_bench", "GID_bench"


def send_sync(p, count):
    t = time.perf_counter()
    for _ in range(count):
        m = Message(TOPIC)
        m.set_body(BODY)
        p.send_sync(m)
    return count / (time.perf_counter() - t)


def send_batch(p, count):
    t = time.perf_counter()
    for _ in range(count // 32):
        msgs = []
        for _ in range(32):
            m = Message(TOPIC)
            m.set_body(BODY)
            msgs.append(m)
        p.send_batch(msgs)
    return count / (time.perf_counter() - t)


def consume(server, count):
    got = [0]
    done = threading.Event()
    lock = threading.Lock()

    def on_message(_msg):
        with lock:
            got[0] += 1
            if got[0] >= count:
                done.set()
        return ConsumeStatus.CONSUME_SUCCESS

    c = PushConsumer(GROUP)
    c.set_namesrv_addr(server.name_server)
    c.set_thread_count(4)
    c.subscribe(TOPIC, on_message)
    t = time.perf_counter()
    c.start()
    done.wait(180)
    rate = got[0] / (time.perf_counter() - t)
    c.shutdown()
    if got[0] < count:
        print(f"only {got[0]} of {count} consumed", file=sys.stderr)
    return rate


def fsync_rate(directory, count=1000):
    """Appends of 600 bytes (about one send's record), each followed by fdatasync, in `directory`: the disk's
    own bound on one-at-a-time durable sends, measured in the same run (a shared machine varies a lot)."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        t = time.perf_counter()
        for _ in range(count):
            os.write(fd, b"y" * 600)
            os.fdatasync(fd)
        return count / (time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)


def run(data_dir):
    s = Server(data_dir).start()
    try:
        # The group subscribes first (so it starts at the head), then leaves; the backlog is consumed later.
        c = PushConsumer(GROUP)
        c.set_namesrv_addr(s.name_server)
        c.subscribe(TOPIC, lambda m: ConsumeStatus.CONSUME_SUCCESS)
        c.start()
        time.sleep(2)
        c.shutdown()
        p = producer(s, "GID_bench_producer")
        try:
            first = send_sync(p, N // 2)
            second = send_sync(p, N // 2)
            batch = send_batch(p, N)
        finally:
            p.shutdown()
        drained = consume(s, 2 * N)
        return first, second, batch, drained
    finally:
        s.stop()


def main():
    rows = {}
    probe = {}
    for mode in ("memory", "--data-dir"):
        data_dir = tempfile.mkdtemp(prefix="localyun-rmq-bench-") if mode != "memory" else None
        try:
            probe[mode] = fsync_rate(data_dir or tempfile.gettempdir())
            rows[mode] = run(data_dir)
        finally:
            if data_dir:
                shutil.rmtree(data_dir, ignore_errors=True)
        print(f"{mode}: " + ", ".join(f"{r:,.0f}" for r in rows[mode]), file=sys.stderr)
    print("| measure | messages | memory (msg/s) | --data-dir (msg/s) |")
    print("|---|---|---|---|")
    labels = [
        (f"`send_sync`, 1 producer, messages 1 to {N // 2}", N // 2),
        (f"`send_sync`, 1 producer, messages {N // 2 + 1} to {N}", N // 2),
        ("`send_batch`, 32 per batch, 1 producer", N),
        ("push consumer (4 threads), backlog", 2 * N),
    ]
    for i, (label, count) in enumerate(labels):
        print(f"| {label} | {count:,} | {rows['memory'][i]:,.0f} | {rows['--data-dir'][i]:,.0f} |")
    print(f"| (disk probe: 600-byte append + fdatasync, before each run) | 1,000 | {probe['memory']:,.0f} "
          f"| {probe['--data-dir']:,.0f} |")


if __name__ == "__main__":
    main()
