/**
 * The request/response codec pair of every API the client sends, declared once (Connection.send
 * takes one). Named after the API: `joinGroupApi` is JoinGroup.
 */
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  AlterConfigsRequest,
  AlterConfigsResponse,
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
  DescribeProducersRequest,
  DescribeProducersResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  EndTxnRequest,
  EndTxnResponse,
  FetchRequest,
  FetchResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ProduceRequest,
  ProduceResponse,
  SyncGroupRequest,
  SyncGroupResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
  type MessageCodec,
} from '@fjord/protocol';
import type { Api } from './connection/connection.js';

const api = <Req, Res>(request: MessageCodec<Req>, response: MessageCodec<Res>): Api<Req, Res> => ({ request, response });

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
