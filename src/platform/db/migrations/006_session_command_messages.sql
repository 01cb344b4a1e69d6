-- A send's outcome names the message it created, so a server NACK that arrives after the send
-- resolved (e.g. 463) can be traced back to the request that made it.
create index session_commands_message on session_commands (session_id, (result ->> 'messageId'))
  where result ? 'messageId';
