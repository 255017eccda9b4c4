import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, KafkaError, errorByCode, errorName, errors } from './error-codes.js';

describe('error codes', () => {
  it('cover every code from -1 to 133 once, with unique names', () => {
    const codes = errors.map((e) => e.code);
    assert.deepEqual(codes, Array.from({ length: 135 }, (_, i) => i - 1));
    assert.equal(new Set(errors.map((e) => e.name)).size, errors.length);
  });

  it('match Kafka on names, codes and retriability (spot checks)', () => {
    assert.equal(ErrorCode.NONE, 0);
    assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
    assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
    assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
    assert.equal(ErrorCode.PRODUCER_FENCED, 90);
    assert.equal(ErrorCode.UNKNOWN_TOPIC_ID, 100);
    assert.equal(ErrorCode.TRANSACTION_ABORTABLE, 120);
    assert.equal(ErrorCode.SHARE_SESSION_LIMIT_REACHED, 133);
    const retriable = errors.filter((e) => e.retriable).map((e) => e.code);
    assert.deepEqual(retriable, [2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 47, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103, 106, 122, 123, 133]);
    assert.equal(errorByCode(3)?.message, 'This server does not host this topic-partition.');
    assert.equal(errorByCode(999), undefined);
    assert.equal(errorName(16), 'NOT_COORDINATOR');
    assert.equal(errorName(999), 'UNKNOWN_ERROR_CODE(999)');
  });

  it('KafkaError carries code, Kafka name and retriability', () => {
    const e = new KafkaError(ErrorCode.NOT_COORDINATOR);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'NOT_COORDINATOR');
    assert.equal(e.code, 16);
    assert.equal(e.retriable, true);
    assert.equal(e.message, 'This is not the correct coordinator.');
    const cause = new Error('io');
    const u = new KafkaError(4242, 'odd', { cause });
    assert.equal(u.name, 'UNKNOWN_ERROR_CODE(4242)');
    assert.equal(u.retriable, false);
    assert.equal(u.cause, cause);
  });
});
