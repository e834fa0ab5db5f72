"""Schema migrations, applied in order; PRAGMA user_version records how far a file has come."""

MIGRATIONS: list[str] = [
    # 1: titles, runs, assets, scenes, keyframes, features, tags, embeddings
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        tagger_version TEXT NOT NULL,
        pipeline_name TEXT NOT NULL,
        pipeline TEXT NOT NULL,          -- JSON: stages, settings, taxonomy
        versions TEXT NOT NULL,          -- JSON: stage -> models and library versions
        titles_ok INTEGER NOT NULL DEFAULT 0,
        titles_failed INTEGER NOT NULL DEFAULT 0,
        titles_skipped INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE titles (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        metadata TEXT NOT NULL,          -- JSON: synopsis, year, original_language, regions, ...
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        error TEXT,
        source TEXT,
        duration_s REAL,
        media TEXT,                      -- JSON from the probe
        modalities TEXT NOT NULL DEFAULT '{}',   -- JSON: stage -> ran/skipped/failed, reason, seconds
        micro_genres TEXT NOT NULL DEFAULT '[]',
        fingerprint TEXT,
        run_id INTEGER REFERENCES runs(id),
        analysis_s REAL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE assets (
        title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('video', 'subtitle')),
        path TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        language TEXT,
        PRIMARY KEY (title_id, path)
    );
    CREATE TABLE scenes (
        title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        start_frame INTEGER NOT NULL,
        end_frame INTEGER NOT NULL,      -- exclusive: the next scene's start_frame
        PRIMARY KEY (title_id, idx)
    );
    CREATE TABLE keyframes (
        title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        scene_idx INTEGER NOT NULL,
        frame INTEGER NOT NULL,
        time_s REAL NOT NULL,
        sharpness REAL NOT NULL,
        jpeg BLOB NOT NULL,
        PRIMARY KEY (title_id, scene_idx, frame)
    );
    CREATE TABLE features (
        title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        scene_idx INTEGER NOT NULL,      -- -1 for the whole title
        name TEXT NOT NULL,              -- "visual.brightness", "audio.tempo_bpm", ...
        value TEXT NOT NULL,             -- JSON
        PRIMARY KEY (title_id, scene_idx, name)
    );
    CREATE TABLE tags (
        title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        scene_idx INTEGER NOT NULL,      -- -1 for the whole title
        facet TEXT NOT NULL,
        label TEXT NOT NULL,
        confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
        status TEXT NOT NULL CHECK (status IN ('auto', 'accepted', 'rejected', 'added')),
        modalities TEXT NOT NULL,        -- JSON list
        stages TEXT NOT NULL,            -- JSON: stage -> model/version that scored it
        evidence TEXT NOT NULL,          -- JSON list
        run_id INTEGER REFERENCES runs(id),
        editor TEXT,
        comment TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (title_id, tag, scene_idx)
    );
    CREATE INDEX tags_by_tag ON tags (tag);
    CREATE TABLE embeddings (
        title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        space TEXT NOT NULL,             -- text | visual | audio | tags | fused
        model_id TEXT NOT NULL,
        dim INTEGER NOT NULL,
        version TEXT NOT NULL,
        vector BLOB NOT NULL,            -- float32 little-endian, L2-normalised
        PRIMARY KEY (title_id, space)
    );
    """,
    # 2: editors' review: a version per tag for optimistic concurrency, editors with hashed
    #    passwords and tokens, the append-only decision log, and settings (the session secret)
    """
    ALTER TABLE tags ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX tags_by_status ON tags (status, title_id);
    CREATE TABLE editors (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,     -- scrypt$n$r$p$salt_hex$hash_hex
        token_hash TEXT NOT NULL UNIQUE, -- sha256 hex of the API token (the token is shown once)
        created_at TEXT NOT NULL
    );
    CREATE TABLE tag_decisions (         -- append-only: the triggers below refuse updates and deletes
        id INTEGER PRIMARY KEY,
        title_id TEXT NOT NULL,          -- no foreign key: the log outlives the tag rows it describes
        tag TEXT NOT NULL,
        scene_idx INTEGER NOT NULL,
        editor TEXT NOT NULL,
        at TEXT NOT NULL,
        before_status TEXT,              -- NULL when the decision created the row (an added tag)
        before_confidence REAL,
        after_status TEXT NOT NULL CHECK (after_status IN ('accepted', 'rejected', 'added')),
        version INTEGER NOT NULL,        -- the tag's version after the decision
        comment TEXT
    );
    CREATE INDEX tag_decisions_by_title ON tag_decisions (title_id, id);
    CREATE TRIGGER tag_decisions_no_update BEFORE UPDATE ON tag_decisions
    BEGIN SELECT RAISE(ABORT, 'tag_decisions is append-only'); END;
    CREATE TRIGGER tag_decisions_no_delete BEFORE DELETE ON tag_decisions
    BEGIN SELECT RAISE(ABORT, 'tag_decisions is append-only'); END;
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 3: the web app's sign-in sessions, kept server-side so that signing out (or a new password
    #    or token) ends them; the cookie carries a random session id, the catalog only its sha256
    """
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,        -- sha256 hex of the session id in the editor's cookie
        editor TEXT NOT NULL REFERENCES editors(name) ON DELETE CASCADE,
        created_unix_s REAL NOT NULL,    -- seconds since 1970 (UTC): the absolute lifetime runs from here
        last_seen_unix_s REAL NOT NULL   -- the idle lifetime runs from here
    );
    CREATE INDEX sessions_by_editor ON sessions (editor);
    """,
    # 4: the review queue kept ready for paging: one row per pending (auto) title-level tag with
    #    its priority and the parts shown with it, written with the tags (catalog/queue.py), so a
    #    page is an indexed range read; for the paged title list, each title's searched text
    #    (id, title, synopsis, lower case) kept narrow by triggers, and indexes for its filters
    """
    CREATE TABLE review_queue (
        title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        facet TEXT NOT NULL,
        confidence REAL NOT NULL,
        priority REAL NOT NULL,          -- rounded as shown; the queue's order is by this first
        uncertainty REAL NOT NULL,
        recency REAL NOT NULL,           -- as of the date in settings 'review_queue_date'
        reach REAL NOT NULL,
        PRIMARY KEY (title_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX review_queue_in_order ON review_queue (priority DESC, confidence, title_id, tag);
    CREATE INDEX review_queue_by_facet ON review_queue (facet, priority DESC, confidence, title_id, tag);
    CREATE INDEX titles_by_status ON titles (status, id);
    CREATE INDEX tags_by_facet ON tags (facet, title_id);
    CREATE TABLE title_search (         -- what ?q= searches, without reading the wide titles rows
        id TEXT PRIMARY KEY REFERENCES titles(id) ON DELETE CASCADE,
        text TEXT NOT NULL              -- lower(id, title, synopsis), joined by char(31)
    ) WITHOUT ROWID;
    INSERT INTO title_search SELECT id, lower(id || char(31) || title || char(31)
        || coalesce(json_extract(metadata, '$.synopsis'), '')) FROM titles;
    CREATE TRIGGER title_search_insert AFTER INSERT ON titles
    BEGIN INSERT INTO title_search VALUES (new.id, lower(new.id || char(31) || new.title || char(31)
        || coalesce(json_extract(new.metadata, '$.synopsis'), ''))); END;
    CREATE TRIGGER title_search_update AFTER UPDATE OF title, metadata ON titles
    BEGIN UPDATE title_search SET text = lower(new.id || char(31) || new.title || char(31)
        || coalesce(json_extract(new.metadata, '$.synopsis'), '')) WHERE id = new.id; END;
    """,
    # 5: what an editor's answer on a pending tag teaches (1 for tags no learned head decided,
    #    less for heads trained on many labels); the queue is rebuilt on its next read
    """
    ALTER TABLE review_queue ADD COLUMN gain REAL NOT NULL DEFAULT 1.0;
    DELETE FROM settings WHERE key = 'review_queue_date';
    """,
]
