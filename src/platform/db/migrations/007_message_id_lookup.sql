-- Messages found by id alone (a forward from any chat, the simulator's phone side).
create index session_messages_by_id on session_messages (session_id, message_id);
