/** The contacts module's public surface: the read API over session_contacts. */
export { createContactsModule } from './contacts.module.js';
export type { ContactView } from './application/ports.js';
