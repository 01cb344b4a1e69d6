import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { tempDir } from '../support/services.js';

// The SDK warns once per process that its releases from 2027 need Node 22; not this suite's business.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The S3_* variables that point wahub at this server. */
  env: Record<string, string>;
  client: S3Client;
  /** Keys under a prefix, straight from the server. */
  keys(prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A real S3-compatible server for the tests (s3rver, from npm: the S3 REST API over files in a
 * temporary folder, SigV4 checked with the key pair S3RVER/S3RVER), on a random loopback port.
 */
export async function startTestS3(bucket = 'wahub-media'): Promise<TestS3> {
  const data = tempDir('wahub-s3-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: data.dir, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  return {
    endpoint,
    bucket,
    env: {
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
    client,
    async keys(prefix) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (page.Contents ?? []).map((o) => o.Key!).sort();
    },
    async stop() {
      client.destroy();
      await server.close();
      data.remove();
    },
  };
}
