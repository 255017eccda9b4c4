#!/usr/bin/python3
"""kafka-python driver for Fjord's compatibility tests.

Usage: echo '{"op": "produce", "bootstrap": "127.0.0.1:PORT", ...}' | /usr/bin/python3 kp.py
Prints one JSON object. The broker version is auto-detected as users do (kafka-python infers it from
ApiVersions). The consume op uses assign() without a group; group_member subscribes (see ck.py).
kafka-python 2.0.2 has no admin call for IncrementalAlterConfigs, DeleteRecords or OffsetDelete, so
those are sent as requests defined here on top of kafka-python's own protocol structs and sent
through its client.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Deadline, StdinStop, emit, enc, main, out_record  # noqa: E402

import kafka  # noqa: E402
import kafka.errors as Errors  # noqa: E402
from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition  # noqa: E402
from kafka.coordinator.assignors.range import RangePartitionAssignor  # noqa: E402
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic  # noqa: E402
from kafka.codec import has_gzip, has_lz4, has_snappy, has_zstd  # noqa: E402
from kafka.protocol.api import Request, Response  # noqa: E402
from kafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Int64, Schema, String  # noqa: E402


class IncrementalAlterConfigsResponse_v0(Response):
    API_KEY = 44
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("resources", Array(("error_code", Int16), ("error_message", String("utf-8")), ("resource_type", Int8), ("resource_name", String("utf-8")))),
    )


class IncrementalAlterConfigsRequest_v0(Request):
    API_KEY = 44
    API_VERSION = 0
    RESPONSE_TYPE = IncrementalAlterConfigsResponse_v0
    SCHEMA = Schema(
        ("resources", Array(("resource_type", Int8), ("resource_name", String("utf-8")),
                            ("configs", Array(("name", String("utf-8")), ("config_operation", Int8), ("value", String("utf-8")))))),
        ("validate_only", Boolean),
    )


class DeleteRecordsResponse_v0(Response):
    API_KEY = 21
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("topics", Array(("name", String("utf-8")), ("partitions", Array(("partition_index", Int32), ("low_watermark", Int64), ("error_code", Int16))))),
    )


class DeleteRecordsRequest_v0(Request):
    API_KEY = 21
    API_VERSION = 0
    RESPONSE_TYPE = DeleteRecordsResponse_v0
    SCHEMA = Schema(
        ("topics", Array(("name", String("utf-8")), ("partitions", Array(("partition_index", Int32), ("offset", Int64))))),
        ("timeout_ms", Int32),
    )


class OffsetDeleteResponse_v0(Response):
    API_KEY = 47
    API_VERSION = 0
    SCHEMA = Schema(
        ("error_code", Int16),
        ("throttle_time_ms", Int32),
        ("topics", Array(("name", String("utf-8")), ("partitions", Array(("partition_index", Int32), ("error_code", Int16))))),
    )


class OffsetDeleteRequest_v0(Request):
    API_KEY = 47
    API_VERSION = 0
    RESPONSE_TYPE = OffsetDeleteResponse_v0
    SCHEMA = Schema(
        ("group_id", String("utf-8")),
        ("topics", Array(("name", String("utf-8")), ("partitions", Array(Int32)))),
    )


def err_json(e):
    if e is None:
        return None
    return {"code": getattr(e, "errno", None), "name": type(e).__name__, "str": str(e)[:500]}


def common(req):
    conf = {"bootstrap_servers": [req["bootstrap"]], "request_timeout_ms": 30000}
    if req.get("api_version"):
        conf["api_version"] = tuple(req["api_version"])
    return conf


def op_version(req):
    return {"version": kafka.__version__, "codecs": {"gzip": has_gzip(), "snappy": has_snappy(), "lz4": has_lz4(), "zstd": has_zstd()}}


def op_produce(req):
    conf = common(req)
    codec = req.get("codec", "none")
    acks = req.get("acks", "all")
    conf.update({
        "compression_type": None if codec == "none" else codec,
        "acks": acks if acks == "all" else int(acks),
        "linger_ms": 5,
        "max_request_size": req.get("max_request_size", 1048576),
    })
    conf.update(req.get("config", {}))
    p = KafkaProducer(**conf)
    futures = []
    deliveries = [None] * len(req["records"])
    for i, r in enumerate(req["records"]):
        try:
            futures.append((i, p.send(req["topic"], value=enc(r["value"]), key=enc(r["key"]),
                                      headers=[(k, enc(v)) for (k, v) in (r.get("headers") or [])],
                                      partition=r.get("partition"), timestamp_ms=r.get("timestamp"))))
        except Exception as e:  # client-side refusal (e.g. size)
            deliveries[i] = {"i": i, "error": err_json(e)}
    p.flush(timeout=req.get("flush_timeout", 60))
    for i, f in futures:
        try:
            md = f.get(timeout=30)
            deliveries[i] = {"i": i, "partition": md.partition, "offset": md.offset, "timestamp": md.timestamp, "error": None}
        except Exception as e:
            deliveries[i] = {"i": i, "error": err_json(e)}
    p.close(timeout=10)
    return {"deliveries": deliveries, "api_version": list(p.config["api_version"]) if p.config.get("api_version") else None}


def op_consume(req):
    conf = common(req)
    conf.update({
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": 100,
        "consumer_timeout_ms": 1000,
    })
    conf.update(req.get("config", {}))
    c = KafkaConsumer(**conf)
    digest = bool(req.get("digest"))
    tps, starts = [], {}
    for a in req["assign"]:
        parts = a.get("partitions")
        if parts is None:
            deadline = Deadline(15)
            found = None
            while found is None and not deadline.passed():
                found = c.partitions_for_topic(a["topic"])
            parts = sorted(found or [])
        for pt in parts:
            tp = TopicPartition(a["topic"], pt)
            tps.append(tp)
            starts[tp] = a.get("offset", "beginning")
    c.assign(tps)
    for tp in tps:
        if starts[tp] == "beginning":
            c.seek_to_beginning(tp)
        else:
            c.seek(tp, int(starts[tp]))
    end = c.end_offsets(tps)
    records = []
    deadline = Deadline(req.get("max_seconds", 60))
    max_records = req.get("max_records")

    def done():
        return all(c.position(tp) >= end[tp] for tp in tps)

    while not deadline.passed() and not done():
        if max_records is not None and len(records) >= max_records:
            break
        batch = c.poll(timeout_ms=500)
        for tp, msgs in batch.items():
            for m in msgs:
                records.append(out_record(m.topic, m.partition, m.offset, m.key, m.value, m.headers, m.timestamp, digest))
    complete = done()
    c.close()
    return {"records": records, "eof": complete, "end_offsets": {"%s:%d" % (tp.topic, tp.partition): end[tp] for tp in tps}}


def admin(req):
    return KafkaAdminClient(**common(req))


def op_metadata(req):
    a = admin(req)
    cluster = a.describe_cluster()
    topics = a.describe_topics(req.get("topics")) if req.get("topics") else a.describe_topics()
    a.close()
    return {
        "cluster": {"cluster_id": cluster.get("cluster_id"), "controller_id": cluster.get("controller_id"),
                    "brokers": [{"id": b["node_id"], "host": b["host"], "port": b["port"]} for b in cluster["brokers"]]},
        "topics": {
            t["topic"]: {
                "error_code": t["error_code"],
                "partitions": {str(p["partition"]): {"leader": p["leader"], "replicas": p["replicas"], "isr": p["isr"], "error_code": p["error_code"]}
                               for p in t["partitions"]},
            }
            for t in topics
        },
    }


def call(f):
    try:
        resp = f()
        return None, resp
    except Exception as e:
        return err_json(e), None


def op_create_topics(req):
    a = admin(req)
    results = {}
    for t in req["topics"]:
        if t.get("replica_assignment"):
            nt = NewTopic(t["name"], -1, -1, replica_assignments={i: r for i, r in enumerate(t["replica_assignment"])},
                          topic_configs=t.get("config", {}))
        else:
            nt = NewTopic(t["name"], t.get("num_partitions", 1), t.get("replication_factor", 1), topic_configs=t.get("config", {}))
        results[t["name"]], _ = call(lambda: a.create_topics([nt], timeout_ms=10000, validate_only=bool(req.get("validate_only"))))
    a.close()
    return {"results": results}


def op_delete_topics(req):
    a = admin(req)
    results = {}
    for name in req["topics"]:
        results[name], _ = call(lambda: a.delete_topics([name], timeout_ms=10000))
    a.close()
    return {"results": results}


def op_create_partitions(req):
    a = admin(req)
    results = {}
    for t in req["topics"]:
        results[t["topic"]], _ = call(lambda: a.create_partitions({t["topic"]: NewPartitions(t["total"])}, timeout_ms=10000,
                                                                  validate_only=bool(req.get("validate_only"))))
    a.close()
    return {"results": results}


def restype(t):
    return {"topic": ConfigResourceType.TOPIC, "broker": ConfigResourceType.BROKER}[t]


def op_describe_configs(req):
    a = admin(req)
    out, errors = {}, {}
    for r in req["resources"]:
        resps = a.describe_configs([ConfigResource(restype(r["type"]), r["name"])], include_synonyms=bool(req.get("synonyms", True)))
        for resp in resps:
            for res in resp.resources:
                error_code, error_message, _rtype, rname, entries = res[:5]
                if error_code != 0:
                    errors[rname] = {"code": error_code, "str": error_message}
                    continue
                cfg = {}
                for e in entries:
                    # v0: (name, value, read_only, is_default, is_sensitive)
                    # v1+: (name, value, read_only, config_source, is_sensitive, synonyms)
                    item = {"value": e[1], "is_read_only": e[2], "is_sensitive": e[4]}
                    if len(e) >= 6:
                        item["source"] = e[3]
                        item["synonyms"] = [{"name": s[0], "value": s[1], "source": s[2]} for s in e[5]]
                    else:
                        item["is_default"] = e[3]
                    cfg[e[0]] = item
                out[rname] = cfg
    a.close()
    return {"configs": out, "errors": errors}


def op_alter_configs(req):
    a = admin(req)
    resources = [ConfigResource(restype(r["type"]), r["name"], configs=r["configs"]) for r in req["resources"]]
    resp = a.alter_configs(resources)
    a.close()
    return {"results": {res[3]: (None if res[0] == 0 else {"code": res[0], "str": res[1]}) for res in resp.resources}}


def send_to_any(a, request):
    node = a._client.least_loaded_node()
    fut = a._send_request_to_node(node, request)
    a._wait_for_futures([fut])
    return fut.value


def op_incremental_alter_configs(req):
    """req.resources: [{type, name, ops: [{name, op: set|delete|append|subtract, value}]}]"""
    a = admin(req)
    opcode = {"set": 0, "delete": 1, "append": 2, "subtract": 3}
    typecode = {"topic": 2, "broker": 4}
    request = IncrementalAlterConfigsRequest_v0(
        resources=[(typecode[r["type"]], r["name"], [(o["name"], opcode[o["op"]], o.get("value")) for o in r["ops"]]) for r in req["resources"]],
        validate_only=bool(req.get("validate_only")),
    )
    resp = send_to_any(a, request)
    a.close()
    return {"results": {r[3]: (None if r[0] == 0 else {"code": r[0], "str": r[1]}) for r in resp.resources}}


def op_delete_records(req):
    """req.partitions: [{topic, partition, offset}] -> low watermarks."""
    a = admin(req)
    by_topic = {}
    for p in req["partitions"]:
        by_topic.setdefault(p["topic"], []).append((p["partition"], p["offset"]))
    resp = send_to_any(a, DeleteRecordsRequest_v0(topics=list(by_topic.items()), timeout_ms=10000))
    a.close()
    out = []
    for name, parts in resp.topics:
        for (pi, low, code) in parts:
            out.append({"topic": name, "partition": pi, "low_watermark": low, "error_code": code})
    return {"results": out}


def op_offsets(req):
    c = KafkaConsumer(**common(req), group_id=None, enable_auto_commit=False)
    out = []
    for q in req["queries"]:
        tp = TopicPartition(q["topic"], q["partition"])
        res = c.offsets_for_times({tp: q["timestamp"]})[tp]
        out.append({"topic": q["topic"], "partition": q["partition"], "timestamp": q["timestamp"],
                    "offset": None if res is None else res.offset, "record_timestamp": None if res is None else res.timestamp})
    marks = {}
    tps = [TopicPartition(w["topic"], w["partition"]) for w in req.get("watermarks", [])]
    if tps:
        low = c.beginning_offsets(tps)
        high = c.end_offsets(tps)
        for tp in tps:
            marks["%s:%d" % (tp.topic, tp.partition)] = [low[tp], high[tp]]
    c.close()
    return {"offsets": out, "watermarks": marks}


ASSIGNORS = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}


def member_conf(req):
    conf = common(req)
    conf.update({
        "group_id": req["group"],
        "auto_offset_reset": "earliest",
        "enable_auto_commit": req.get("commit") == "auto",
        "session_timeout_ms": req.get("session_timeout_ms", 6000),
        "heartbeat_interval_ms": req.get("heartbeat_ms", 500),
        "max_poll_interval_ms": req.get("max_poll_interval_ms", 30000),
        "fetch_max_wait_ms": 100,
        "metadata_max_age_ms": 5000,
    })
    if req.get("strategy"):
        conf["partition_assignment_strategy"] = [ASSIGNORS[s.strip()] for s in req["strategy"].split(",")]
    if req.get("client_id"):
        conf["client_id"] = req["client_id"]
    conf.update(req.get("config", {}))
    return conf


def op_group_member(req):
    """Same contract as ck.py group_member (see there). kafka-python rebalances eagerly: every
    assignment is the whole assignment, every revocation revokes all."""
    c = KafkaConsumer(**member_conf(req))
    stop = StdinStop()
    current = set()
    topic = req["topic"]
    limits = {int(k): v for k, v in (req.get("limits") or {}).items()}
    commit = req.get("commit", "sync")
    process_s = req.get("process_ms", 0) / 1000.0
    counts = {"processed": 0, "commit_failed": 0, "rebalances": 0}

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            current.clear()
            emit({"ev": "revoked", "removed": sorted(tp.partition for tp in revoked), "now": []})

        def on_partitions_assigned(self, assigned):
            counts["rebalances"] += 1
            current.clear()
            current.update(tp.partition for tp in assigned)
            emit({"ev": "assigned", "added": sorted(current), "now": sorted(current)})

    c.subscribe([topic], listener=Listener())
    emit({"ev": "started", "pid": os.getpid()})
    deadline = Deadline(req.get("max_seconds", 120))
    max_records = req.get("max_records")

    def done():
        return stop.is_set() or deadline.passed() or (max_records is not None and counts["processed"] >= max_records)

    while not done():
        batch = c.poll(timeout_ms=100)
        for tp, msgs in batch.items():
            for m in msgs:
                if done():
                    break
                if tp.partition in limits and m.offset >= limits[tp.partition]:
                    continue
                if process_s:
                    time.sleep(process_s)
                if commit == "sync":
                    try:
                        c.commit({tp: OffsetAndMetadata(m.offset + 1, None)})
                    except Exception as e:  # CommitFailedError after a rebalance, or a coordinator error
                        counts["commit_failed"] += 1
                        emit({"ev": "commit_failed", "p": tp.partition, "o": m.offset, "err": err_json(e)})
                        try:  # not processed: read it again if the partition is still ours
                            c.seek(tp, m.offset)
                        except Exception:
                            pass
                        break  # the rest of this partition's batch is stale too
                counts["processed"] += 1
                emit({"ev": "rec", "p": tp.partition, "o": m.offset, "k": None if m.key is None else m.key.decode(),
                      "v": None if m.value is None else m.value.decode()})
    emit({"ev": "closing"})
    c.close()
    return dict(counts, ev="closed", t=int(time.time() * 1000), now=sorted(current))


def op_list_groups(req):
    a = admin(req)
    groups = a.list_consumer_groups()
    a.close()
    return {"groups": [{"id": g[0], "protocol_type": g[1]} for g in groups]}


def op_describe_groups(req):
    a = admin(req)
    out = []
    for g in a.describe_consumer_groups(req["groups"]):
        members = []
        for m in g.members:
            asg = m.member_assignment
            members.append({
                "id": m.member_id, "client_id": m.client_id, "client_host": m.client_host,
                "subscription": list(m.member_metadata.subscription) if m.member_metadata else None,
                "assignment": [[t, sorted(ps)] for (t, ps) in asg.assignment] if asg else [],
            })
        out.append({"id": g.group, "error_code": g.error_code, "state": g.state, "protocol_type": g.protocol_type,
                    "protocol": g.protocol, "members": members})
    a.close()
    return {"groups": out}


def op_group_offsets(req):
    a = admin(req)
    try:
        offsets = a.list_consumer_group_offsets(req["group"])
        out = {"offsets": {"%s:%d" % (tp.topic, tp.partition): om.offset for tp, om in offsets.items()},
               "metadata": {"%s:%d" % (tp.topic, tp.partition): om.metadata for tp, om in offsets.items()}, "error": None}
    except Exception as e:
        out = {"error": err_json(e)}
    a.close()
    return out


def op_delete_groups(req):
    a = admin(req)
    res = a.delete_consumer_groups(req["groups"])
    a.close()
    return {"results": {g: (None if err is Errors.NoError else {"code": err.errno, "name": err.__name__}) for g, err in res}}


def op_commit(req):
    """Commit offsets for a group without joining it (kafka-python sends generation -1 when it does
    not use group management)."""
    c = KafkaConsumer(**common(req), group_id=req["group"], enable_auto_commit=False)
    try:
        c.commit({TopicPartition(o["topic"], o["partition"]): OffsetAndMetadata(o["offset"], o.get("metadata")) for o in req["offsets"]})
        out = {"error": None}
    except Exception as e:
        out = {"error": err_json(e)}
    c.close()
    return out


def op_offset_delete(req):
    """OffsetDelete (KIP-496), which kafka-python 2.0.2 lacks, sent to the group's coordinator."""
    a = admin(req)
    node = a._find_coordinator_ids([req["group"]])[req["group"]]
    by_topic = {}
    for o in req["partitions"]:
        by_topic.setdefault(o["topic"], []).append(o["partition"])
    fut = a._send_request_to_node(node, OffsetDeleteRequest_v0(group_id=req["group"], topics=list(by_topic.items())))
    a._wait_for_futures([fut])
    resp = fut.value
    a.close()
    return {"error_code": resp.error_code,
            "partitions": {"%s:%d" % (name, pi): code for name, parts in resp.topics for (pi, code) in parts}}


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
        "incremental_alter_configs": op_incremental_alter_configs,
        "delete_records": op_delete_records,
        "offsets": op_offsets,
        "group_member": op_group_member,
        "list_groups": op_list_groups,
        "describe_groups": op_describe_groups,
        "group_offsets": op_group_offsets,
        "delete_groups": op_delete_groups,
        "commit": op_commit,
        "offset_delete": op_offset_delete,
    })
