import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collisionKey, topicNameProblem } from './topic-names.js';

test("topic names follow Kafka's rules", () => {
  for (const ok of ['a', 'orders.v1', 'a_b-c', 'X'.repeat(249)]) assert.equal(topicNameProblem(ok), undefined, ok);
  for (const bad of ['', '.', '..', 'a b', 'ä', 'a/b', 'X'.repeat(250)]) assert.ok(topicNameProblem(bad), JSON.stringify(bad));
  assert.equal(collisionKey('a.b'), collisionKey('a_b'));
});
