"""Initial schema: companies, contacts, filters, jobs, chunks, row errors, search outbox.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = r"""
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is STABLE (it reads a dictionary); indexes need an IMMUTABLE wrapper that
-- names the dictionary explicitly, the documented way to index unaccented text.
CREATE OR REPLACE FUNCTION connectra_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$;

CREATE TABLE companies (
    uuid              uuid PRIMARY KEY,
    name              text,
    normalized_domain text,
    website           text,
    linkedin_url      text,
    industries        text[] NOT NULL DEFAULT '{}',
    keywords          text[] NOT NULL DEFAULT '{}',
    technologies      text[] NOT NULL DEFAULT '{}',
    employees_count   bigint CHECK (employees_count >= 0),
    annual_revenue    bigint CHECK (annual_revenue >= 0),
    total_funding     bigint CHECK (total_funding >= 0),
    address           text,
    city              text,
    state             text,
    country           text,
    phone             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz
);
CREATE UNIQUE INDEX companies_normalized_domain_key
    ON companies (normalized_domain) WHERE normalized_domain IS NOT NULL;

CREATE TABLE contacts (
    uuid          uuid PRIMARY KEY,
    first_name    text,
    last_name     text,
    email         text,
    title         text,
    seniority     text,
    departments   text[] NOT NULL DEFAULT '{}',
    mobile_phone  text,
    email_status  text,
    linkedin_url  text,
    city          text,
    state         text,
    country       text,
    company_id    uuid REFERENCES companies (uuid) DEFERRABLE INITIALLY DEFERRED,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE UNIQUE INDEX contacts_email_key ON contacts (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX contacts_company_id_idx ON contacts (company_id);

CREATE TABLE filters (
    id             bigserial PRIMARY KEY,
    service        text NOT NULL CHECK (service IN ('contacts', 'companies')),
    key            text NOT NULL,
    display_name   text NOT NULL,
    filter_type    text NOT NULL CHECK (filter_type IN ('text', 'keyword', 'range')),
    direct_derived boolean NOT NULL DEFAULT false,
    active         boolean NOT NULL DEFAULT true,
    UNIQUE (service, key)
);

CREATE TABLE filters_data (
    service       text NOT NULL,
    filter_key    text NOT NULL,
    value         text NOT NULL,
    display_value text NOT NULL,
    count         bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, filter_key, value)
);
CREATE INDEX filters_data_value_trgm ON filters_data USING gin (value gin_trgm_ops);

CREATE TABLE jobs (
    uuid             uuid PRIMARY KEY,
    job_type         text NOT NULL CHECK (job_type IN ('import', 'export')),
    entity           text NOT NULL CHECK (entity IN ('contacts', 'companies')),
    status           text NOT NULL,
    owner_key_id     text NOT NULL,
    idempotency_key  text,
    request_hash     text,
    source_bucket    text,
    source_key       text,
    source_etag      text,
    source_size      bigint,
    data             jsonb NOT NULL DEFAULT '{}',
    response         jsonb NOT NULL DEFAULT '{}',
    total_rows       bigint NOT NULL DEFAULT 0,
    inserted_rows    bigint NOT NULL DEFAULT 0,
    updated_rows     bigint NOT NULL DEFAULT 0,
    failed_rows      bigint NOT NULL DEFAULT 0,
    duplicate_rows   bigint NOT NULL DEFAULT 0,
    chunks_total     integer NOT NULL DEFAULT 0,
    retry_count      integer NOT NULL DEFAULT 0,
    max_retries      integer NOT NULL DEFAULT 3,
    retry_interval   integer NOT NULL DEFAULT 30,
    run_after        timestamptz,
    heartbeat_at     timestamptz,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE UNIQUE INDEX jobs_owner_idempotency_key
    ON jobs (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_owner_created_idx ON jobs (owner_key_id, created_at DESC, uuid);
CREATE INDEX jobs_status_run_after_idx ON jobs (status, run_after);

CREATE TABLE job_chunks (
    job_id          uuid NOT NULL REFERENCES jobs (uuid) ON DELETE CASCADE,
    chunk_index     integer NOT NULL,
    start_byte      bigint NOT NULL,
    end_byte        bigint NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    rows_total      bigint NOT NULL DEFAULT 0,
    inserted_rows   bigint NOT NULL DEFAULT 0,
    updated_rows    bigint NOT NULL DEFAULT 0,
    failed_rows     bigint NOT NULL DEFAULT 0,
    duplicate_rows  bigint NOT NULL DEFAULT 0,
    heartbeat_at    timestamptz,
    started_at      timestamptz,
    finished_at     timestamptz,
    error           text,
    PRIMARY KEY (job_id, chunk_index)
);

CREATE TABLE job_row_errors (
    job_id       uuid NOT NULL REFERENCES jobs (uuid) ON DELETE CASCADE,
    chunk_index  integer NOT NULL,
    line         bigint NOT NULL,
    column_name  text NOT NULL DEFAULT '',
    message      text NOT NULL,
    raw          text,
    PRIMARY KEY (job_id, line, column_name)
);
CREATE INDEX job_row_errors_chunk_idx ON job_row_errors (job_id, chunk_index);

CREATE TABLE search_outbox (
    entity       text NOT NULL CHECK (entity IN ('contacts', 'companies')),
    record_uuid  uuid NOT NULL,
    operation    text NOT NULL CHECK (operation IN ('upsert', 'delete')),
    enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error   text,
    PRIMARY KEY (entity, record_uuid)
);
CREATE INDEX search_outbox_due_idx ON search_outbox (next_attempt_at);
"""

FILTERS = [
    # (service, key, display_name, filter_type, direct_derived)
    ("contacts", "first_name", "First name", "text", True),
    ("contacts", "last_name", "Last name", "text", True),
    ("contacts", "email", "Email", "text", True),
    ("contacts", "title", "Title", "text", False),
    ("contacts", "seniority", "Seniority", "keyword", False),
    ("contacts", "departments", "Departments", "keyword", False),
    ("contacts", "mobile_phone", "Mobile phone", "keyword", True),
    ("contacts", "email_status", "Email status", "keyword", False),
    ("contacts", "linkedin_url", "LinkedIn URL", "keyword", True),
    ("contacts", "city", "City", "keyword", False),
    ("contacts", "state", "State", "keyword", False),
    ("contacts", "country", "Country", "keyword", False),
    ("contacts", "company_id", "Company", "keyword", True),
    ("contacts", "created_at", "Created at", "range", True),
    ("contacts", "updated_at", "Updated at", "range", True),
    ("contacts", "company_name", "Company name", "text", True),
    ("contacts", "company_normalized_domain", "Company domain", "keyword", True),
    ("contacts", "company_industries", "Company industries", "keyword", False),
    ("contacts", "company_keywords", "Company keywords", "keyword", False),
    ("contacts", "company_technologies", "Company technologies", "keyword", False),
    ("contacts", "company_employees_count", "Company employees", "range", True),
    ("contacts", "company_annual_revenue", "Company annual revenue", "range", True),
    ("contacts", "company_total_funding", "Company total funding", "range", True),
    ("contacts", "company_city", "Company city", "keyword", False),
    ("contacts", "company_state", "Company state", "keyword", False),
    ("contacts", "company_country", "Company country", "keyword", False),
    ("companies", "uuid", "Name", "keyword", False),
    ("companies", "name", "Company name", "text", True),
    ("companies", "normalized_domain", "Domain", "keyword", True),
    ("companies", "website", "Website", "text", True),
    ("companies", "linkedin_url", "LinkedIn URL", "keyword", True),
    ("companies", "industries", "Industries", "keyword", False),
    ("companies", "keywords", "Keywords", "keyword", False),
    ("companies", "technologies", "Technologies", "keyword", False),
    ("companies", "employees_count", "Employees", "range", True),
    ("companies", "annual_revenue", "Annual revenue", "range", True),
    ("companies", "total_funding", "Total funding", "range", True),
    ("companies", "address", "Address", "text", True),
    ("companies", "city", "City", "keyword", False),
    ("companies", "state", "State", "keyword", False),
    ("companies", "country", "Country", "keyword", False),
    ("companies", "phone", "Phone", "keyword", True),
    ("companies", "created_at", "Created at", "range", True),
    ("companies", "updated_at", "Updated at", "range", True),
]


def upgrade() -> None:
    op.execute(SCHEMA)
    for service, key, display_name, filter_type, direct_derived in FILTERS:
        op.execute(
            "INSERT INTO filters (service, key, display_name, filter_type, direct_derived) "
            f"VALUES ('{service}', '{key}', '{display_name}', '{filter_type}', {direct_derived}) "
            "ON CONFLICT (service, key) DO NOTHING"
        )


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS search_outbox, job_row_errors, job_chunks, jobs, filters_data, "
        "filters, contacts, companies CASCADE; DROP FUNCTION IF EXISTS connectra_fold(text)"
    )
