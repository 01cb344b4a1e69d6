import busboy from 'busboy';
import type { Readable } from 'node:stream';
import { DomainError } from '../../../shared/errors.js';
import type { UploadPart } from '../application/upload-media.use-case.js';

const malformed = (message: string) => new DomainError('invalid', 'malformed_multipart', message);

/**
 * A multipart/form-data body as the parts stream in (busboy). A file part's stream must be read (or
 * resumed) before the next part comes: busboy waits for it, so the body is never held in memory.
 * Stopping early (an error, a refusal) unpipes the body; the HTTP server then discards the rest.
 */
export async function* multipartParts(
  body: Readable,
  contentType: string,
  limits: { fields: number; fieldSize: number; parts: number },
): AsyncGenerator<UploadPart> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, limits, defParamCharset: 'utf8' });
  } catch (error) {
    throw malformed(`Not a multipart/form-data body: ${(error as Error).message}`);
  }
  const queue: UploadPart[] = [];
  let failure: unknown;
  let closed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) failure ??= malformed(`The field ${name} is longer than ${limits.fieldSize} bytes`);
    else queue.push({ type: 'field', name, value });
    notify();
  });
  parser.on('file', (name, stream, info) => {
    // busboy fails a file stream cut short; whoever reads it sees that error, and one nobody
    // reads (a refused form) must not crash the process with it.
    stream.on('error', () => {});
    queue.push({ type: 'file', name, stream, fileName: info.filename });
    notify();
  });
  parser.on('partsLimit', () => {
    failure ??= malformed(`The form has more than ${limits.parts} parts`);
    notify();
  });
  parser.on('fieldsLimit', () => {
    failure ??= malformed(`The form has more than ${limits.fields} fields`);
    notify();
  });
  parser.on('error', (error: Error) => {
    failure ??= malformed(`Malformed multipart body: ${error.message}`);
    notify();
  });
  parser.on('close', () => {
    closed = true;
    notify();
  });
  // A body cut short (the client went away, a timeout): busboy fails the file stream being read,
  // so nothing waits for bytes that will not come.
  const cutShort = () => {
    if (closed || failure) return;
    failure = new DomainError('invalid', 'upload_incomplete', 'The request body ended before the form did');
    parser.destroy(failure as Error);
    notify();
  };
  body.on('error', cutShort);
  body.on('close', () => {
    if (!body.readableEnded) cutShort();
  });
  body.pipe(parser);
  try {
    for (;;) {
      if (failure) throw failure;
      const part = queue.shift();
      if (part) {
        yield part;
        continue;
      }
      if (closed) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    if (!closed) body.unpipe(parser);
    // Files not yet read would hold busboy: let them go.
    for (const part of queue) if (part.type === 'file') part.stream.resume();
  }
}
