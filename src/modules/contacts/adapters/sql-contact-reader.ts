import type { Queryable } from '../../../platform/db/db.js';
import { liveSessionId } from '../../chats/index.js';
import type { ContactReader, ContactScope, ContactView } from '../application/ports.js';

/** session_contacts (written by the messaging projection), read by its primary key (session_id, id). */
export class SqlContactReader implements ContactReader {
  constructor(private readonly db: Queryable) {}

  liveSessionId(tenantId: string): Promise<string | undefined> {
    return liveSessionId(this.db, tenantId);
  }

  async listContacts(scope: ContactScope, page: { limit: number; afterId: string | null }): Promise<ContactView[]> {
    const params: unknown[] = [scope.tenantId, scope.sessionId, page.limit];
    if (page.afterId !== null) params.push(page.afterId);
    const rows = await this.db.query<{ id: string; name: string | null; notify: string | null; phone: string | null; lid: string | null; img_url: string | null }>(
      `select id, name, notify, phone, lid, img_url from session_contacts
       where session_id = $2::uuid and tenant_id = $1::uuid ${page.afterId !== null ? 'and id > $4' : ''}
       order by id
       limit $3`,
      params,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, notify: r.notify, phone: r.phone, lid: r.lid, imgUrl: r.img_url }));
  }
}
