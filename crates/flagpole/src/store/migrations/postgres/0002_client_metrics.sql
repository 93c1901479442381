-- SDK instances that registered, per environment.
create table client_application (
    app_name text not null,
    instance_id text not null,
    environment text not null,
    sdk_version text,
    strategies text not null default '[]',
    interval_ms bigint,
    started_at text,
    first_seen_at bigint not null,
    last_seen_at bigint not null,
    primary key (app_name, instance_id, environment)
);

-- Evaluation counts per flag, application, environment and hour (epoch milliseconds).
create table client_metric (
    feature_name text not null,
    app_name text not null,
    environment text not null,
    hour_start bigint not null,
    yes bigint not null,
    no bigint not null,
    primary key (feature_name, app_name, environment, hour_start)
);
create index client_metric_hour on client_metric (hour_start);

create table client_metric_variant (
    feature_name text not null,
    app_name text not null,
    environment text not null,
    hour_start bigint not null,
    variant text not null,
    count bigint not null,
    primary key (feature_name, app_name, environment, hour_start, variant)
);

-- When SDKs last reported evaluating a flag in an environment.
create table feature_last_seen (
    feature_name text not null,
    environment text not null,
    last_seen_at bigint not null,
    primary key (feature_name, environment)
);
