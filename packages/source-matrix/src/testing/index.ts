/**
 * `@checkpointkit/source-matrix/testing`: a fake Matrix homeserver for your own tests of a Matrix
 * export: rooms built event by event (messages, replies, threads, edits, reactions, redactions),
 * served as Synapse 1.67 or a spec v1.7+ server serves them, on 127.0.0.1, with injectable faults.
 *
 * ```ts
 * import { FakeHomeserver, FakeRoom } from '@checkpointkit/source-matrix/testing';
 *
 * const room = new FakeRoom({ roomId: '!r:localhost', aliases: ['#blog:localhost'], userId: '@me:localhost' }).createDefaults();
 * const parent = room.message('first!');
 * room.reply(parent, 'second');
 * const server = await new FakeHomeserver({ accessToken: 'test-token', rooms: [room] }).start();
 * // matrixSource({ homeserverUrl: server.url, accessToken: 'test-token', rooms: ['#blog:localhost'] })
 * await server.stop();
 * ```
 */
export {
  error,
  FakeHomeserver,
  type FakeHomeserverOptions,
  type Fault,
  type LoggedRequest,
  type Reply,
  type RequestInfo,
  type TrafficCheck,
} from './homeserver.js';
export { type Exchange, RECORDED_TOKEN, type Recording, recordedRoom } from './recording.js';
export { FakeRoom, type FakeRoomInit, type RawEvent, type ServeStyle } from './room.js';
