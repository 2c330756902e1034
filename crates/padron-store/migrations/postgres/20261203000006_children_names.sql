-- A parent's children are read in one range scan of its link rows, with no lookup per child:
-- each link row carries its child's name and email (what `children` shows), kept right by every
-- write that changes them (rename, new email; a deleted identity's links are removed with it).
-- Reading 10,000 children used to join each link with its child's row by primary key.
-- Kept in step with sqlite.
alter table identity_children add column child_name text, add column child_email text;

update identity_children c set child_name = i.name, child_email = i.email
from identities i
where i.client_id = c.client_id and i.environment = c.environment and i.id = c.child_id
    and i.deleted_at is null;

-- Links to a deleted (or missing) identity were never shown and are removed with the identity;
-- none should exist, and none is kept.
delete from identity_children where child_name is null;

alter table identity_children alter column child_name set not null;

-- The link-order index (the one the children read names in its ORDER BY) carries the name and
-- email too, so the read can be an index-only scan of one parent's range.
drop index identity_children_order_idx;
create index identity_children_order_idx
    on identity_children (client_id, environment, parent_id, linked_at, child_id)
    include (child_name, child_email);
