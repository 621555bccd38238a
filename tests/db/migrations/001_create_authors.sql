-- the first migration: a table and a row
CREATE TABLE mig_authors (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO mig_authors VALUES (1, 'Ursula');
