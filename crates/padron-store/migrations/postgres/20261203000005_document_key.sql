-- The documentNumber filter key becomes the letters and digits of the canonical number, upper
-- case, leading zeros kept (padron_store::document_key). The old key also dropped leading zeros
-- whatever the type, so a passport 00AB123 matched AB123 and 1234567890 matched the CPF
-- 01234567890. Canonical numbers hold only upper-case letters (a Mexican RFC's Ñ among them),
-- digits, a Mexican RFC's '&' and, in a Chilean RUT, one '-', so removing the dash gives the new
-- key. Uniqueness uses document_number, not this column,
-- so it is unchanged. Kept in step with sqlite.
update identities set document_key = upper(replace(document_number, '-', ''));
