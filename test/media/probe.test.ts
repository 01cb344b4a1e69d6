import { describe, expect, it } from 'vitest';
import { Mp4Probe, parseMoov } from '../../src/modules/media/application/mp4-probe.js';
import { createProbe } from '../../src/modules/media/application/media-probe.js';
import { acceptedMime } from '../../src/modules/media/domain/media.js';
import { fixture, mp4BoxesExceptMdat } from './support.js';

function probeMp4(bytes: Buffer, chunk: number) {
  const probe = new Mp4Probe();
  for (let i = 0; i < bytes.length; i += chunk) probe.write(bytes.subarray(i, i + chunk));
  return probe.result();
}

describe('Mp4Probe', () => {
  it('finds moov first (faststart) or last, whatever the chunking', () => {
    for (const chunk of [1, 7, 16, 4096, 1 << 20]) {
      expect(probeMp4(fixture('video.mp4'), chunk)).toEqual({ duration: 2, width: 160, height: 120, hasVideoTrack: true, hasAudioTrack: true });
      expect(probeMp4(fixture('upload-rotated-moov-last.mp4'), chunk)).toEqual({ duration: 3, width: 120, height: 160, hasVideoTrack: true, hasAudioTrack: false });
      expect(probeMp4(fixture('upload-audio.m4a'), chunk)).toMatchObject({ duration: 2, width: null, height: null, hasVideoTrack: false, hasAudioTrack: true });
    }
  });

  it('skips a 64-bit sized mdat without reading it into memory', () => {
    const video = fixture('video.mp4');
    const head = mp4BoxesExceptMdat(video);
    const probe = new Mp4Probe();
    // A largesize mdat header claiming 5 GiB, of which only a little is fed: moov came first.
    const mdat = Buffer.alloc(16);
    mdat.writeUInt32BE(1, 0);
    mdat.write('mdat', 4, 'latin1');
    mdat.writeBigUInt64BE(5n * 2n ** 30n, 8);
    probe.write(head);
    probe.write(mdat);
    probe.write(Buffer.alloc(1 << 20));
    expect(probe.result()).toMatchObject({ duration: 2, width: 160, height: 120 });
  });

  it('says nothing of a file without moov, or garbage', () => {
    expect(probeMp4(Buffer.from('not an mp4 at all, just text'), 5)).toBeNull();
    expect(parseMoov(Buffer.alloc(3))).toEqual({ duration: null, width: null, height: null, hasVideoTrack: false, hasAudioTrack: false });
  });
});

describe('createProbe', () => {
  it('never throws on a truncated file: unknown dimensions are null', async () => {
    const probe = createProbe('image/jpeg');
    await probe.write(fixture('photo.jpg').subarray(0, 20));
    expect(await probe.end()).toMatchObject({ width: null, height: null });
    const audio = createProbe('audio/ogg; codecs=opus');
    await audio.write(fixture('voice.ogg').subarray(0, 100));
    expect((await audio.end()).duration).toBeNull();
  });
});

describe('acceptedMime', () => {
  it('follows WhatsApp: stickers are WebP, voice notes Ogg/Opus, an MP4 without video is audio, documents anything', () => {
    expect(acceptedMime('sticker', 'image/webp')).toBe('image/webp');
    expect(acceptedMime('sticker', 'image/png')).toBeNull();
    expect(acceptedMime('audio', 'audio/ogg; codecs=opus')).toBe('audio/ogg; codecs=opus');
    expect(acceptedMime('audio', 'audio/ogg')).toBeNull();
    expect(acceptedMime('audio', 'video/mp4', { hasVideoTrack: false })).toBe('audio/mp4');
    expect(acceptedMime('audio', 'video/mp4', { hasVideoTrack: true })).toBeNull();
    expect(acceptedMime('video', 'video/3gpp')).toBe('video/3gpp');
    expect(acceptedMime('video', 'video/quicktime')).toBeNull();
    expect(acceptedMime('image', undefined)).toBeNull();
    expect(acceptedMime('document', undefined)).toBe('application/octet-stream');
    expect(acceptedMime('document', 'application/zip')).toBe('application/zip');
  });
});
