import { isEmailVerified, type User } from '../domain/user.js';

/** What the API shows of a user: never the password hash or the token version. */
export interface UserView {
  id: string;
  tenantId: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  emailVerifiedAt: string | null;
  createdAt: string;
}

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    name: user.name,
    emailVerified: isEmailVerified(user),
    emailVerifiedAt: user.emailVerifiedAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}
