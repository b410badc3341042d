-- Running totals for stats: sales per (event, membership, link, ticket type) and order
-- counts per (event, membership, link), kept by triggers in the same transaction as
-- every order change, so stats read a few hundred rows instead of scanning orders.
-- A missing membership or link is stored as 0 (NULLs are never equal in a key).

CREATE TABLE sales_totals (
    event_id       INTEGER NOT NULL,
    membership_id  INTEGER NOT NULL,
    link_id        INTEGER NOT NULL,
    ticket_type_id INTEGER NOT NULL,
    lines          INTEGER NOT NULL DEFAULT 0, -- order lines counted (not cancelled)
    sold           INTEGER NOT NULL DEFAULT 0,
    tickets        INTEGER NOT NULL DEFAULT 0,
    gross_minor    INTEGER NOT NULL DEFAULT 0,
    net_minor      INTEGER NOT NULL DEFAULT 0,
    self_tickets   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, membership_id, link_id, ticket_type_id)
) WITHOUT ROWID;

CREATE TABLE order_totals (
    event_id      INTEGER NOT NULL,
    membership_id INTEGER NOT NULL,
    link_id       INTEGER NOT NULL,
    all_orders    INTEGER NOT NULL DEFAULT 0,
    orders        INTEGER NOT NULL DEFAULT 0, -- with tickets left after refunds
    refunded      INTEGER NOT NULL DEFAULT 0,
    self_orders   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, membership_id, link_id)
) WITHOUT ROWID;

-- Adds (sign = 1) or removes (sign = -1) one order line's share.
CREATE TRIGGER order_lines_insert_totals AFTER INSERT ON order_lines
BEGIN
    INSERT INTO sales_totals (event_id, membership_id, link_id, ticket_type_id, lines, sold, tickets, gross_minor,
                              net_minor, self_tickets)
    SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), NEW.ticket_type_id, 1, NEW.quantity,
           NEW.quantity - NEW.refunded_quantity, NEW.quantity * NEW.unit_price_minor,
           (NEW.quantity - NEW.refunded_quantity) * NEW.unit_price_minor,
           CASE WHEN o.self_referral = 1 THEN NEW.quantity - NEW.refunded_quantity ELSE 0 END
    FROM orders o WHERE o.id = NEW.order_id AND o.status <> 'cancelled'
    ON CONFLICT (event_id, membership_id, link_id, ticket_type_id) DO UPDATE SET lines = lines + excluded.lines, sold = sold + excluded.sold,
        tickets = tickets + excluded.tickets, gross_minor = gross_minor + excluded.gross_minor,
        net_minor = net_minor + excluded.net_minor, self_tickets = self_tickets + excluded.self_tickets;
END;

CREATE TRIGGER order_lines_delete_totals AFTER DELETE ON order_lines
BEGIN
    UPDATE sales_totals SET lines = lines - 1, sold = sold - OLD.quantity,
        tickets = tickets - (OLD.quantity - OLD.refunded_quantity),
        gross_minor = gross_minor - OLD.quantity * OLD.unit_price_minor,
        net_minor = net_minor - (OLD.quantity - OLD.refunded_quantity) * OLD.unit_price_minor,
        self_tickets = self_tickets - (SELECT CASE WHEN o.self_referral = 1 THEN OLD.quantity - OLD.refunded_quantity
                                              ELSE 0 END FROM orders o WHERE o.id = OLD.order_id)
    WHERE (event_id, membership_id, link_id, ticket_type_id) =
          (SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), OLD.ticket_type_id
           FROM orders o WHERE o.id = OLD.order_id AND o.status <> 'cancelled');
END;

CREATE TRIGGER order_lines_update_totals AFTER UPDATE ON order_lines
BEGIN
    UPDATE sales_totals SET sold = sold - OLD.quantity + NEW.quantity,
        tickets = tickets - (OLD.quantity - OLD.refunded_quantity) + (NEW.quantity - NEW.refunded_quantity),
        gross_minor = gross_minor - OLD.quantity * OLD.unit_price_minor + NEW.quantity * NEW.unit_price_minor,
        net_minor = net_minor - (OLD.quantity - OLD.refunded_quantity) * OLD.unit_price_minor
                    + (NEW.quantity - NEW.refunded_quantity) * NEW.unit_price_minor,
        self_tickets = self_tickets + (SELECT CASE WHEN o.self_referral = 1
                         THEN (NEW.quantity - NEW.refunded_quantity) - (OLD.quantity - OLD.refunded_quantity)
                         ELSE 0 END FROM orders o WHERE o.id = NEW.order_id)
    WHERE (event_id, membership_id, link_id, ticket_type_id) =
          (SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), NEW.ticket_type_id
           FROM orders o WHERE o.id = NEW.order_id AND o.status <> 'cancelled')
      AND OLD.ticket_type_id = NEW.ticket_type_id;
END;

CREATE TRIGGER orders_insert_totals AFTER INSERT ON orders
BEGIN
    INSERT INTO order_totals (event_id, membership_id, link_id, all_orders, orders, refunded, self_orders)
    VALUES (NEW.event_id, coalesce(NEW.membership_id, 0), coalesce(NEW.link_id, 0), 1,
            NEW.status IN ('paid', 'partially_refunded'), NEW.status = 'refunded',
            NEW.self_referral = 1 AND NEW.status IN ('paid', 'partially_refunded'))
    ON CONFLICT (event_id, membership_id, link_id) DO UPDATE SET all_orders = all_orders + 1, orders = orders + excluded.orders,
        refunded = refunded + excluded.refunded, self_orders = self_orders + excluded.self_orders;
END;

-- A status or self-referral change moves the order's counts and its lines' shares.
CREATE TRIGGER orders_update_totals AFTER UPDATE OF status, self_referral ON orders
WHEN OLD.status IS NOT NEW.status OR OLD.self_referral IS NOT NEW.self_referral
BEGIN
    UPDATE order_totals SET
        orders = orders - (OLD.status IN ('paid', 'partially_refunded')) + (NEW.status IN ('paid', 'partially_refunded')),
        refunded = refunded - (OLD.status = 'refunded') + (NEW.status = 'refunded'),
        self_orders = self_orders - (OLD.self_referral = 1 AND OLD.status IN ('paid', 'partially_refunded'))
                                  + (NEW.self_referral = 1 AND NEW.status IN ('paid', 'partially_refunded'))
    WHERE event_id = NEW.event_id AND membership_id = coalesce(NEW.membership_id, 0)
      AND link_id = coalesce(NEW.link_id, 0);
    -- Take the lines out with the old state …
    UPDATE sales_totals SET
        lines = lines - (SELECT count(*) FROM order_lines l WHERE l.order_id = OLD.id
                         AND l.ticket_type_id = sales_totals.ticket_type_id),
        sold = sold - (SELECT coalesce(sum(l.quantity), 0) FROM order_lines l WHERE l.order_id = OLD.id
                       AND l.ticket_type_id = sales_totals.ticket_type_id),
        tickets = tickets - (SELECT coalesce(sum(l.quantity - l.refunded_quantity), 0) FROM order_lines l
                             WHERE l.order_id = OLD.id AND l.ticket_type_id = sales_totals.ticket_type_id),
        gross_minor = gross_minor - (SELECT coalesce(sum(l.quantity * l.unit_price_minor), 0) FROM order_lines l
                                     WHERE l.order_id = OLD.id AND l.ticket_type_id = sales_totals.ticket_type_id),
        net_minor = net_minor - (SELECT coalesce(sum((l.quantity - l.refunded_quantity) * l.unit_price_minor), 0)
                                 FROM order_lines l WHERE l.order_id = OLD.id
                                 AND l.ticket_type_id = sales_totals.ticket_type_id),
        self_tickets = self_tickets - (CASE WHEN OLD.self_referral = 1 THEN
                         (SELECT coalesce(sum(l.quantity - l.refunded_quantity), 0) FROM order_lines l
                          WHERE l.order_id = OLD.id AND l.ticket_type_id = sales_totals.ticket_type_id) ELSE 0 END)
    WHERE OLD.status <> 'cancelled' AND event_id = OLD.event_id AND membership_id = coalesce(OLD.membership_id, 0)
      AND link_id = coalesce(OLD.link_id, 0)
      AND ticket_type_id IN (SELECT ticket_type_id FROM order_lines WHERE order_id = OLD.id);
    -- … and put them back with the new one.
    INSERT INTO sales_totals (event_id, membership_id, link_id, ticket_type_id, lines, sold, tickets, gross_minor,
                              net_minor, self_tickets)
    SELECT NEW.event_id, coalesce(NEW.membership_id, 0), coalesce(NEW.link_id, 0), l.ticket_type_id, count(*),
           sum(l.quantity), sum(l.quantity - l.refunded_quantity), sum(l.quantity * l.unit_price_minor),
           sum((l.quantity - l.refunded_quantity) * l.unit_price_minor),
           CASE WHEN NEW.self_referral = 1 THEN sum(l.quantity - l.refunded_quantity) ELSE 0 END
    FROM order_lines l WHERE l.order_id = NEW.id AND NEW.status <> 'cancelled' GROUP BY l.ticket_type_id
    ON CONFLICT (event_id, membership_id, link_id, ticket_type_id) DO UPDATE SET lines = lines + excluded.lines, sold = sold + excluded.sold,
        tickets = tickets + excluded.tickets, gross_minor = gross_minor + excluded.gross_minor,
        net_minor = net_minor + excluded.net_minor, self_tickets = self_tickets + excluded.self_tickets;
END;

-- Totals of the orders stored so far.
INSERT INTO sales_totals (event_id, membership_id, link_id, ticket_type_id, lines, sold, tickets, gross_minor,
                          net_minor, self_tickets)
SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), l.ticket_type_id, count(*), sum(l.quantity),
       sum(l.quantity - l.refunded_quantity), sum(l.quantity * l.unit_price_minor),
       sum((l.quantity - l.refunded_quantity) * l.unit_price_minor),
       sum(CASE WHEN o.self_referral = 1 THEN l.quantity - l.refunded_quantity ELSE 0 END)
FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.status <> 'cancelled'
GROUP BY 1, 2, 3, 4;

INSERT INTO order_totals (event_id, membership_id, link_id, all_orders, orders, refunded, self_orders)
SELECT event_id, coalesce(membership_id, 0), coalesce(link_id, 0), count(*),
       sum(status IN ('paid', 'partially_refunded')), sum(status = 'refunded'),
       sum(self_referral = 1 AND status IN ('paid', 'partially_refunded'))
FROM orders GROUP BY 1, 2, 3;

-- The organization-wide export walks orders by time, a page at a time.
CREATE INDEX orders_time ON orders(ordered_at);

-- Sale notifications look for a promoter's orders changed since the last notice.
CREATE INDEX orders_updated ON orders(membership_id, updated_at);
-- It replaces this one: every query on a promoter's orders by time bounds updated_at.
DROP INDEX orders_created;
