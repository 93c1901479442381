-- Tamper evidence for the audit log: each event stores the hash of its predecessor and its own
-- hash over its content, forming a chain (see store/audit_chain.rs). Events written before this
-- migration are chained once at start-up.
alter table event add column prev_hash text;
alter table event add column hash text;
-- Finds events still to be chained at start-up without scanning the whole log.
create index event_unhashed on event (event_id) where hash is null;
