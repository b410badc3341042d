-- A counter that every change to what the redirect's link table is built from moves
-- (links, the memberships behind them, the events' pages and shops, pretix vouchers),
-- kept by triggers in the same transaction as the change. A daemon rebuilds its table
-- in full only when the counter moved since its last rebuild: changes made by another
-- process (the console) are picked up without rebuilding 100k links on every tick.
-- A later migration that rebuilds one of these tables (create, copy, drop, rename)
-- drops its triggers with it and must create them again.

CREATE TABLE link_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO link_generation (id, n) VALUES (1, 0);

CREATE TRIGGER links_insert_generation AFTER INSERT ON links
BEGIN UPDATE link_generation SET n = n + 1; END;
CREATE TRIGGER links_update_generation AFTER UPDATE OF code, event_id, membership_id, revoked_at ON links
BEGIN UPDATE link_generation SET n = n + 1; END;
CREATE TRIGGER links_delete_generation AFTER DELETE ON links
BEGIN UPDATE link_generation SET n = n + 1; END;

CREATE TRIGGER memberships_status_generation AFTER UPDATE OF status ON memberships
BEGIN UPDATE link_generation SET n = n + 1; END;
CREATE TRIGGER memberships_delete_generation AFTER DELETE ON memberships
BEGIN UPDATE link_generation SET n = n + 1; END;

CREATE TRIGGER events_page_generation AFTER UPDATE OF ticket_url, checkout ON events
BEGIN UPDATE link_generation SET n = n + 1; END;
CREATE TRIGGER events_delete_generation AFTER DELETE ON events
BEGIN UPDATE link_generation SET n = n + 1; END;

CREATE TRIGGER event_checkout_keys_insert_generation AFTER INSERT ON event_checkout_keys
BEGIN UPDATE link_generation SET n = n + 1; END;
CREATE TRIGGER event_checkout_keys_update_generation AFTER UPDATE ON event_checkout_keys
BEGIN UPDATE link_generation SET n = n + 1; END;
CREATE TRIGGER event_checkout_keys_delete_generation AFTER DELETE ON event_checkout_keys
BEGIN UPDATE link_generation SET n = n + 1; END;

CREATE TRIGGER shop_vouchers_insert_generation AFTER INSERT ON shop_vouchers
BEGIN UPDATE link_generation SET n = n + 1; END;
CREATE TRIGGER shop_vouchers_update_generation AFTER UPDATE OF state, event_key ON shop_vouchers
BEGIN UPDATE link_generation SET n = n + 1; END;
CREATE TRIGGER shop_vouchers_delete_generation AFTER DELETE ON shop_vouchers
BEGIN UPDATE link_generation SET n = n + 1; END;
