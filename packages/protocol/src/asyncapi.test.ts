import { Type, type TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { asyncApiDocument, messageTypeOf, unionMembers } from './asyncapi.ts';
import { EmbedMessageSchema, EmbedStopSchema } from './embed.ts';
import { ClientMessageSchema, ServerMessageSchema } from './live.ts';
import { OpsClientMessageSchema, OpsServerMessageSchema } from './ops.ts';
import { PROTOCOL_VERSION } from './version.ts';

type Json = Record<string, unknown>;
const plain = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema));

/** Resolves a local `$ref` (`#/channels/stream/messages/hello`) in the document. */
function resolve(doc: Json, ref: string): Json {
  expect(ref.startsWith('#/')).toBe(true);
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) node = (node as Json | undefined)?.[part];
  expect(node, `${ref} resolves`).toBeDefined();
  return node as Json;
}

// Listed here, not taken from asyncapi.ts: a union the generator forgot would go unnoticed otherwise.
const SOCKETS = [
  {
    channel: 'stream',
    address: '/v1/sessions/{sessionId}/stream',
    receive: ClientMessageSchema,
    send: ServerMessageSchema,
  },
  { channel: 'ops', address: '/v1/ops', receive: OpsClientMessageSchema, send: OpsServerMessageSchema },
  // The embed page's postMessage events (it sends them; it receives the host page's stop).
  { channel: 'embed', address: '/embed', receive: EmbedStopSchema, send: EmbedMessageSchema },
];

describe('AsyncAPI document', () => {
  const doc = asyncApiDocument() as Json;

  it('is AsyncAPI 3.0 JSON naming the protocol version', () => {
    expect(doc['asyncapi']).toBe('3.0.0');
    expect((doc['info'] as Json)['version']).toBe(String(PROTOCOL_VERSION));
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  for (const socket of SOCKETS) {
    for (const action of ['receive', 'send'] as const) {
      const union = socket[action];
      it.each(unionMembers(union).map((member) => [messageTypeOf(member), member] as const))(
        `${socket.channel} (${action}s): documents %s with its schema and a summary`,
        (type, member) => {
          const channel = (doc['channels'] as Json)[socket.channel] as Json;
          expect(channel['address']).toBe(socket.address);
          const operation = (doc['operations'] as Json)[`${socket.channel}.${action}`] as Json;
          expect(operation['action']).toBe(action);
          expect(resolve(doc, (operation['channel'] as Json)['$ref'] as string)).toBe(channel);
          const messages = (operation['messages'] as Json[]).map((ref) =>
            resolve(doc, ref['$ref'] as string),
          );
          const message = messages.find((m) => m['name'] === type);
          expect(message, `${type} in ${socket.channel}.${action}`).toBeDefined();
          expect(message!['payload']).toEqual(plain(member));
          expect(typeof message!['summary'], `summary of ${type} (asyncapi.ts MESSAGE_SUMMARIES)`).toBe(
            'string',
          );
        },
      );
    }
  }

  it('gives the embed events their own summaries, not the stream’s messages of the same name', () => {
    const messages = ((doc['channels'] as Json)['embed'] as Json)['messages'] as Record<string, Json>;
    const stream = ((doc['channels'] as Json)['stream'] as Json)['messages'] as Record<string, Json>;
    for (const type of ['score', 'error'])
      expect(messages[type]!['summary']).not.toBe(stream[type]!['summary']);
    expect((doc['channels'] as Json)['embed']).not.toHaveProperty('bindings');
  });

  it('lists the close codes outside the error table in the stream’s description', () => {
    const description = ((doc['channels'] as Json)['stream'] as Json)['description'] as string;
    for (const close of ['1000', '1007', '1009']) expect(description).toContain(`| ${close} |`);
  });

  it('documents the binary JPEG frames of the fallback path', () => {
    const operation = (doc['operations'] as Json)['stream.receive'] as Json;
    const refs = (operation['messages'] as Json[]).map((ref) => ref['$ref']);
    expect(refs).toContain('#/channels/stream/messages/jpeg_frame');
  });

  it('lists a server only when told one', () => {
    expect(doc['servers']).toBeUndefined();
    const withServer = asyncApiDocument({ server: { host: 'verify.example', protocol: 'wss' } });
    expect(withServer['servers']).toEqual({
      this: expect.objectContaining({ host: 'verify.example', protocol: 'wss' }),
    });
  });

  it('refuses a message schema without a type literal', () => {
    expect(() => messageTypeOf(Type.Object({ kind: Type.Literal('x') }))).toThrow(/type/);
    expect(messageTypeOf(Type.Union([Type.Object({ type: Type.Literal('a') })]))).toBe('a');
  });
});
