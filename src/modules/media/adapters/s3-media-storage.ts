import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Transform, type Readable } from 'node:stream';
import { DomainError } from '../../../shared/errors.js';
import type { MediaStorage, StoredObject } from '../domain/media.js';
import { encodeKeyPath } from './local-media-storage.js';

export interface S3StorageOptions {
  /** e.g. https://<account-id>.r2.cloudflarestorage.com; unset: AWS S3 of `region`. */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Public base URL of the bucket (R2: https://<bucket>.<account-id>.r2.dev or a custom domain). */
  publicBaseUrl: string | undefined;
  /** Size of each part of a multipart upload (min 5 MiB); a smaller object goes up in one PutObject. */
  partSize?: number;
  /** Parts uploaded at once; memory held per upload is about partSize × (queueSize + 1). */
  queueSize?: number;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 2;

/**
 * S3-compatible object storage (AWS S3, Cloudflare R2, MinIO, ...). Writes stream through
 * lib-storage's Upload: one PutObject below partSize, a multipart upload above it (aborted, its
 * parts deleted, when the body fails midway), so memory stays near partSize × (queueSize + 1)
 * whatever the file's size. URLs are public-bucket URLs: S3_PUBLIC_BASE_URL/<key>.
 */
export class S3MediaStorage implements MediaStorage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly base: string;

  constructor(private readonly options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // Checksums only where the API requires them: several S3-compatible services (older MinIO,
      // R2 before it supported them) reject the SDK's default CRC32 trailers on uploads.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.base = options.publicBaseUrl?.replace(/\/+$/, '') ?? defaultBaseUrl(options);
  }

  async put(key: string, body: Readable, options: { contentType: string; contentLength?: number }): Promise<StoredObject> {
    let size = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          callback(null, chunk);
        },
      }),
    );
    // pipe() does not forward errors: the body's failure (a size limit, a client gone) must fail the upload.
    let bodyError: unknown;
    body.once('error', (error) => {
      bodyError = error;
      counted.destroy(error);
    });
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: counted,
        ContentType: options.contentType,
        ...(options.contentLength !== undefined ? { ContentLength: options.contentLength } : {}),
      },
      partSize: this.options.partSize ?? DEFAULT_PART_SIZE,
      queueSize: this.options.queueSize ?? DEFAULT_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      body.destroy();
      // Upload has aborted a multipart upload itself (leavePartsOnError: false); this stops what is in flight.
      await upload.abort().catch(() => {});
      // The body's own failure is the cause, even when aborting then failed too (and was reported instead).
      throw bodyError ?? error;
    }
    return { key, size, url: this.url(key) };
  }

  async get(key: string): Promise<Readable> {
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return result.Body as Readable;
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') {
        throw new DomainError('not_found', 'media_file_not_found', 'media file not found');
      }
      throw error;
    }
  }

  url(key: string): string {
    return `${this.base}/${encodeKeyPath(key)}`;
  }

  async deletePrefix(prefix: string): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => !!k);
      if (keys.length > 0) {
        const result = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
        );
        if (result.Errors && result.Errors.length > 0) {
          throw new Error(`S3 could not delete ${result.Errors.length} object(s) under ${prefix}: ${result.Errors[0]?.Code} ${result.Errors[0]?.Message}`);
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  close(): void {
    this.client.destroy();
  }
}

/** Without S3_PUBLIC_BASE_URL: the bucket's own address (path style or virtual-hosted, or AWS's). */
function defaultBaseUrl(o: S3StorageOptions): string {
  if (!o.endpoint) return `https://${o.bucket}.s3.${o.region}.amazonaws.com`;
  const endpoint = new URL(o.endpoint);
  const origin = `${endpoint.protocol}//${endpoint.host}`;
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  if (o.forcePathStyle) return `${origin}${basePath}/${o.bucket}`;
  return `${endpoint.protocol}//${o.bucket}.${endpoint.host}${basePath}`;
}
