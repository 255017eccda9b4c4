"""Helpers shared by the Python client drivers (JSON in on stdin, JSON out on stdout)."""
import hashlib
import json
import sys
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


def main(ops):
    """Read {"op": ..., ...} from stdin, run ops[op], print its JSON result as the last line."""
    req = json.load(sys.stdin)
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
