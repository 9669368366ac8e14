-- Look users up by lower(email) = lower(?), the form both engines share
-- (issue 18): PostgreSQL has no NOCASE, and there the unique index is on
-- lower(email) (sql/pg/0001). email's UNIQUE COLLATE NOCASE stays: this
-- index only lets the lookup use an index. SQLite's lower() folds ASCII
-- only, as NOCASE does.
CREATE INDEX users_email_lower ON users(lower(email));
