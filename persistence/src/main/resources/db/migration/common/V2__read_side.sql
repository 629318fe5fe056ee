-- The read side: tables kept by projections of the journal, so lists are answered by one query
-- instead of asking every entity. Unquoted names: H2 folds them to upper case and PostgreSQL to
-- lower case, so the same unquoted SQL finds them on both (unlike the plugin's quoted tables).

-- One row per volume that exists (deleted volumes have none): the API's view of it as JSON, as
-- the Volume entity answered it when the projection last saw one of its events.
CREATE TABLE volume_list (
    id          VARCHAR(63)      NOT NULL PRIMARY KEY,
    name        VARCHAR(63)      NOT NULL,
    state       VARCHAR(16)      NOT NULL,
    -- a view with 16 controllers x 16 legs of 3-sided groups stays far below this
    view_json   VARCHAR(1048576) NOT NULL,
    -- journal ordering of the event after which the view was asked for
    ordering    BIGINT           NOT NULL,
    updated_at  TIMESTAMP        NOT NULL
);

-- Where each projection has got to in the journal: the ordering of the last event whose effect
-- is committed, written in the same transaction as that effect.
CREATE TABLE projection_offset (
    projection  VARCHAR(100) NOT NULL PRIMARY KEY,
    ordering    BIGINT       NOT NULL,
    updated_at  TIMESTAMP    NOT NULL
);

-- Volume events written before Volume tagged them carry no tag; tag them now, so a journal from
-- an earlier version is projected in full. (On a new database the journal is empty here.)
INSERT INTO "event_tag" ("event_id", "tag")
SELECT "ordering", 'volume' FROM "event_journal" WHERE "persistence_id" LIKE 'Volume|%';
