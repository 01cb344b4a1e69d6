import type { Queryable } from '../../../platform/db/db.js';
import { notFound } from '../../../shared/errors.js';
import type { UserRepository } from './ports.js';
import { toUserView, type UserView } from './user-view.js';

/** The authenticated user, read by the id and tenant of verified token claims only. */
export class GetCurrentUserQuery {
  constructor(private readonly deps: { db: Queryable; users: UserRepository }) {}

  async execute(auth: { userId: string; tenantId: string }): Promise<UserView> {
    const user = await this.deps.users.findById(this.deps.db, auth.userId);
    if (!user || user.tenantId !== auth.tenantId) throw notFound('user');
    return toUserView(user);
  }
}
