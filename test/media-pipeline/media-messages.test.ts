import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, signUpAndLogin } from '../support/clients.js';
import { connectedSession, type ConnectedSession } from '../support/session.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { startTestS3, type TestS3 } from '../media/s3-server.js';
import { fixture } from '../media/support.js';
import { FAST_RETRIES, fetchStored, form, ISO, json, postForm, SETUPS, sha256, urlOf, UUID } from './support.js';

const enc = encodeURIComponent;

interface InboundCase {
  kind: 'image' | 'video' | 'audio' | 'document' | 'sticker';
  fixture: string;
  caption?: string;
  type: string;
  /** The object's file name under the message's key. */
  file: string;
  mime: string;
  width: number | null;
  height: number | null;
  duration: number | null;
  fileName: string | null;
}

/** Every kind, with the real fixture a phone sends and what the media event must say of it. */
const INBOUND: InboundCase[] = [
  { kind: 'image', fixture: 'photo.jpg', caption: 'Foto', type: 'imageMessage', file: 'image.jpg', mime: 'image/jpeg', width: 320, height: 240, duration: null, fileName: null },
  { kind: 'image', fixture: 'image.png', type: 'imageMessage', file: 'image.png', mime: 'image/png', width: 64, height: 32, duration: null, fileName: null },
  { kind: 'video', fixture: 'video.mp4', caption: 'Mira', type: 'videoMessage', file: 'video.mp4', mime: 'video/mp4', width: 160, height: 120, duration: 2, fileName: null },
  { kind: 'audio', fixture: 'voice.ogg', type: 'audioMessage', file: 'audio.ogg', mime: 'audio/ogg; codecs=opus', width: null, height: null, duration: 3, fileName: null },
  {
    kind: 'document',
    fixture: 'document.pdf',
    caption: 'Factura',
    type: 'documentMessage',
    file: 'document.pdf',
    mime: 'application/pdf',
    width: null,
    height: null,
    duration: null,
    fileName: 'document.pdf',
  },
  { kind: 'sticker', fixture: 'sticker.webp', type: 'stickerMessage', file: 'sticker.webp', mime: 'image/webp', width: 512, height: 512, duration: null, fileName: null },
];

describe.each(SETUPS)('media messages end to end ($storage storage, $mode)', ({ storage, mode }) => {
  let s3: TestS3 | undefined;
  let wahub: TestWahub;
  let s: ConnectedSession;
  const contact = '51911122233@s.whatsapp.net';

  beforeAll(async () => {
    s3 = storage === 's3' ? await startTestS3() : undefined;
    wahub = await startTestWahub(mode, { WA_DRIVER: 'simulator', ...FAST_RETRIES, ...(s3?.env ?? {}) });
    s = await connectedSession(wahub, `media-${storage}-${mode}`);
  });
  afterAll(async () => {
    s?.ws.close();
    await wahub?.stop();
    await s3?.stop();
  });

  const keyOf = (messageId: string, file: string) => `tenants/${s.tenantId}/sessions/${s.sessionId}/messages/${enc(messageId)}/${file}`;
  const messageOf = async (jid: string, id: string) =>
    ((await s.ok('GET', `/chats/${enc(jid)}/messages`, undefined, 200)).items as any[]).find((m) => m.id === id);
  const mediaEventOf = (id: string) => s.ws.next((e) => e.type === 'session.messages.media' && e.payload.media.some((m: any) => m.messageId === id));
  /** The API's view once the media event was projected. */
  const storedView = (jid: string, id: string) => eventually(async () => {
    const message = await messageOf(jid, id);
    return message?.media && 'url' in message.media && message.media.url !== null ? message : null;
  });

  it.each(INBOUND)('receives $kind ($fixture): upsert, then session.messages.media as the seed, the API view, the object byte-identical at its URL', async (c) => {
    const bytes = fixture(c.fixture);
    const { ids } = await s.ok('POST', `/simulator/sessions/${s.sessionId}/media`, { from: '51911122233', kind: c.kind, fixture: c.fixture, caption: c.caption });
    const id = ids[0] as string;

    const upsert = await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.messages[0].id === id);
    expect(upsert.payload.messages[0]).toMatchObject({
      remoteJid: contact,
      fromMe: false,
      type: c.type,
      text: c.kind === 'audio' || c.kind === 'sticker' ? null : (c.caption ?? null),
      media: { kind: c.kind, mime: c.mime, size: bytes.length, width: c.width, height: c.height, duration: c.duration, fileName: c.fileName },
    });

    const url = urlOf(keyOf(id, c.file), s3);
    const event = await mediaEventOf(id);
    expect(event).toEqual({
      type: 'session.messages.media',
      sessionId: s.sessionId,
      eventId: expect.stringMatching(UUID),
      occurredOn: expect.stringMatching(ISO),
      payload: {
        tenantId: s.tenantId,
        mediaCount: 1,
        media: [{ messageId: id, chatJid: contact, kind: c.kind, url, mime: c.mime, size: bytes.length, width: c.width, height: c.height, duration: c.duration }],
        source: 'event',
      },
    });

    const stored = await fetchStored(wahub, url, s.token);
    expect(stored.status).toBe(200);
    expect(stored.headers.get('content-type')).toBe(c.mime);
    expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(bytes));
    if (s3) expect(await s3.keys(keyOf(id, ''))).toEqual([keyOf(id, c.file)]);

    const message = await storedView(contact, id);
    expect(message).toMatchObject({ id, type: c.type, fromMe: false });
    // Exactly the seed's media object.
    expect(message.media).toEqual({ kind: c.kind, url, mime: c.mime, size: bytes.length, width: c.width, height: c.height, duration: c.duration });
  });

  it('completes what the phone left out by probing the bytes: mime, dimensions, duration', async () => {
    // JSON: a video whose message says nothing of its dimensions or length.
    const { ids: [video] } = await s.ok('POST', `/simulator/sessions/${s.sessionId}/media`, {
      from: '51911122233',
      kind: 'video',
      metadata: { mime: null, width: null, height: null, duration: null },
    });
    expect((await mediaEventOf(video)).payload.media[0]).toMatchObject({ kind: 'video', mime: 'video/mp4', size: fixture('video.mp4').length, width: 160, height: 120, duration: 2 });

    // Multipart: the caller's own file; the phone says only what the form says.
    const photo = fixture('photo.jpg');
    const res = await postForm(wahub, `/simulator/sessions/${s.sessionId}/media`, s.token, form({ from: '51911122233', kind: 'image', caption: 'Foto', id: 'upload-photo-1' }, { name: 'IMG_1.jpg', bytes: photo }));
    expect(res.status, await res.clone().text()).toBe(202);
    expect(await json(res)).toEqual({ ids: ['upload-photo-1'] });
    const event = await mediaEventOf('upload-photo-1');
    expect(event.payload.media[0]).toEqual({
      messageId: 'upload-photo-1',
      chatJid: contact,
      kind: 'image',
      url: urlOf(keyOf('upload-photo-1', 'image.jpg'), s3),
      mime: 'image/jpeg',
      size: photo.length,
      width: 320,
      height: 240,
      duration: null,
    });
    const voice = fixture('voice.ogg');
    const audio = await postForm(wahub, `/simulator/sessions/${s.sessionId}/media`, s.token, form({ from: '51911122233', kind: 'audio', ptt: 'true', mime: 'audio/ogg; codecs=opus', id: 'upload-voice-1' }, { name: 'note.ogg', bytes: voice }));
    expect(audio.status).toBe(202);
    expect((await mediaEventOf('upload-voice-1')).payload.media[0]).toMatchObject({ kind: 'audio', mime: 'audio/ogg; codecs=opus', size: voice.length, duration: 3 });

    const noFile = await postForm(wahub, `/simulator/sessions/${s.sessionId}/media`, s.token, form({ from: '51911122233', kind: 'image' }));
    expect(noFile.status).toBe(400);
    expect((await json(noFile)).code).toBe('file_required');
  });

  it('sends an upload (POST /media) with a caption: the sent log has the bytes, the media event points to the upload, nothing downloaded again', async () => {
    const photo = fixture('photo.jpg');
    const uploaded = await postForm(wahub, '/media', s.token, form({ kind: 'image' }, { name: 'photo.jpg', bytes: photo, type: 'image/jpeg' }));
    expect(uploaded.status).toBe(201);
    const upload = await json(uploaded);
    const accepted = await s.ok('POST', `/chats/${enc(contact)}/messages`, { mediaId: upload.id, content: 'Mi foto' });
    expect(accepted.requestId).toMatch(UUID);

    const upsert = await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.requestId === accepted.requestId);
    const sent = upsert.payload.messages[0];
    expect(sent).toMatchObject({
      remoteJid: contact,
      fromMe: true,
      type: 'imageMessage',
      text: 'Mi foto',
      status: 'sent',
      media: { kind: 'image', mime: 'image/jpeg', size: photo.length, width: 320, height: 240 },
    });
    const event = await mediaEventOf(sent.id);
    expect(event.payload).toEqual({
      tenantId: s.tenantId,
      mediaCount: 1,
      media: [{ messageId: sent.id, chatJid: contact, kind: 'image', url: upload.url, mime: 'image/jpeg', size: photo.length, width: 320, height: 240, duration: null }],
      source: 'event',
    });

    const { items } = await s.ok('GET', `/simulator/sessions/${s.sessionId}/sent`, undefined, 200);
    expect(items.at(-1)).toMatchObject({
      kind: 'media',
      data: { requestId: accepted.requestId, id: sent.id, to: contact, kind: 'image', mime: 'image/jpeg', size: photo.length, sha256: sha256(photo), caption: 'Mi foto', ptt: false },
    });
    const view = await storedView(contact, sent.id);
    expect(view).toMatchObject({ fromMe: true, text: 'Mi foto', media: { kind: 'image', url: upload.url, mime: 'image/jpeg', size: photo.length } });
    // The upload is the message's file: no job fetched it into the session's folder.
    await new Promise((r) => setTimeout(r, 300));
    expect(s.ws.events.filter((e) => e.type === 'session.messages.media' && e.payload.media[0].messageId === sent.id)).toHaveLength(1);
    if (s3) expect(await s3.keys(keyOf(sent.id, ''))).toEqual([]);
  });

  it('sends a voice note as push-to-talk, a sticker and a document, also from /sessions/:id/messages; refuses what WhatsApp would not show', async () => {
    const cases = [
      { kind: 'audio', file: 'voice.ogg', mime: 'audio/ogg; codecs=opus', ptt: true, caption: undefined, type: 'audioMessage' },
      { kind: 'sticker', file: 'sticker.webp', mime: 'image/webp', ptt: false, caption: undefined, type: 'stickerMessage' },
      { kind: 'document', file: 'document.pdf', mime: 'application/pdf', ptt: false, caption: 'La factura', type: 'documentMessage' },
    ];
    for (const c of cases) {
      const bytes = fixture(c.file);
      const upload = await json(await postForm(wahub, '/media', s.token, form({ kind: c.kind, sessionId: s.sessionId }, { name: c.file, bytes })));
      const accepted = await s.ok('POST', `/sessions/${s.sessionId}/messages`, { to: '51911122233', mediaId: upload.id, ...(c.caption ? { content: c.caption } : {}) });
      const upsert = await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.requestId === accepted.requestId);
      expect(upsert.payload.messages[0]).toMatchObject({ type: c.type, text: c.caption ?? null, media: { kind: c.kind, mime: c.mime, size: bytes.length } });
      const { items } = await s.ok('GET', `/simulator/sessions/${s.sessionId}/sent`, undefined, 200);
      expect(items.at(-1)).toMatchObject({ kind: 'media', data: { kind: c.kind, mime: c.mime, size: bytes.length, sha256: sha256(bytes), ptt: c.ptt } });
      expect((await mediaEventOf(upsert.payload.messages[0].id)).payload.media[0]).toMatchObject({ url: upload.url, kind: c.kind });
    }

    const sticker = await json(await postForm(wahub, '/media', s.token, form({ kind: 'sticker' }, { name: 's.webp', bytes: fixture('sticker.webp') })));
    const captioned = await s.api('POST', `/chats/${enc(contact)}/messages`, { mediaId: sticker.id, content: 'no' });
    expect(captioned.status).toBe(400);
    expect((await json(captioned)).code).toBe('caption_not_supported');
    const unknown = await s.api('POST', `/chats/${enc(contact)}/messages`, { mediaId: '0190a5b4-0000-7000-8000-000000000000' });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).code).toBe('media_not_found');
    const notUuid = await s.api('POST', `/chats/${enc(contact)}/messages`, { mediaId: 'photo.jpg' });
    expect(notUuid.status).toBe(400);
    const withForward = await s.api('POST', `/chats/${enc(contact)}/messages`, { mediaId: sticker.id, forwardMessageId: 'x' });
    expect(withForward.status).toBe(400);

    // Another tenant's upload is as good as absent.
    const other = await signUpAndLogin(wahub, 'other');
    const theirs = await json(await postForm(wahub, '/media', other.accessToken, form({ kind: 'image' }, { name: 'p.jpg', bytes: fixture('photo.jpg') })));
    const foreign = await s.api('POST', `/chats/${enc(contact)}/messages`, { mediaId: theirs.id });
    expect(foreign.status).toBe(404);
  });

  it('deleting the session deletes its media objects', async () => {
    const { ids: [id] } = await s.ok('POST', `/simulator/sessions/${s.sessionId}/media`, { from: '51911122233', kind: 'image' });
    const url = (await mediaEventOf(id)).payload.media[0].url as string;
    expect((await fetchStored(wahub, url, s.token)).status).toBe(200);
    await s.ok('DELETE', `/sessions/${s.sessionId}`);
    await eventually(async () => (await fetchStored(wahub, url, s.token)).status === 404 || (await fetchStored(wahub, url, s.token)).status === 403);
    if (s3) await eventually(async () => (await s3!.keys(`tenants/${s.tenantId}/sessions/${s.sessionId}/`)).length === 0);
  });
});
