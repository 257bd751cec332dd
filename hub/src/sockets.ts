/**
 * The hub's two socket.io namespaces, typed by their contracts in @jianguan/protocol.
 *
 * socket.io types a `Server` with one event map, shared by every namespace; the hub has two
 * namespaces with different maps (/collect: collectors, /wall: screens). So the server is created
 * untyped (plugins/infrastructure.ts) and each namespace is typed here, once: every module that
 * touches a namespace gets it from these functions, and the casts live nowhere else.
 */
import type { Namespace, Server, Socket } from 'socket.io';
import {
  NAMESPACE_COLLECT,
  NAMESPACE_WALL,
  type CollectClientToServer,
  type CollectServerToClient,
  type WallClientToServer,
  type WallServerToClient,
} from '@jianguan/protocol';

/** What ingest records on an authenticated collector socket. */
export interface CollectSocketData {
  collectorId: string;
  institutionId: string;
}

export type CollectNamespace = Namespace<CollectClientToServer, CollectServerToClient, Record<string, never>, CollectSocketData>;
export type CollectSocket = Socket<CollectClientToServer, CollectServerToClient, Record<string, never>, CollectSocketData>;
export type WallNamespace = Namespace<WallClientToServer, WallServerToClient>;

export function collectNamespace(io: Server): CollectNamespace {
  return io.of(NAMESPACE_COLLECT) as unknown as CollectNamespace;
}

export function wallNamespace(io: Server): WallNamespace {
  return io.of(NAMESPACE_WALL) as unknown as WallNamespace;
}
