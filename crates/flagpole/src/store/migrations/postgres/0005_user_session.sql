-- Sign-in sessions of users (the users themselves are documents). `user_session_id` is the
-- SHA-256 of the session id in the cookie, so a copy of this table opens no session.
-- `updated_at` is the last activity (for the idle timeout); `expires_at` the absolute end.
create table user_session (
    user_session_id text primary key,
    user_id bigint not null,
    created_at bigint not null,
    updated_at bigint not null,
    expires_at bigint not null
);
create index user_session_user on user_session (user_id);
create index user_session_expires_at on user_session (expires_at);
