import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../platform/db/db.js';
import type { AppEnv } from '../../platform/http/app.js';
import type { Logger } from '../../platform/logger.js';
import type { MediaKind, MediaStorage } from './domain/media.js';
import { LocalMediaStorage } from './adapters/local-media-storage.js';
import { mediaRoutes } from './http/media-routes.js';

export interface MediaModuleDeps {
  db: Db;
  storage: MediaStorage;
  limits: Record<MediaKind, number>;
  requireAuth: MiddlewareHandler<AppEnv>;
  logger: Logger;
}

/** POST /media, and GET /media/files/* when the files are on local disk. */
export function createMediaModule(deps: MediaModuleDeps) {
  const local = deps.storage instanceof LocalMediaStorage ? deps.storage : undefined;
  return { router: mediaRoutes({ ...deps, local }) };
}
