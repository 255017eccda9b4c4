"""Helpers shared by the Python client drivers (JSON in on stdin, JSON out on stdout)."""
import hashlib
import json
import sys
import threading
import time
import traceback

BIG_UNIT = "|0123456789abcdefghijklmnopqrstuvwxyz|"


def big_value(seed, length):
    """Deterministic large value; test/harness/records.ts bigValue() builds the same bytes."""
    unit = "%s%s" % (seed, BIG_UNIT)
    reps = length // len(unit) + 1
    return (unit * reps)[:length].encode("ascii")


def enc(v):
    """A JSON value -> bytes for the wire: null, a UTF-8 string, or {"seed", "len"} for big values."""
    if v is None:
        return None
    if isinstance(v, dict):
        return big_value(v["seed"], v["len"])
    return v.encode("utf-8")


def dec(b, digest=False):
    if b is None:
        return None
    if digest:
        return None
    return b.decode("utf-8")


def out_record(topic, partition, offset, key, value, headers, timestamp, digest=False):
    rec = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": dec(key),
        "value": dec(value, digest),
        "headers": [[k, None if v is None else v.decode("utf-8")] for (k, v) in (headers or [])],
        "timestamp": timestamp,
    }
    if digest and value is not None:
        rec["value_len"] = len(value)
        rec["value_sha256"] = hashlib.sha256(value).hexdigest()
    return rec


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return max(0.0, self.end - time.monotonic())

    def passed(self):
        return time.monotonic() >= self.end


_emit_lock = threading.Lock()


def emit(obj):
    """One JSON event line on stdout, now (long-running ops report progress this way)."""
    obj.setdefault("t", int(time.time() * 1000))
    line = json.dumps(obj) + "\n"
    with _emit_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


class StdinStop:
    """Set once stdin says "stop" or reaches end of file: how the test asks a long-running op to
    finish (other lines are ignored)."""

    def __init__(self):
        self.event = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            line = sys.stdin.readline()
            if line == "" or line.strip() == "stop":
                self.event.set()
                return

    def is_set(self):
        return self.event.is_set()


def main(ops):
    """Read {"op": ..., ...} as the first line of stdin (the rest stays readable by the op), run
    ops[op], print its JSON result as the last line."""
    req = json.loads(sys.stdin.readline())
    op = req.get("op")
    if op not in ops:
        print(json.dumps({"fatal": "unknown op %r" % op}))
        sys.exit(2)
    try:
        result = ops[op](req)
    except Exception as e:  # report, with the traceback on stderr, and fail the run
        traceback.print_exc()
        print(json.dumps({"fatal": "%s: %s" % (type(e).__name__, e)}))
        sys.exit(3)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
