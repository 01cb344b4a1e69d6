import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processOnce } from '../../src/events/consumers/inbox.js';
import { envelope, type EventEnvelope } from '../../src/events/envelope.js';
import type { Db } from '../../src/platform/db/db.js';
import { withMediaProjection } from '../../src/modules/chats/adapters/media-projection.js';
import { messagingProjectionHandlers, PROJECTIONS_GROUP } from '../../src/modules/chats/index.js';
import type { MessageMediaItem, MessagesMediaPayload } from '../../src/modules/sessions/domain/message-media.js';
import { createMigratedDb, type DbKind } from '../events/helpers.js';
import { events, fieldsOf, LID, PHONE, seedSession, store, summary, type AnyEvent, type Delivery, type Scope } from '../messaging/support.js';

const KINDS: DbKind[] = ['postgres', 'pglite'];
const META = { kind: 'image' as const, mime: 'image/jpeg', size: 120483, width: 720, height: 1280, duration: null, fileName: null };

describe.each(KINDS)('media projection (%s)', (kind) => {
  let db: Db;
  let drop: () => Promise<void>;
  const handlers = withMediaProjection(messagingProjectionHandlers());
  let entry = 0;

  beforeAll(async () => {
    ({ db, drop } = await createMigratedDb(kind));
  });
  afterAll(async () => drop?.());

  async function apply(...deliveries: (Delivery | AnyEvent)[]): Promise<void> {
    for (const item of deliveries) {
      const d = 'event' in item ? item : { event: item };
      const handler = handlers[d.event.type]!;
      await processOnce(db, PROJECTIONS_GROUP, d.event.eventId, (tx) => handler(d.event as EventEnvelope, tx, { entryId: `${++entry}-0`, fields: fieldsOf(d) }));
    }
  }

  const mediaEvent = (scope: Scope, media: MessageMediaItem[]) =>
    envelope<MessagesMediaPayload>('session.messages.media', scope.sessionId, { tenantId: scope.tenantId, mediaCount: media.length, media, source: 'event' });
  const item = (messageId: string, over: Partial<MessageMediaItem> = {}): MessageMediaItem => ({
    messageId,
    chatJid: PHONE,
    kind: 'image',
    url: `https://anna-media.example.r2.dev/tenants/t/sessions/s/messages/${messageId}/image.jpg`,
    mime: 'image/jpeg',
    size: 120483,
    width: 720,
    height: 1280,
    duration: null,
    ...over,
  });

  it('stores the seed object on the message, in either order, and a message arriving again does not undo it', async () => {
    const scope = await seedSession(db);
    const ev = events(scope);
    const rows = store(db, scope);
    const photo = summary({ remoteJid: PHONE, id: 'msg-3', type: 'imageMessage', text: 'Foto', media: META });
    await apply(ev.upsert([photo]), mediaEvent(scope, [item('msg-3')]));
    const stored = { kind: 'image', url: item('msg-3').url, mime: 'image/jpeg', size: 120483, width: 720, height: 1280, duration: null, fileName: null };
    expect((await rows.message(PHONE, 'msg-3')).media).toEqual(stored);

    // WhatsApp resends it: a history chunk, the upsert delivered again.
    await apply(ev.history({ messages: [photo] }), ev.upsert([photo]));
    expect((await rows.message(PHONE, 'msg-3')).media).toEqual(stored);

    // The media event first (its upsert failed once and came back later), then the message.
    const early = summary({ remoteJid: PHONE, id: 'msg-4', type: 'documentMessage', text: 'Factura', media: { ...META, kind: 'document', mime: 'application/pdf', fileName: 'f.pdf' } });
    await apply(mediaEvent(scope, [item('msg-4', { kind: 'document', mime: 'application/pdf', width: null, height: null })]), ev.upsert([early]));
    expect(await rows.message(PHONE, 'msg-4')).toMatchObject({ text: 'Factura', type: 'documentMessage', timestamp: early.timestamp, media: { kind: 'document', url: item('msg-4').url } });
  });

  it('keeps a stored file over a later failure; records a skipped file with its reason; follows the chat under its phone JID; ignores deleted sessions', async () => {
    const scope = await seedSession(db);
    const ev = events(scope);
    const rows = store(db, scope);
    await apply(ev.upsert([summary({ remoteJid: PHONE, id: 'a', type: 'imageMessage', media: META })]), mediaEvent(scope, [item('a')]));
    await apply(mediaEvent(scope, [item('a', { url: null, reason: 'download_failed' })]));
    expect((await rows.message(PHONE, 'a')).media.url).toBe(item('a').url);

    await apply(ev.upsert([summary({ remoteJid: PHONE, id: 'big', type: 'videoMessage', media: { ...META, kind: 'video', size: 500_000_000 } })]));
    await apply(mediaEvent(scope, [item('big', { kind: 'video', url: null, size: 500_000_000, reason: 'too_large' })]));
    expect((await rows.message(PHONE, 'big')).media).toMatchObject({ kind: 'video', url: null, size: 500_000_000, reason: 'too_large' });

    // Addressed by LID once the mapping is known: the same chat.
    await apply(ev.lidMapping([{ lid: LID, pn: PHONE }]), ev.upsert([summary({ remoteJid: PHONE, id: 'viaLid', type: 'imageMessage', media: META })]));
    await apply(mediaEvent(scope, [item('viaLid', { chatJid: LID })]));
    expect((await rows.message(PHONE, 'viaLid')).media.url).toBe(item('viaLid').url);

    await db.query(`update sessions set deleted_at = now() where id = $1`, [scope.sessionId]);
    await apply(mediaEvent(scope, [item('late')]));
    expect(await rows.message(PHONE, 'late')).toBeUndefined();
  });

  it('a deleted message loses its media, and a late media event does not bring it back', async () => {
    const scope = await seedSession(db);
    const ev = events(scope);
    const rows = store(db, scope);
    await apply(ev.upsert([summary({ remoteJid: PHONE, id: 'gone', type: 'imageMessage', media: META })]), ev.deleteMessages([{ messageId: 'gone', chatJid: PHONE, deletedAt: 1_767_220_100 }]));
    await apply(mediaEvent(scope, [item('gone')]));
    expect(await rows.message(PHONE, 'gone')).toMatchObject({ media: null, deleted_at: 1_767_220_100 });
  });
});
