CREATE TABLE mig_books (
    id BIGINT PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES mig_authors (id),
    title TEXT NOT NULL,
    year BIGINT
);
INSERT INTO mig_books VALUES (1, 1, 'The Dispossessed', 1974);
