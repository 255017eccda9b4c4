#!/usr/bin/python3
"""confluent-kafka-python (librdkafka) processes for the exactly-once crash checker
(test/compat/eos-crash.test.ts, checks in test/harness/eos-checker.ts).

Usage: the first line of stdin is the request, {"op": ..., "bootstrap": ..., ...}; the last line of
stdout is the JSON result. The long-running ops take further lines on stdin:

- txn_producer: transactions of a few records over several partitions of several topics, each
  randomly committed or aborted, until stdin says "stop" (the current transaction is finished
  first), max_txns or max_seconds. Every step goes to log_file as one JSON line, written before the
  next step starts, so the log survives a kill -9 of this process:
    {"ev": "begin", "txn": N, "recs": [[topic, partition], ...]}    record k of the transaction is
        recs[k]; its value is "<name>/<N>/<k>/<len(recs)>", its key <name>
    {"ev": "commit", "txn": N}    commit_transaction() returned without an error
    {"ev": "abort", "txn": N, "why": ...}    abort_transaction() returned without an error: "chosen"
        (the coin said abort) or "after-error" (the transaction failed with an error that requires
        an abort, e.g. a failed commit; librdkafka then guarantees nothing of it was committed)
    {"ev": "unknown", "txn": N, "err": ...}    anything else (fatal error, timeouts, a failed
        abort): the outcome is not known; the producer instance is replaced (init_transactions
        with the same transactional.id fences the old epoch and completes or aborts the transaction)
  A transaction with a "begin" and no outcome line (the process was killed) is unknown as well.
- reader: a read_committed consumer (assign() of every partition from the beginning, or subscribe()
  in a group) writing every record it polls to log_file as [topic, partition, offset, value].
  A stdin line {"targets": {"topic:partition": offset}} asks it to finish once it has read a record
  at or beyond each target offset (bounded by drain_seconds); "stop" closes it at once.
- final_read: every partition from the beginning to the end (partition EOF) at the isolation level
  asked, records to log_file.
"""
import json
import logging
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Deadline, main  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
import confluent_kafka  # noqa: E402


def err_json(e):
    if isinstance(e, KafkaException):
        e = e.args[0]
    if isinstance(e, KafkaError):
        return {"code": e.code(), "name": e.name(), "str": e.str(), "fatal": e.fatal(), "retriable": e.retriable(),
                "abortable": e.txn_requires_abort()}
    return {"code": None, "name": type(e).__name__, "str": str(e)}


class Stdin:
    """Reads stdin lines in a thread: "stop" (or end of file) sets stop; a JSON line with
    "targets" sets targets."""

    def __init__(self):
        self.stop = threading.Event()
        self.targets = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            line = sys.stdin.readline()
            if line == "" or line.strip() == "stop":
                self.stop.set()
                return
            line = line.strip()
            if line.startswith("{"):
                msg = json.loads(line)
                if "targets" in msg:
                    self.targets = msg["targets"]


class Log:
    """A JSON-lines file, flushed after every line (the test reads it while we run and after a kill)."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def write(self, obj):
        self.f.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def close(self):
        self.f.close()


# ------------------------------------------------------------------------------------------------
# Transactional producer


class TxnFailed(Exception):
    """A transaction could not be completed as planned; `outcome` is "abort" or "unknown"."""

    def __init__(self, outcome, err, why=None):
        super().__init__(err)
        self.outcome = outcome
        self.err = err
        self.why = why


def retrying(call, deadline, what, log):
    """Run a transactional call, retrying it while librdkafka says the error is retriable (e.g. a
    timeout while the broker restarts) and time is left; other errors propagate."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except KafkaException as e:
            err = e.args[0]
            if isinstance(err, KafkaError) and err.retriable() and not err.fatal() and not err.txn_requires_abort() and not deadline.passed():
                log.write({"ev": "retry", "what": what, "attempt": attempt, "err": err_json(err)})
                time.sleep(0.05)
                continue
            raise


def op_txn_producer(req):
    rng = random.Random(req.get("seed", 1))
    name = req["name"]
    tid = req["transactional_id"]
    topics = req["topics"]  # {"topic": partitions}
    all_parts = [(t, p) for t in sorted(topics) for p in range(topics[t])]
    log = Log(req["log_file"])
    stdin = Stdin()
    deadline = Deadline(req.get("max_seconds", 60))
    op_s = req.get("op_timeout_ms", 10000) / 1000.0
    abort_ratio = req.get("abort_ratio", 0.3)
    rec_min, rec_max = req.get("records_min", 2), req.get("records_max", 6)
    pause_s = req.get("pause_ms", 5) / 1000.0
    conf = {
        "bootstrap.servers": req["bootstrap"],
        "broker.address.family": "v4",
        "client.id": name,
        "transactional.id": tid,
        "transaction.timeout.ms": req.get("transaction_timeout_ms", 10000),
        "message.timeout.ms": req.get("transaction_timeout_ms", 10000),
        "linger.ms": 1,
        "retry.backoff.ms": 50,
        "reconnect.backoff.ms": 20,
        "reconnect.backoff.max.ms": 250,
        "socket.connection.setup.timeout.ms": 3000,
    }
    conf.update(req.get("config", {}))
    if req.get("debug"):
        # librdkafka's own account (e.g. "eos"), to log_file + ".debug", for investigating an anomaly.
        handler = logging.FileHandler(req["log_file"] + ".debug")
        handler.setFormatter(logging.Formatter("%(created).3f %(message)s"))
        logger = logging.getLogger("rdkafka")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        conf.update({"debug": req["debug"], "logger": logger})
    counts = {"commit": 0, "abort": 0, "unknown": 0, "instances": 0, "init_failures": 0}
    log.write({"ev": "start", "pid": os.getpid(), "name": name, "tid": tid, "client": "confluent-kafka-python %s / librdkafka %s" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0])})

    def delivered(state):
        def cb(err, msg):
            if err is not None:
                state["errors"].append(err_json(err))
        return cb

    def new_producer():
        """A producer instance with its transactions initialised (fencing earlier instances)."""
        while not deadline.passed():
            counts["instances"] += 1
            p = Producer(conf)
            try:
                retrying(lambda: p.init_transactions(op_s), deadline, "init_transactions", log)
                log.write({"ev": "init", "instance": counts["instances"]})
                return p
            except KafkaException as e:
                counts["init_failures"] += 1
                log.write({"ev": "init_failed", "instance": counts["instances"], "err": err_json(e)})
                drop(p)
                time.sleep(0.2)
        return None

    def drop(p):
        try:
            p.purge()
            p.flush(0)
        except Exception:
            pass

    p = new_producer()
    txn = 0
    while p is not None and not stdin.stop.is_set() and not deadline.passed() and txn < req.get("max_txns", 1000000):
        txn += 1
        n = rng.randint(rec_min, rec_max)
        # At least two distinct partitions per transaction, usually of different topics.
        parts = rng.sample(all_parts, min(len(all_parts), max(2, rng.randint(2, n))))
        recs = [parts[k % len(parts)] for k in range(n)]
        rng.shuffle(recs)
        choice = "abort" if rng.random() < abort_ratio else "commit"
        log.write({"ev": "begin", "txn": txn, "recs": [[t, pt] for (t, pt) in recs], "plan": choice})
        state = {"errors": []}
        try:
            try:
                p.begin_transaction()
                for k, (t, pt) in enumerate(recs):
                    value = ("%s/%d/%d/%d" % (name, txn, k, n)).encode()
                    while True:
                        try:
                            p.produce(t, key=name.encode(), value=value, partition=pt, on_delivery=delivered(state))
                            break
                        except BufferError:
                            p.poll(0.01)
                p.poll(0)
                if choice == "commit":
                    retrying(lambda: p.commit_transaction(op_s), Deadline(3 * op_s), "commit_transaction", log)
                    p.poll(0)
                    log.write({"ev": "commit", "txn": txn})
                    counts["commit"] += 1
                else:
                    retrying(lambda: p.abort_transaction(op_s), Deadline(3 * op_s), "abort_transaction", log)
                    p.poll(0)
                    log.write({"ev": "abort", "txn": txn, "why": "chosen"})
                    counts["abort"] += 1
            except KafkaException as e:
                err = e.args[0]
                if isinstance(err, KafkaError) and err.txn_requires_abort() and not err.fatal():
                    try:
                        retrying(lambda: p.abort_transaction(op_s), Deadline(3 * op_s), "abort_transaction", log)
                    except KafkaException as e2:
                        raise TxnFailed("unknown", {"first": err_json(err), "abort": err_json(e2)})
                    raise TxnFailed("abort", err_json(err), "after-error")
                raise TxnFailed("unknown", err_json(err))
        except TxnFailed as f:
            if f.outcome == "abort":
                log.write({"ev": "abort", "txn": txn, "why": f.why, "err": f.err, "deliveries": state["errors"][:3]})
                counts["abort"] += 1
            else:
                log.write({"ev": "unknown", "txn": txn, "err": f.err, "deliveries": state["errors"][:3]})
                counts["unknown"] += 1
                drop(p)
                p = new_producer()
        if pause_s:
            time.sleep(rng.random() * pause_s)
    if p is not None:
        p.flush(5)
    log.write({"ev": "end", "txns": txn})
    log.close()
    return dict(counts, txns=txn, name=name)


# ------------------------------------------------------------------------------------------------
# Readers


def partitions_of(topics):
    return [(t, p) for t in sorted(topics) for p in range(topics[t])]


def reader_conf(req, group):
    conf = {
        "bootstrap.servers": req["bootstrap"],
        "broker.address.family": "v4",
        "client.id": req.get("name", "reader"),
        "group.id": group,
        "isolation.level": req.get("isolation", "read_committed"),
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "reconnect.backoff.ms": 20,
        "reconnect.backoff.max.ms": 250,
        "topic.metadata.refresh.interval.ms": 2000,
    }
    conf.update(req.get("config", {}))
    return conf


def op_reader(req):
    """A read_committed reader that runs until told to finish (see the module comment)."""
    topics = req["topics"]
    mode = req.get("mode", "assign")
    if mode == "assign":
        conf = reader_conf(req, "fjord-eos-assign-only")
        conf.update({"enable.auto.commit": False, "enable.auto.offset.store": False})
    else:
        conf = reader_conf(req, req["group"])
        conf.update({"enable.auto.commit": True, "auto.commit.interval.ms": 500, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    c = Consumer(conf)
    if mode == "assign":
        c.assign([TopicPartition(t, p, confluent_kafka.OFFSET_BEGINNING) for (t, p) in partitions_of(topics)])
    else:
        c.subscribe(sorted(topics))
    log = Log(req["log_file"])
    stdin = Stdin()
    deadline = Deadline(req.get("max_seconds", 120))
    drain_deadline = None
    seen_max = {}
    counts = {"records": 0, "errors": 0}
    errors = {}
    reached = False
    while not stdin.stop.is_set() and not deadline.passed():
        if stdin.targets is not None:
            if drain_deadline is None:
                drain_deadline = Deadline(req.get("drain_seconds", 20))
            if all(seen_max.get(k, -1) >= off for k, off in stdin.targets.items()):
                reached = True
                break
            if drain_deadline.passed():
                break
        msg = c.poll(0.1)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() != KafkaError._PARTITION_EOF:
                counts["errors"] += 1
                n = msg.error().name()
                errors[n] = errors.get(n, 0) + 1
            continue
        t, p, o = msg.topic(), msg.partition(), msg.offset()
        v = None if msg.value() is None else msg.value().decode("utf-8", "replace")
        log.write([t, p, o, v])
        counts["records"] += 1
        k = "%s:%d" % (t, p)
        if o > seen_max.get(k, -1):
            seen_max[k] = o
    missing = {}
    if stdin.targets is not None:
        missing = {k: [seen_max.get(k, -1), off] for k, off in stdin.targets.items() if seen_max.get(k, -1) < off}
    c.close()
    log.close()
    return dict(counts, ev="closed", reached=reached, missing=missing, error_names=errors)


def op_final_read(req):
    """Every partition from the beginning to the end, at req["isolation"]."""
    topics = req["topics"]
    conf = reader_conf(req, "fjord-eos-final-read")
    conf.update({"enable.auto.commit": False, "enable.auto.offset.store": False, "enable.partition.eof": True})
    c = Consumer(conf)
    tps = partitions_of(topics)
    c.assign([TopicPartition(t, p, confluent_kafka.OFFSET_BEGINNING) for (t, p) in tps])
    pending = set(tps)
    log = Log(req["log_file"])
    deadline = Deadline(req.get("max_seconds", 30))
    n = 0
    errors = []
    while pending and not deadline.passed():
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                pending.discard((msg.topic(), msg.partition()))
            elif len(errors) < 20:
                errors.append(err_json(msg.error()))
            continue
        v = None if msg.value() is None else msg.value().decode("utf-8", "replace")
        log.write([msg.topic(), msg.partition(), msg.offset(), v])
        n += 1
    c.close()
    log.close()
    return {"records": n, "eof": not pending, "pending": ["%s:%d" % tp for tp in sorted(pending)], "errors": errors}


if __name__ == "__main__":
    main({
        "txn_producer": op_txn_producer,
        "reader": op_reader,
        "final_read": op_final_read,
    })
