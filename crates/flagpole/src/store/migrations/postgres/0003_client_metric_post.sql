-- Metrics posts already counted, so that an SDK that re-sends the same bucket (after a timeout,
-- or to another replica) is not counted twice. Kept for two days.
create table client_metric_post (
    app_name text not null,
    instance_id text not null,
    environment text not null,
    bucket_start text not null,
    bucket_stop text not null,
    received_at bigint not null,
    primary key (app_name, instance_id, environment, bucket_start, bucket_stop)
);
create index client_metric_post_received_at on client_metric_post (received_at);
