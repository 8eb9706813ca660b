"""Send and consume rates of localyun's RocketMQ TCP data plane with the C++ client (PyPI `rocketmq`), 100-byte
bodies, one topic with 8 queues, one producer (synchronous sends) and one push consumer. Not part of the test
run: `python tests/clients/rocketmq/bench.py [N]` with LOCALYUN_BIN pointing at a release build. Prints a
Markdown table for BENCHMARKS.md ("RocketMQ data plane")."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rocketmq.client import Message, PushConsumer  # noqa: E402
from rocketmq.ffi import _CConsumeStatus as ConsumeStatus  # noqa: E402

from rocketmq_clients import Server, producer  # noqa: E402

N = (int(sys.argv[1]) if len(sys.argv) > 1 else 20_000) // 32 * 32  # whole batches
BODY = b"x" * 100


def send(server, count, batch=False):
    p = producer(server, "GID_bench_producer")
    t = time.perf_counter()
    try:
        if batch:
            for _ in range(count // 32):
                msgs = []
                for _ in range(32):
                    m = Message("T_py")
                    m.set_body(BODY)
                    msgs.append(m)
                p.send_batch(msgs)
        else:
            for _ in range(count):
                m = Message("T_py")
                m.set_body(BODY)
                p.send_sync(m)
        return count / (time.perf_counter() - t)
    finally:
        p.shutdown()


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

    c = PushConsumer("GID_py")
    c.set_namesrv_addr(server.name_server)
    c.set_thread_count(4)
    c.subscribe("T_py", on_message)
    t = time.perf_counter()
    c.start()
    done.wait(120)
    print(f"consumed {got[0]}", file=sys.stderr)
    rate = got[0] / (time.perf_counter() - t)
    c.shutdown()
    return rate


def main():
    s = Server().start()
    try:
        # The group subscribes first (so it starts at the head), then leaves; the backlog is consumed later.
        c = PushConsumer("GID_py")
        c.set_namesrv_addr(s.name_server)
        c.subscribe("T_py", lambda m: ConsumeStatus.CONSUME_SUCCESS)
        c.start()
        time.sleep(2)
        c.shutdown()
        sync_rate = send(s, N)
        print(f"send_sync: {sync_rate:,.0f}/s", file=sys.stderr)
        batch_rate = send(s, N, batch=True)
        print(f"send_batch: {batch_rate:,.0f}/s", file=sys.stderr)
        consume_rate = consume(s, 2 * N)
        print(f"| measure | messages | rate (msg/s) |\n|---|---|---|")
        print(f"| send_sync, 1 producer | {N} | {sync_rate:,.0f} |")
        print(f"| send_batch (32 per batch), 1 producer | {N} | {batch_rate:,.0f} |")
        print(f"| push consumer (4 threads), backlog | {2 * N} | {consume_rate:,.0f} |")
    finally:
        s.stop()


if __name__ == "__main__":
    main()
