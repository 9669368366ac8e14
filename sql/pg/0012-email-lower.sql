-- Mirrors sql/0012-email-lower.sql for PostgreSQL: nothing to do. The
-- unique index users_email_lower on lower(email) was made with the table
-- (0001); the number keeps the two lists in step.
SELECT 1;
