#!/usr/bin/python3
"""confluent-kafka-python (librdkafka) driver for Fjord's compatibility tests.

Usage: echo '{"op": "produce", "bootstrap": "127.0.0.1:PORT", ...}' | /usr/bin/python3 ck.py
Prints one JSON object. The consume op uses assign() with explicit offsets, no group:
confluent-kafka-python requires a group.id even for assign(), so a dummy one is set with auto-commit
off. The group ops (group_member, committed, commit, list_groups) use the group coordinator;
group_member runs until told to stop on stdin and reports JSON events line by line meanwhile.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Deadline, StdinStop, emit, enc, main, out_record  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic  # noqa: E402
import confluent_kafka  # noqa: E402


def base_conf(req):
    conf = {"bootstrap.servers": req["bootstrap"], "broker.address.family": "v4"}
    conf.update(req.get("config", {}))
    return conf


def err_json(e):
    if e is None:
        return None
    if isinstance(e, KafkaException):
        e = e.args[0]
    if isinstance(e, KafkaError):
        return {"code": e.code(), "name": e.name(), "str": e.str()}
    return {"code": None, "name": type(e).__name__, "str": str(e)}


def op_version(req):
    return {"version": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}


def op_produce(req):
    conf = base_conf({"bootstrap": req["bootstrap"]})
    conf.update({
        "compression.codec": req.get("codec", "none"),
        "acks": str(req.get("acks", "all")),
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        "message.timeout.ms": 30000,
    })
    conf.update(req.get("config", {}))
    p = Producer(conf)
    deliveries = [None] * len(req["records"])

    def on_delivery(i):
        def cb(err, msg):
            if err is not None:
                deliveries[i] = {"i": i, "error": err_json(err)}
            else:
                deliveries[i] = {"i": i, "partition": msg.partition(), "offset": msg.offset(), "timestamp": msg.timestamp()[1], "error": None}
        return cb

    for i, r in enumerate(req["records"]):
        kwargs = {"value": enc(r["value"]), "key": enc(r["key"]), "on_delivery": on_delivery(i)}
        if r.get("headers"):
            kwargs["headers"] = [(k, enc(v)) for (k, v) in r["headers"]]
        if r.get("timestamp") is not None:
            kwargs["timestamp"] = r["timestamp"]
        if r.get("partition") is not None:
            kwargs["partition"] = r["partition"]
        while True:
            try:
                p.produce(req["topic"], **kwargs)
                break
            except BufferError:
                p.poll(0.05)
            except KafkaException as e:  # e.g. a client-side size check
                deliveries[i] = {"i": i, "error": err_json(e)}
                break
        p.poll(0)
    remaining = p.flush(req.get("flush_timeout", 60))
    return {"deliveries": deliveries, "not_delivered": remaining}


def op_consume(req):
    conf = base_conf({"bootstrap": req["bootstrap"]})
    conf.update({
        "group.id": "fjord-compat-assign-only",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "error",
        "fetch.wait.max.ms": 100,
    })
    conf.update(req.get("config", {}))
    c = Consumer(conf)
    digest = bool(req.get("digest"))
    hexed = bool(req.get("hex"))
    tps = []
    for a in req["assign"]:
        parts = a.get("partitions")
        if parts is None:
            md = c.list_topics(a["topic"], timeout=10)
            parts = sorted(md.topics[a["topic"]].partitions.keys())
        off = a.get("offset", "beginning")
        off = confluent_kafka.OFFSET_BEGINNING if off == "beginning" else int(off)
        for pt in parts:
            tps.append(TopicPartition(a["topic"], pt, off))
    c.assign(tps)
    pending = {(tp.topic, tp.partition) for tp in tps}
    records, errors = [], []
    deadline = Deadline(req.get("max_seconds", 60))
    max_records = req.get("max_records")
    while pending and not deadline.passed():
        if max_records is not None and len(records) >= max_records:
            break
        msg = c.poll(min(0.5, deadline.left()))
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                pending.discard((msg.topic(), msg.partition()))
            else:
                errors.append(err_json(msg.error()))
                if len(errors) > 50:
                    break
            continue
        if hexed:  # binary keys and values (e.g. __consumer_offsets); null stays null
            rec = out_record(msg.topic(), msg.partition(), msg.offset(), None, None, msg.headers(), msg.timestamp()[1])
            rec["key_hex"] = None if msg.key() is None else msg.key().hex()
            rec["value_hex"] = None if msg.value() is None else msg.value().hex()
        else:
            rec = out_record(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers(), msg.timestamp()[1], digest)
        records.append(rec)
    c.close()
    return {"records": records, "eof": not pending, "errors": errors}


def admin(req):
    return AdminClient(base_conf(req))


def wait_all(fs, timeout=30):
    out = {}
    for k, f in fs.items():
        try:
            f.result(timeout=timeout)
            out[str(k)] = None
        except Exception as e:  # KafkaException carrying the broker's error
            out[str(k)] = err_json(e)
    return out


def op_metadata(req):
    a = admin(req)
    md = a.list_topics(topic=req.get("topic"), timeout=15)
    return {
        "cluster_id": md.cluster_id,
        "controller_id": md.controller_id,
        "brokers": [{"id": b.id, "host": b.host, "port": b.port} for b in md.brokers.values()],
        "topics": {
            t.topic: {
                "error": err_json(t.error),
                "partitions": {
                    str(p.id): {"leader": p.leader, "replicas": list(p.replicas), "isrs": list(p.isrs), "error": err_json(p.error)}
                    for p in t.partitions.values()
                },
            }
            for t in md.topics.values()
        },
    }


def op_create_topics(req):
    a = admin(req)
    new = []
    for t in req["topics"]:
        if t.get("replica_assignment"):
            new.append(NewTopic(t["name"], len(t["replica_assignment"]), replica_assignment=t["replica_assignment"], config=t.get("config", {})))
        else:
            new.append(NewTopic(t["name"], t.get("num_partitions", 1), t.get("replication_factor", 1), config=t.get("config", {})))
    fs = a.create_topics(new, validate_only=bool(req.get("validate_only")), request_timeout=15, operation_timeout=10)
    return {"results": wait_all(fs)}


def op_delete_topics(req):
    a = admin(req)  # keep a reference: the futures fail with _DESTROY if the client is collected
    fs = a.delete_topics(req["topics"], request_timeout=15, operation_timeout=10)
    return {"results": wait_all(fs)}


def op_create_partitions(req):
    a = admin(req)
    fs = a.create_partitions([NewPartitions(t["topic"], t["total"]) for t in req["topics"]], request_timeout=15, operation_timeout=10,
                                      validate_only=bool(req.get("validate_only")))
    return {"results": wait_all(fs)}


def restype(t):
    return {"topic": ConfigResource.Type.TOPIC, "broker": ConfigResource.Type.BROKER}[t]


def entry_json(e):
    return {
        "value": e.value,
        "source": e.source if isinstance(e.source, int) else int(getattr(e.source, "value", -1)),
        "is_default": e.is_default,
        "is_read_only": e.is_read_only,
        "is_sensitive": e.is_sensitive,
        "synonyms": [{"name": s.name, "value": s.value, "source": int(getattr(s.source, "value", s.source))} for s in (e.synonyms.values() if isinstance(e.synonyms, dict) else e.synonyms)],
    }


def op_describe_configs(req):
    a = admin(req)
    out = {}
    errors = {}
    for r in req["resources"]:
        fs = a.describe_configs([ConfigResource(restype(r["type"]), r["name"])], request_timeout=15)
        for res, f in fs.items():
            try:
                entries = f.result(timeout=30)
                out[r["name"]] = {name: entry_json(e) for name, e in entries.items()}
            except Exception as e:
                errors[r["name"]] = err_json(e)
    return {"configs": out, "errors": errors}


def op_alter_configs(req):
    a = admin(req)
    resources = [ConfigResource(restype(r["type"]), r["name"], set_config=r["configs"]) for r in req["resources"]]
    fs = a.alter_configs(resources, request_timeout=15, validate_only=bool(req.get("validate_only")))
    out = {}
    for res, f in fs.items():
        try:
            f.result(timeout=30)
            out[res.name] = None
        except Exception as e:
            out[res.name] = err_json(e)
    return {"results": out}


def op_offsets(req):
    """offsets_for_times per query, plus the watermarks (ListOffsets earliest/latest) per partition."""
    conf = base_conf({"bootstrap": req["bootstrap"]})
    conf.update({"group.id": "fjord-compat-assign-only", "enable.auto.commit": False})
    c = Consumer(conf)
    out = []
    for q in req["queries"]:
        res = c.offsets_for_times([TopicPartition(q["topic"], q["partition"], q["timestamp"])], timeout=15)
        tp = res[0]
        out.append({"topic": tp.topic, "partition": tp.partition, "timestamp": q["timestamp"], "offset": tp.offset, "error": err_json(tp.error)})
    marks = {}
    for w in req.get("watermarks", []):
        low, high = c.get_watermark_offsets(TopicPartition(w["topic"], w["partition"]), timeout=15, cached=False)
        marks["%s:%d" % (w["topic"], w["partition"])] = [low, high]
    c.close()
    return {"offsets": out, "watermarks": marks}


def op_crash_producer(req):
    """Produce numbered records with acks=all until the stop file appears (bounded by count and time),
    appending one line per delivery report to ack_file as soon as it arrives."""
    conf = base_conf({"bootstrap": req["bootstrap"]})
    conf.update({
        "acks": "all",
        "linger.ms": 2,
        "message.timeout.ms": 120000,
        "retries": 1000000,
        "retry.backoff.ms": 50,
        "reconnect.backoff.ms": 20,
        "reconnect.backoff.max.ms": 200,
        "queue.buffering.max.messages": 20000,
    })
    conf.update(req.get("config", {}))
    nparts = req["partitions"]
    acks = open(req["ack_file"], "a", buffering=1)
    counts = {"acked": 0, "failed": 0}
    errors = {}

    def on_delivery(err, msg):
        i = int(msg.key().decode()[1:])
        if err is None:
            counts["acked"] += 1
            acks.write('{"i":%d,"p":%d,"o":%d,"t":%d}\n' % (i, msg.partition(), msg.offset(), int(time.time() * 1000)))
        else:
            counts["failed"] += 1
            errors[err.name()] = errors.get(err.name(), 0) + 1
            acks.write('{"i":%d,"error":"%s"}\n' % (i, err.name()))

    p = Producer(conf)
    deadline = Deadline(req.get("max_seconds", 60))
    i = 0
    pad = "x" * req.get("value_bytes", 100)
    while i < req.get("max_records", 1000000) and not deadline.passed() and not os.path.exists(req["stop_file"]):
        try:
            p.produce(req["topic"], key=("k%d" % i).encode(), value=("rec-%d|%s" % (i, pad)).encode(), partition=i % nparts, on_delivery=on_delivery)
            i += 1
        except BufferError:
            p.poll(0.02)
            continue
        if i % 100 == 0:
            p.poll(0)
            if req.get("rate_per_s"):
                time.sleep(100.0 / req["rate_per_s"])
    left = p.flush(req.get("flush_timeout", 90))
    acks.close()
    return {"produced": i, "acked": counts["acked"], "failed": counts["failed"], "errors": errors, "not_delivered": left}


def member_conf(req):
    """Consumer-group member settings shared by group_member and the one-shot group ops."""
    conf = base_conf({"bootstrap": req["bootstrap"]})
    conf.update({
        "group.id": req["group"],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": req.get("commit") == "auto",
        "session.timeout.ms": req.get("session_timeout_ms", 6000),
        "heartbeat.interval.ms": req.get("heartbeat_ms", 500),
        "max.poll.interval.ms": req.get("max_poll_interval_ms", 30000),
        "fetch.wait.max.ms": 100,
        "topic.metadata.refresh.interval.ms": 2000,
    })
    if req.get("strategy"):
        conf["partition.assignment.strategy"] = req["strategy"]
    if req.get("instance_id"):
        conf["group.instance.id"] = req["instance_id"]
    if req.get("client_id"):
        conf["client.id"] = req["client_id"]
    conf.update(req.get("config", {}))
    return conf


def op_group_member(req):
    """A subscribed group member that runs until stdin says stop (or closes), max_records are
    processed, or max_seconds pass. Events, one JSON line each: assigned/revoked/lost (with the whole
    current assignment in "now"), rec (a processed record; with commit=sync only once its offset is
    committed), commit_failed, error. The last line is {"ev": "closed", ...}.
    A record at offset >= limits[partition] is skipped: neither processed nor committed."""
    conf = member_conf(req)
    cooperative = "cooperative" in conf.get("partition.assignment.strategy", "")
    c = Consumer(conf)
    stop = StdinStop()
    current = set()
    topic = req["topic"]
    limits = {int(k): v for k, v in (req.get("limits") or {}).items()}
    commit = req.get("commit", "sync")
    process_s = req.get("process_ms", 0) / 1000.0
    counts = {"processed": 0, "commit_failed": 0, "rebalances": 0}

    def on_assign(consumer, parts):
        counts["rebalances"] += 1
        ps = {p.partition for p in parts}
        if cooperative:
            current.update(ps)
        else:
            current.clear()
            current.update(ps)
        emit({"ev": "assigned", "added": sorted(ps), "now": sorted(current)})

    def on_revoke(consumer, parts):
        ps = {p.partition for p in parts}
        if cooperative:
            current.difference_update(ps)
        else:
            current.clear()
        emit({"ev": "revoked", "removed": sorted(ps), "now": sorted(current)})

    def on_lost(consumer, parts):
        ps = {p.partition for p in parts}
        current.difference_update(ps)
        emit({"ev": "lost", "removed": sorted(ps), "now": sorted(current)})

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    emit({"ev": "started", "pid": os.getpid()})
    deadline = Deadline(req.get("max_seconds", 120))
    max_records = req.get("max_records")
    while not stop.is_set() and not deadline.passed():
        if max_records is not None and counts["processed"] >= max_records:
            break
        msg = c.poll(0.1)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() != KafkaError._PARTITION_EOF:
                emit({"ev": "error", "err": err_json(msg.error())})
            continue
        p, o = msg.partition(), msg.offset()
        if p in limits and o >= limits[p]:
            continue
        if process_s:
            time.sleep(process_s)
        if commit == "sync":
            try:
                res = c.commit(message=msg, asynchronous=False)
                bad = [tp for tp in (res or []) if tp.error is not None]
                if bad:
                    raise KafkaException(bad[0].error)
            except KafkaException as e:
                counts["commit_failed"] += 1
                emit({"ev": "commit_failed", "p": p, "o": o, "err": err_json(e)})
                try:  # not processed: read it again if the partition is still ours
                    c.seek(TopicPartition(topic, p, o))
                except KafkaException:
                    pass
                continue
        counts["processed"] += 1
        emit({"ev": "rec", "p": p, "o": o, "k": None if msg.key() is None else msg.key().decode(),
              "v": None if msg.value() is None else msg.value().decode()})
    emit({"ev": "closing"})
    c.close()
    return dict(counts, ev="closed", t=int(time.time() * 1000), now=sorted(current))


def op_committed(req):
    """Committed offsets of a group (OffsetFetch) without joining it; -1001 = none."""
    conf = member_conf(dict(req, commit="none"))
    c = Consumer(conf)
    tps = [TopicPartition(req["topic"], p) for p in req["partitions"]]
    res = c.committed(tps, timeout=req.get("timeout", 15))
    c.close()
    return {"offsets": {str(tp.partition): tp.offset for tp in res}, "errors": {str(tp.partition): err_json(tp.error) for tp in res if tp.error}}


def op_commit(req):
    """Commit offsets for a group without joining it (generation -1: the group must be empty)."""
    conf = member_conf(dict(req, commit="none"))
    c = Consumer(conf)
    tps = [TopicPartition(o["topic"], o["partition"], o["offset"]) for o in req["offsets"]]
    try:
        res = c.commit(offsets=tps, asynchronous=False)
        out = {"error": None, "partitions": {str(tp.partition): err_json(tp.error) for tp in res}}
    except KafkaException as e:
        out = {"error": err_json(e)}
    c.close()
    return out


def op_list_groups(req):
    """AdminClient.list_groups (ListGroups, then DescribeGroups per group): state, protocol and
    members with their raw assignment bytes (hex) for the test to decode."""
    a = admin(req)
    groups = a.list_groups(req.get("group"), timeout=req.get("timeout", 15))
    out = []
    for g in groups:
        out.append({
            "id": g.id, "error": err_json(g.error), "state": g.state, "protocol_type": g.protocol_type, "protocol": g.protocol,
            "broker": g.broker.id if g.broker is not None else None,
            "members": [{"id": m.id, "client_id": m.client_id, "client_host": m.client_host,
                         "metadata_hex": (m.metadata or b"").hex(), "assignment_hex": (m.assignment or b"").hex()} for m in g.members],
        })
    return {"groups": out}


def txn_err_json(e):
    """err_json plus librdkafka's classification of a transactional error."""
    out = err_json(e)
    ke = e.args[0] if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError) else e
    if isinstance(ke, KafkaError):
        out.update({"retriable": ke.retriable(), "abortable": ke.txn_requires_abort(), "fatal": ke.fatal()})
    return out


def op_txn_session(req):
    """An interactive transactional session: after the request line, one JSON command per stdin
    line ({"id": n, "op": ...}); each is answered with one line {"ev": "done", "id": n, ...}, with
    "error" (and whether it is retriable, abortable or fatal) when it failed. Producers are named
    ("p"), so two producers of one transactional.id can be interleaved (fencing). Commands:
    producer {name, transactional_id, config}, init, begin, produce {topic, records}, send_offsets
    {group, offsets: [{topic, partition, offset}]}, commit, abort, close, committed {group, topic,
    partitions, isolation}, exit."""
    producers = {}
    group_consumers = {}

    def group_metadata(group):
        if group not in group_consumers:
            conf = base_conf({"bootstrap": req["bootstrap"]})
            conf.update({"group.id": group, "enable.auto.commit": False})
            group_consumers[group] = Consumer(conf)
        return group_consumers[group].consumer_group_metadata()

    def run(cmd):
        op = cmd["op"]
        t = cmd.get("timeout", 30)
        if op == "producer":
            conf = base_conf({"bootstrap": req["bootstrap"]})
            conf.update({"transactional.id": cmd["transactional_id"], "linger.ms": 5, "message.timeout.ms": 30000})
            conf.update(cmd.get("config", {}))
            producers[cmd["name"]] = Producer(conf)
            return {}
        if op == "committed":
            conf = base_conf({"bootstrap": req["bootstrap"]})
            conf.update({"group.id": cmd["group"], "enable.auto.commit": False, "isolation.level": cmd.get("isolation", "read_committed")})
            c = Consumer(conf)
            try:
                res = c.committed([TopicPartition(cmd["topic"], pt) for pt in cmd["partitions"]], timeout=t)
                return {"offsets": {str(tp.partition): tp.offset for tp in res}, "errors": {str(tp.partition): err_json(tp.error) for tp in res if tp.error is not None}}
            finally:
                c.close()
        if op == "exit":
            return {}
        p = producers[cmd["p"]]
        if op == "init":
            p.init_transactions(t)
        elif op == "begin":
            p.begin_transaction()
        elif op == "produce":
            deliveries = []

            def cb(err, msg):
                deliveries.append({"error": err_json(err)} if err is not None else {"partition": msg.partition(), "offset": msg.offset(), "error": None})

            for r in cmd["records"]:
                kwargs = {"value": enc(r.get("value")), "key": enc(r.get("key")), "on_delivery": cb}
                if r.get("partition") is not None:
                    kwargs["partition"] = r["partition"]
                p.produce(cmd["topic"], **kwargs)
            if cmd.get("flush", True):
                left = p.flush(t)
                return {"deliveries": deliveries, "not_delivered": left}
            return {}
        elif op == "send_offsets":
            offsets = [TopicPartition(o["topic"], o["partition"], o["offset"]) for o in cmd["offsets"]]
            p.send_offsets_to_transaction(offsets, group_metadata(cmd["group"]), t)
        elif op == "commit":
            p.commit_transaction(t)
        elif op == "abort":
            p.abort_transaction(t)
        elif op == "close":
            p.flush(t)
            del producers[cmd["p"]]
        else:
            raise ValueError("unknown txn_session op %r" % op)
        return {}

    emit({"ev": "started", "pid": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            res = run(cmd)
            res.update({"ev": "done", "id": cmd["id"]})
        except Exception as e:  # KafkaException from the client, reported to the test
            res = {"ev": "done", "id": cmd["id"], "error": txn_err_json(e)}
        emit(res)
        if cmd["op"] == "exit":
            break
    for c in group_consumers.values():
        c.close()
    return {"ev": "closed"}


if __name__ == "__main__":
    main({
        "version": op_version,
        "produce": op_produce,
        "consume": op_consume,
        "metadata": op_metadata,
        "create_topics": op_create_topics,
        "delete_topics": op_delete_topics,
        "create_partitions": op_create_partitions,
        "describe_configs": op_describe_configs,
        "alter_configs": op_alter_configs,
        "offsets": op_offsets,
        "crash_producer": op_crash_producer,
        "group_member": op_group_member,
        "committed": op_committed,
        "commit": op_commit,
        "list_groups": op_list_groups,
        "txn_session": op_txn_session,
    })
