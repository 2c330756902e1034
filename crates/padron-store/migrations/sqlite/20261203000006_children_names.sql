-- A parent's children are read in one range scan of its link rows, with no lookup per child:
-- each link row carries its child's name and email (what `children` shows), kept right by every
-- write that changes them (rename, new email; a deleted identity's links are removed with it).
-- Reading 10,000 children used to be 20,000 b-tree descents (the link, then the child's row by
-- primary key), most of them missing the page cache. Kept in step with postgres.
--
-- SQLite: the table is rebuilt WITHOUT ROWID, so its rows live in the primary key's b-tree and
-- one parent's links (all their columns) sit together in its leaves. The link-order index is
-- not kept: the order is made in Rust (backend::IdentityWithChildrenRow), and a secondary index
-- holds no name or email, so a scan of it would look each row up again.
create table identity_children_named (
    client_id    text    not null,
    environment  text    not null,
    parent_id    text    not null,
    child_id     text    not null,
    linked_at    integer not null,
    -- The child's `identities.name` and `identities.email`, as stored there.
    child_name   text    not null,
    child_email  text,
    constraint identity_children_pkey primary key (client_id, environment, parent_id, child_id)
) without rowid;

-- Links to a deleted (or missing) identity were never shown and are removed with the identity;
-- none should exist, and none is carried over.
insert into identity_children_named
    (client_id, environment, parent_id, child_id, linked_at, child_name, child_email)
select c.client_id, c.environment, c.parent_id, c.child_id, c.linked_at, i.name, i.email
from identity_children c
join identities i
    on i.client_id = c.client_id and i.environment = c.environment and i.id = c.child_id
    and i.deleted_at is null;

drop table identity_children;
alter table identity_children_named rename to identity_children;
create index identity_children_child_idx on identity_children (client_id, environment, child_id);
