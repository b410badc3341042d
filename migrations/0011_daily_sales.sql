-- Per-day sales for charts: each order's sale day on its organization's clock, and net
-- tickets per (event, day, membership, link), kept by triggers in the same transaction
-- as every order change, like the running totals of 0006. A refund lowers the day of
-- the sale; a cancelled order counts nothing. A missing membership or link is 0.

-- `YYYY-MM-DD` in the organization's time zone, set by the store when the order is
-- stored (and again when the organization changes its zone); NULL until then.
ALTER TABLE orders ADD COLUMN sale_day TEXT;

CREATE TABLE daily_sales (
    event_id      INTEGER NOT NULL,
    day           TEXT NOT NULL,
    membership_id INTEGER NOT NULL,
    link_id       INTEGER NOT NULL,
    tickets       INTEGER NOT NULL DEFAULT 0,
    net_minor     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, day, membership_id, link_id)
) WITHOUT ROWID;

CREATE TRIGGER order_lines_insert_daily AFTER INSERT ON order_lines
BEGIN
    INSERT INTO daily_sales (event_id, day, membership_id, link_id, tickets, net_minor)
    SELECT o.event_id, o.sale_day, coalesce(o.membership_id, 0), coalesce(o.link_id, 0),
           NEW.quantity - NEW.refunded_quantity, (NEW.quantity - NEW.refunded_quantity) * NEW.unit_price_minor
    FROM orders o WHERE o.id = NEW.order_id AND o.status <> 'cancelled' AND o.sale_day IS NOT NULL
    ON CONFLICT (event_id, day, membership_id, link_id) DO UPDATE SET tickets = tickets + excluded.tickets,
        net_minor = net_minor + excluded.net_minor;
END;

CREATE TRIGGER order_lines_delete_daily AFTER DELETE ON order_lines
BEGIN
    UPDATE daily_sales SET tickets = tickets - (OLD.quantity - OLD.refunded_quantity),
        net_minor = net_minor - (OLD.quantity - OLD.refunded_quantity) * OLD.unit_price_minor
    WHERE (event_id, day, membership_id, link_id) =
          (SELECT o.event_id, o.sale_day, coalesce(o.membership_id, 0), coalesce(o.link_id, 0)
           FROM orders o WHERE o.id = OLD.order_id AND o.status <> 'cancelled');
END;

CREATE TRIGGER order_lines_update_daily AFTER UPDATE ON order_lines
BEGIN
    UPDATE daily_sales SET
        tickets = tickets - (OLD.quantity - OLD.refunded_quantity) + (NEW.quantity - NEW.refunded_quantity),
        net_minor = net_minor - (OLD.quantity - OLD.refunded_quantity) * OLD.unit_price_minor
                    + (NEW.quantity - NEW.refunded_quantity) * NEW.unit_price_minor
    WHERE (event_id, day, membership_id, link_id) =
          (SELECT o.event_id, o.sale_day, coalesce(o.membership_id, 0), coalesce(o.link_id, 0)
           FROM orders o WHERE o.id = NEW.order_id AND o.status <> 'cancelled');
END;

-- Cancelling takes the order's lines out of its day; un-cancelling puts them back.
CREATE TRIGGER orders_status_daily AFTER UPDATE OF status ON orders
WHEN (OLD.status = 'cancelled') <> (NEW.status = 'cancelled') AND NEW.sale_day IS NOT NULL
BEGIN
    INSERT INTO daily_sales (event_id, day, membership_id, link_id, tickets, net_minor)
    SELECT NEW.event_id, NEW.sale_day, coalesce(NEW.membership_id, 0), coalesce(NEW.link_id, 0),
           (CASE WHEN NEW.status = 'cancelled' THEN -1 ELSE 1 END) * sum(l.quantity - l.refunded_quantity),
           (CASE WHEN NEW.status = 'cancelled' THEN -1 ELSE 1 END)
             * sum((l.quantity - l.refunded_quantity) * l.unit_price_minor)
    FROM order_lines l WHERE l.order_id = NEW.id HAVING count(*) > 0
    ON CONFLICT (event_id, day, membership_id, link_id) DO UPDATE SET tickets = tickets + excluded.tickets,
        net_minor = net_minor + excluded.net_minor;
END;

-- A new sale day (set for the first time, or a new time zone) moves the order's lines.
CREATE TRIGGER orders_sale_day_daily AFTER UPDATE OF sale_day ON orders
WHEN OLD.sale_day IS NOT NEW.sale_day AND NEW.status <> 'cancelled'
BEGIN
    UPDATE daily_sales SET
        tickets = tickets - (SELECT coalesce(sum(l.quantity - l.refunded_quantity), 0) FROM order_lines l
                             WHERE l.order_id = OLD.id),
        net_minor = net_minor - (SELECT coalesce(sum((l.quantity - l.refunded_quantity) * l.unit_price_minor), 0)
                                 FROM order_lines l WHERE l.order_id = OLD.id)
    WHERE (event_id, day, membership_id, link_id) =
          (OLD.event_id, OLD.sale_day, coalesce(OLD.membership_id, 0), coalesce(OLD.link_id, 0));
    INSERT INTO daily_sales (event_id, day, membership_id, link_id, tickets, net_minor)
    SELECT NEW.event_id, NEW.sale_day, coalesce(NEW.membership_id, 0), coalesce(NEW.link_id, 0),
           sum(l.quantity - l.refunded_quantity), sum((l.quantity - l.refunded_quantity) * l.unit_price_minor)
    FROM order_lines l WHERE l.order_id = NEW.id AND NEW.sale_day IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (event_id, day, membership_id, link_id) DO UPDATE SET tickets = tickets + excluded.tickets,
        net_minor = net_minor + excluded.net_minor;
END;

-- Orders stored before this migration get their day when the store next opens.
CREATE INDEX orders_without_sale_day ON orders(id) WHERE sale_day IS NULL;
