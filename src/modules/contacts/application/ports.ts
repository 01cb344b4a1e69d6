/** What GET /contacts answers per contact. */
export interface ContactView {
  /** The canonical JID: the phone JID when the number is known, else the LID. */
  id: string;
  name: string | null;
  notify: string | null;
  /** Digits of the phone number, when known. */
  phone: string | null;
  lid: string | null;
  imgUrl: string | null;
}

export interface ContactScope {
  tenantId: string;
  sessionId: string;
}

export interface ContactReader {
  liveSessionId(tenantId: string): Promise<string | undefined>;
  /** By id, after the previous page's last id; limit + 1 asked for to know whether more follow. */
  listContacts(scope: ContactScope, page: { limit: number; afterId: string | null }): Promise<ContactView[]>;
}
