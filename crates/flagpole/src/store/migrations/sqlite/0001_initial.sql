-- Every aggregate (project, environment, flag, segment, tag type, context field, API token) is one
-- JSON document, read and written whole. `revision` is the global revision of its last write;
-- deletions leave a tombstone so replicas can catch up with `revision > n`.
create table document (
    kind text not null,
    doc_key text not null,
    body text not null,
    revision bigint not null,
    deleted bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    primary key (kind, doc_key)
);
create index document_revision on document (revision);

-- A single row whose increment serialises writers and numbers every commit.
create table state_revision (
    state_revision_id integer primary key,
    revision bigint not null
);
insert into state_revision (state_revision_id, revision) values (1, 0);

-- The audit log. Written in the same transaction as the change it describes.
create table event (
    event_id integer primary key autoincrement,
    revision bigint not null,
    event_type text not null,
    created_at bigint not null,
    created_by text not null,
    created_by_user_id bigint not null,
    project text,
    environment text,
    feature_name text,
    data text,
    pre_data text,
    tags text not null default '[]'
);
create index event_feature_name on event (feature_name, event_id);
create index event_project on event (project, event_id);
create index event_created_at on event (created_at);
