-- What changed in what the redirect's link table is built from (links, the memberships
-- behind them, the events' pages and shops, pretix vouchers), one row per change,
-- written by triggers in the same transaction as the change, in whichever process it
-- is made. A daemon applies the rows past the last one it read to just the links they
-- name: a change made by another process (the console) needs no rebuild. Rows are
-- contiguous (AUTOINCREMENT, one writer at a time); the daemon prunes old ones, and a
-- daemon whose position was pruned rebuilds its table once.
-- A later migration that rebuilds one of these tables (create, copy, drop, rename)
-- drops its triggers with it and must create them again.

-- `gone_code`: a code that no longer leads anywhere (its link deleted or recoded),
-- which reading the link by id cannot show.
CREATE TABLE link_log (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    link_id       INTEGER,
    membership_id INTEGER,
    event_id      INTEGER,
    gone_code     TEXT
);

CREATE TRIGGER links_insert_log AFTER INSERT ON links
BEGIN INSERT INTO link_log (link_id) VALUES (NEW.id); END;
CREATE TRIGGER links_update_log AFTER UPDATE OF code, event_id, membership_id, revoked_at ON links
BEGIN
    INSERT INTO link_log (link_id, gone_code)
    VALUES (NEW.id, CASE WHEN OLD.code IS NOT NEW.code THEN OLD.code END);
END;
CREATE TRIGGER links_delete_log AFTER DELETE ON links
BEGIN INSERT INTO link_log (link_id, gone_code) VALUES (OLD.id, OLD.code); END;

CREATE TRIGGER memberships_status_log AFTER UPDATE OF status ON memberships
BEGIN INSERT INTO link_log (membership_id) VALUES (NEW.id); END;
CREATE TRIGGER memberships_delete_log AFTER DELETE ON memberships
BEGIN INSERT INTO link_log (membership_id) VALUES (OLD.id); END;

CREATE TRIGGER events_page_log AFTER UPDATE OF ticket_url, checkout ON events
BEGIN INSERT INTO link_log (event_id) VALUES (NEW.id); END;
CREATE TRIGGER events_delete_log AFTER DELETE ON events
BEGIN INSERT INTO link_log (event_id) VALUES (OLD.id); END;

CREATE TRIGGER event_checkout_keys_insert_log AFTER INSERT ON event_checkout_keys
BEGIN INSERT INTO link_log (event_id) VALUES (NEW.event_id); END;
CREATE TRIGGER event_checkout_keys_update_log AFTER UPDATE ON event_checkout_keys
BEGIN INSERT INTO link_log (event_id) VALUES (OLD.event_id), (NEW.event_id); END;
CREATE TRIGGER event_checkout_keys_delete_log AFTER DELETE ON event_checkout_keys
BEGIN INSERT INTO link_log (event_id) VALUES (OLD.event_id); END;

CREATE TRIGGER shop_vouchers_insert_log AFTER INSERT ON shop_vouchers
BEGIN INSERT INTO link_log (link_id) VALUES (NEW.link_id); END;
CREATE TRIGGER shop_vouchers_update_log AFTER UPDATE OF state, event_key, link_id ON shop_vouchers
BEGIN INSERT INTO link_log (link_id) VALUES (OLD.link_id), (NEW.link_id); END;
CREATE TRIGGER shop_vouchers_delete_log AFTER DELETE ON shop_vouchers
BEGIN INSERT INTO link_log (link_id) VALUES (OLD.link_id); END;
