-- A tracking link turned off on its own (`disablelink`), as opposed to with its
-- promoter (`revoke`): who turned it off. A promoter may turn back on only a link
-- they turned off themselves; an organizer any link of a promoter still active.
ALTER TABLE links ADD COLUMN disabled_by INTEGER REFERENCES people(id);
