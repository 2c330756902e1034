-- pgbench script: one row shaped like Padron's `identities` (USER, CHL, RUT, unique email),
-- one transaction per row (autocommit). Used by bench/load.sh:
--   pgbench -n -c 32 -j 2 -T 10 -f bench/pg_insert.sql postgres://…/db_with_padron_migrations
\set n random(1, 2000000000)
insert into identities (client_id, environment, id, kind, name, email, email_key, phone, phone_key,
    country, document_type, document_number, document_key, status, external_id, attributes,
    created_at, updated_at, version, deleted_at)
select 'cli_0123456789abcdef01234567', 'sandbox', x.id, 'USER', 'Bench User', x.email, x.email,
    '+56912345678', '+56912345678', 'CHL', 'RUT', x.doc, replace(x.doc, '-', ''), 'ACTIVE', null,
    '{"nickname":"bench","idv":"iv-1","security":{"two_factor_auth":false,"sign_trx":false,"sign_accounts_operations":false,"scopes":[]}}',
    x.now, x.now, 1, null
from (select substr(md5(random()::text || clock_timestamp()::text || :client_id), 1, 24) as id,
             'u' || :client_id || 'x' || :n || '_' || (extract(epoch from clock_timestamp()) * 1000000)::bigint || '@bench.example.com' as email,
             (10000000 + :n % 89999999)::text || '-' || (:n % 10)::text as doc,
             (extract(epoch from clock_timestamp()) * 1000000)::bigint as now) x;
