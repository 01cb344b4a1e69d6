import path from 'node:path';
import type { Config } from '../platform/config.js';
import { createMediaModule, LocalMediaStorage, S3MediaStorage, type MediaStorage } from '../modules/media/index.js';
import type { Modules } from './modules.js';
import type { Resources } from './resources.js';
import type { AuthPorts } from './sessions-module.js';

/** S3-compatible storage when S3_BUCKET is set, else local disk under DATA_DIR/media. */
export function createMediaStorage(config: Config): MediaStorage {
  if (config.s3) return new S3MediaStorage(config.s3);
  return new LocalMediaStorage(path.join(config.dataDir, 'media'), config.apiPublicUrl ?? '');
}

/** Media: POST /media (uploads to send), and GET /media/files/* when files are on local disk. */
export function buildMediaModule(resources: Resources, auth: Pick<AuthPorts, 'requireAuth'>): Pick<Modules, 'routers'> {
  const { config, db, logger, mediaStorage } = resources;
  const media = createMediaModule({
    db,
    storage: mediaStorage,
    limits: config.mediaUploadMaxBytes,
    requireAuth: auth.requireAuth,
    logger: logger.child({ module: 'media' }),
  });
  return { routers: [media.router] };
}
