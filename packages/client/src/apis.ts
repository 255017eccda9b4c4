/**
 * The request/response codec pair of every API the client sends, declared once (Connection.send
 * takes one). Named after the API: `joinGroupApi` is JoinGroup. Each API's codecs come from its own
 * generated module, so importing the client loads these APIs' codecs and not the other ~60.
 */
import { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '@fjord/protocol/generated/add-offsets-to-txn.js';
import { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '@fjord/protocol/generated/add-partitions-to-txn.js';
import { AlterConfigsRequest, AlterConfigsResponse } from '@fjord/protocol/generated/alter-configs.js';
import { ApiVersionsRequest, ApiVersionsResponse } from '@fjord/protocol/generated/api-versions.js';
import { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from '@fjord/protocol/generated/consumer-group-describe.js';
import { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '@fjord/protocol/generated/consumer-group-heartbeat.js';
import { CreatePartitionsRequest, CreatePartitionsResponse } from '@fjord/protocol/generated/create-partitions.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '@fjord/protocol/generated/create-topics.js';
import { DeleteGroupsRequest, DeleteGroupsResponse } from '@fjord/protocol/generated/delete-groups.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from '@fjord/protocol/generated/delete-records.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from '@fjord/protocol/generated/delete-topics.js';
import { DescribeConfigsRequest, DescribeConfigsResponse } from '@fjord/protocol/generated/describe-configs.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from '@fjord/protocol/generated/describe-groups.js';
import { DescribeLogDirsRequest, DescribeLogDirsResponse } from '@fjord/protocol/generated/describe-log-dirs.js';
import { DescribeProducersRequest, DescribeProducersResponse } from '@fjord/protocol/generated/describe-producers.js';
import { DescribeTransactionsRequest, DescribeTransactionsResponse } from '@fjord/protocol/generated/describe-transactions.js';
import { EndTxnRequest, EndTxnResponse } from '@fjord/protocol/generated/end-txn.js';
import { FetchRequest, FetchResponse } from '@fjord/protocol/generated/fetch.js';
import { FindCoordinatorRequest, FindCoordinatorResponse } from '@fjord/protocol/generated/find-coordinator.js';
import { HeartbeatRequest, HeartbeatResponse } from '@fjord/protocol/generated/heartbeat.js';
import { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '@fjord/protocol/generated/incremental-alter-configs.js';
import { InitProducerIdRequest, InitProducerIdResponse } from '@fjord/protocol/generated/init-producer-id.js';
import { JoinGroupRequest, JoinGroupResponse } from '@fjord/protocol/generated/join-group.js';
import { LeaveGroupRequest, LeaveGroupResponse } from '@fjord/protocol/generated/leave-group.js';
import { ListGroupsRequest, ListGroupsResponse } from '@fjord/protocol/generated/list-groups.js';
import { ListOffsetsRequest, ListOffsetsResponse } from '@fjord/protocol/generated/list-offsets.js';
import { ListTransactionsRequest, ListTransactionsResponse } from '@fjord/protocol/generated/list-transactions.js';
import { MetadataRequest, MetadataResponse } from '@fjord/protocol/generated/metadata.js';
import { OffsetCommitRequest, OffsetCommitResponse } from '@fjord/protocol/generated/offset-commit.js';
import { OffsetDeleteRequest, OffsetDeleteResponse } from '@fjord/protocol/generated/offset-delete.js';
import { OffsetFetchRequest, OffsetFetchResponse } from '@fjord/protocol/generated/offset-fetch.js';
import { ProduceRequest, ProduceResponse } from '@fjord/protocol/generated/produce.js';
import { SyncGroupRequest, SyncGroupResponse } from '@fjord/protocol/generated/sync-group.js';
import { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '@fjord/protocol/generated/txn-offset-commit.js';
import type { MessageCodec } from '@fjord/protocol/core';
import type { Api } from './connection/connection.js';

const byKey = new Map<number, Api<unknown, unknown>>();

const api = <Req, Res>(request: MessageCodec<Req>, response: MessageCodec<Res>): Api<Req, Res> => {
  const a = { request, response };
  byKey.set(request.apiKey, a as Api<unknown, unknown>);
  return a;
};

/** Every API below by key: the ones a connection negotiates versions for in its handshake. */
export const clientApis: ReadonlyMap<number, Api<unknown, unknown>> = byKey;

export const apiVersionsApi = api(ApiVersionsRequest, ApiVersionsResponse);
export const addOffsetsToTxnApi = api(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse);
export const addPartitionsToTxnApi = api(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse);
export const alterConfigsApi = api(AlterConfigsRequest, AlterConfigsResponse);
export const consumerGroupDescribeApi = api(ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse);
export const consumerGroupHeartbeatApi = api(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse);
export const createPartitionsApi = api(CreatePartitionsRequest, CreatePartitionsResponse);
export const createTopicsApi = api(CreateTopicsRequest, CreateTopicsResponse);
export const deleteGroupsApi = api(DeleteGroupsRequest, DeleteGroupsResponse);
export const deleteRecordsApi = api(DeleteRecordsRequest, DeleteRecordsResponse);
export const deleteTopicsApi = api(DeleteTopicsRequest, DeleteTopicsResponse);
export const describeConfigsApi = api(DescribeConfigsRequest, DescribeConfigsResponse);
export const describeGroupsApi = api(DescribeGroupsRequest, DescribeGroupsResponse);
export const describeLogDirsApi = api(DescribeLogDirsRequest, DescribeLogDirsResponse);
export const describeProducersApi = api(DescribeProducersRequest, DescribeProducersResponse);
export const describeTransactionsApi = api(DescribeTransactionsRequest, DescribeTransactionsResponse);
export const endTxnApi = api(EndTxnRequest, EndTxnResponse);
export const fetchApi = api(FetchRequest, FetchResponse);
export const findCoordinatorApi = api(FindCoordinatorRequest, FindCoordinatorResponse);
export const heartbeatApi = api(HeartbeatRequest, HeartbeatResponse);
export const incrementalAlterConfigsApi = api(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse);
export const initProducerIdApi = api(InitProducerIdRequest, InitProducerIdResponse);
export const joinGroupApi = api(JoinGroupRequest, JoinGroupResponse);
export const leaveGroupApi = api(LeaveGroupRequest, LeaveGroupResponse);
export const listGroupsApi = api(ListGroupsRequest, ListGroupsResponse);
export const listOffsetsApi = api(ListOffsetsRequest, ListOffsetsResponse);
export const listTransactionsApi = api(ListTransactionsRequest, ListTransactionsResponse);
export const metadataApi = api(MetadataRequest, MetadataResponse);
export const offsetCommitApi = api(OffsetCommitRequest, OffsetCommitResponse);
export const offsetDeleteApi = api(OffsetDeleteRequest, OffsetDeleteResponse);
export const offsetFetchApi = api(OffsetFetchRequest, OffsetFetchResponse);
export const produceApi = api(ProduceRequest, ProduceResponse);
export const syncGroupApi = api(SyncGroupRequest, SyncGroupResponse);
export const txnOffsetCommitApi = api(TxnOffsetCommitRequest, TxnOffsetCommitResponse);
