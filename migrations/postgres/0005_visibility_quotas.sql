-- Who may find a picture without a link: `unlisted` (only its links work) or `public`
-- (listed in the gallery, viewable without a token). Pictures made before this
-- migration were all listed, so they stay public; new ones take `--default-visibility`.
ALTER TABLE pictures ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
CREATE INDEX pictures_listed ON pictures (created_at DESC) WHERE visibility = 'public' AND status = 'ready';

-- The address an unfinished tus upload came from, for the per-address quotas (NULL:
-- loopback or unknown, not counted).
ALTER TABLE uploads ADD COLUMN address TEXT;
CREATE INDEX uploads_unfinished ON uploads (address) WHERE picture_id IS NULL;
