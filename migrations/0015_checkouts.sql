-- Checkouts (issue 16): refunds by amount, each event's shop, promo codes, shop
-- deliveries seen.
--
-- A shop that refunds money rather than tickets (Stripe, WooCommerce, a partial refund
-- in pretix or Hi.Events) lowers a line's net revenue by `refunded_minor` and keeps its
-- tickets: net = (quantity - refunded_quantity) * unit_price_minor - refunded_minor.
-- The running totals (0006) and per-day sales (0011) are rebuilt on that formula.
ALTER TABLE order_lines ADD COLUMN refunded_minor INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0);

DROP TRIGGER order_lines_insert_totals;
CREATE TRIGGER order_lines_insert_totals AFTER INSERT ON order_lines
BEGIN
    INSERT INTO sales_totals (event_id, membership_id, link_id, ticket_type_id, lines, sold, tickets, gross_minor,
                              net_minor, self_tickets)
    SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), NEW.ticket_type_id, 1, NEW.quantity,
           NEW.quantity - NEW.refunded_quantity, NEW.quantity * NEW.unit_price_minor,
           ((NEW.quantity - NEW.refunded_quantity) * NEW.unit_price_minor - NEW.refunded_minor),
           CASE WHEN o.self_referral = 1 THEN NEW.quantity - NEW.refunded_quantity ELSE 0 END
    FROM orders o WHERE o.id = NEW.order_id AND o.status <> 'cancelled'
    ON CONFLICT (event_id, membership_id, link_id, ticket_type_id) DO UPDATE SET lines = lines + excluded.lines, sold = sold + excluded.sold,
        tickets = tickets + excluded.tickets, gross_minor = gross_minor + excluded.gross_minor,
        net_minor = net_minor + excluded.net_minor, self_tickets = self_tickets + excluded.self_tickets;
END;

DROP TRIGGER order_lines_delete_totals;
CREATE TRIGGER order_lines_delete_totals AFTER DELETE ON order_lines
BEGIN
    UPDATE sales_totals SET lines = lines - 1, sold = sold - OLD.quantity,
        tickets = tickets - (OLD.quantity - OLD.refunded_quantity),
        gross_minor = gross_minor - OLD.quantity * OLD.unit_price_minor,
        net_minor = net_minor - ((OLD.quantity - OLD.refunded_quantity) * OLD.unit_price_minor - OLD.refunded_minor),
        self_tickets = self_tickets - (SELECT CASE WHEN o.self_referral = 1 THEN OLD.quantity - OLD.refunded_quantity
                                              ELSE 0 END FROM orders o WHERE o.id = OLD.order_id)
    WHERE (event_id, membership_id, link_id, ticket_type_id) =
          (SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), OLD.ticket_type_id
           FROM orders o WHERE o.id = OLD.order_id AND o.status <> 'cancelled');
END;

DROP TRIGGER order_lines_update_totals;
CREATE TRIGGER order_lines_update_totals AFTER UPDATE ON order_lines
BEGIN
    UPDATE sales_totals SET sold = sold - OLD.quantity + NEW.quantity,
        tickets = tickets - (OLD.quantity - OLD.refunded_quantity) + (NEW.quantity - NEW.refunded_quantity),
        gross_minor = gross_minor - OLD.quantity * OLD.unit_price_minor + NEW.quantity * NEW.unit_price_minor,
        net_minor = net_minor - ((OLD.quantity - OLD.refunded_quantity) * OLD.unit_price_minor - OLD.refunded_minor)
                    + ((NEW.quantity - NEW.refunded_quantity) * NEW.unit_price_minor - NEW.refunded_minor),
        self_tickets = self_tickets + (SELECT CASE WHEN o.self_referral = 1
                         THEN (NEW.quantity - NEW.refunded_quantity) - (OLD.quantity - OLD.refunded_quantity)
                         ELSE 0 END FROM orders o WHERE o.id = NEW.order_id)
    WHERE (event_id, membership_id, link_id, ticket_type_id) =
          (SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), NEW.ticket_type_id
           FROM orders o WHERE o.id = NEW.order_id AND o.status <> 'cancelled')
      AND OLD.ticket_type_id = NEW.ticket_type_id;
END;

DROP TRIGGER orders_insert_totals;
CREATE TRIGGER orders_insert_totals AFTER INSERT ON orders
BEGIN
    INSERT INTO order_totals (event_id, membership_id, link_id, all_orders, orders, refunded, self_orders)
    VALUES (NEW.event_id, coalesce(NEW.membership_id, 0), coalesce(NEW.link_id, 0), 1,
            NEW.status IN ('paid', 'partially_refunded'), NEW.status = 'refunded',
            NEW.self_referral = 1 AND NEW.status IN ('paid', 'partially_refunded'))
    ON CONFLICT (event_id, membership_id, link_id) DO UPDATE SET all_orders = all_orders + 1, orders = orders + excluded.orders,
        refunded = refunded + excluded.refunded, self_orders = self_orders + excluded.self_orders;
END;

DROP TRIGGER orders_update_totals;
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
        net_minor = net_minor - (SELECT coalesce(sum(((l.quantity - l.refunded_quantity) * l.unit_price_minor - l.refunded_minor)), 0)
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
           sum(((l.quantity - l.refunded_quantity) * l.unit_price_minor - l.refunded_minor)),
           CASE WHEN NEW.self_referral = 1 THEN sum(l.quantity - l.refunded_quantity) ELSE 0 END
    FROM order_lines l WHERE l.order_id = NEW.id AND NEW.status <> 'cancelled' GROUP BY l.ticket_type_id
    ON CONFLICT (event_id, membership_id, link_id, ticket_type_id) DO UPDATE SET lines = lines + excluded.lines, sold = sold + excluded.sold,
        tickets = tickets + excluded.tickets, gross_minor = gross_minor + excluded.gross_minor,
        net_minor = net_minor + excluded.net_minor, self_tickets = self_tickets + excluded.self_tickets;
END;

DROP TRIGGER order_lines_insert_daily;
CREATE TRIGGER order_lines_insert_daily AFTER INSERT ON order_lines
BEGIN
    INSERT INTO daily_sales (event_id, day, membership_id, link_id, tickets, net_minor)
    SELECT o.event_id, o.sale_day, coalesce(o.membership_id, 0), coalesce(o.link_id, 0),
           NEW.quantity - NEW.refunded_quantity, ((NEW.quantity - NEW.refunded_quantity) * NEW.unit_price_minor - NEW.refunded_minor)
    FROM orders o WHERE o.id = NEW.order_id AND o.status <> 'cancelled' AND o.sale_day IS NOT NULL
    ON CONFLICT (event_id, day, membership_id, link_id) DO UPDATE SET tickets = tickets + excluded.tickets,
        net_minor = net_minor + excluded.net_minor;
END;

DROP TRIGGER order_lines_delete_daily;
CREATE TRIGGER order_lines_delete_daily AFTER DELETE ON order_lines
BEGIN
    UPDATE daily_sales SET tickets = tickets - (OLD.quantity - OLD.refunded_quantity),
        net_minor = net_minor - ((OLD.quantity - OLD.refunded_quantity) * OLD.unit_price_minor - OLD.refunded_minor)
    WHERE (event_id, day, membership_id, link_id) =
          (SELECT o.event_id, o.sale_day, coalesce(o.membership_id, 0), coalesce(o.link_id, 0)
           FROM orders o WHERE o.id = OLD.order_id AND o.status <> 'cancelled');
END;

DROP TRIGGER order_lines_update_daily;
CREATE TRIGGER order_lines_update_daily AFTER UPDATE ON order_lines
BEGIN
    UPDATE daily_sales SET
        tickets = tickets - (OLD.quantity - OLD.refunded_quantity) + (NEW.quantity - NEW.refunded_quantity),
        net_minor = net_minor - ((OLD.quantity - OLD.refunded_quantity) * OLD.unit_price_minor - OLD.refunded_minor)
                    + ((NEW.quantity - NEW.refunded_quantity) * NEW.unit_price_minor - NEW.refunded_minor)
    WHERE (event_id, day, membership_id, link_id) =
          (SELECT o.event_id, o.sale_day, coalesce(o.membership_id, 0), coalesce(o.link_id, 0)
           FROM orders o WHERE o.id = NEW.order_id AND o.status <> 'cancelled');
END;

DROP TRIGGER orders_status_daily;
CREATE TRIGGER orders_status_daily AFTER UPDATE OF status ON orders
WHEN (OLD.status = 'cancelled') <> (NEW.status = 'cancelled') AND NEW.sale_day IS NOT NULL
BEGIN
    INSERT INTO daily_sales (event_id, day, membership_id, link_id, tickets, net_minor)
    SELECT NEW.event_id, NEW.sale_day, coalesce(NEW.membership_id, 0), coalesce(NEW.link_id, 0),
           (CASE WHEN NEW.status = 'cancelled' THEN -1 ELSE 1 END) * sum(l.quantity - l.refunded_quantity),
           (CASE WHEN NEW.status = 'cancelled' THEN -1 ELSE 1 END)
             * sum(((l.quantity - l.refunded_quantity) * l.unit_price_minor - l.refunded_minor))
    FROM order_lines l WHERE l.order_id = NEW.id HAVING count(*) > 0
    ON CONFLICT (event_id, day, membership_id, link_id) DO UPDATE SET tickets = tickets + excluded.tickets,
        net_minor = net_minor + excluded.net_minor;
END;

DROP TRIGGER orders_sale_day_daily;
CREATE TRIGGER orders_sale_day_daily AFTER UPDATE OF sale_day ON orders
WHEN OLD.sale_day IS NOT NEW.sale_day AND NEW.status <> 'cancelled'
BEGIN
    UPDATE daily_sales SET
        tickets = tickets - (SELECT coalesce(sum(l.quantity - l.refunded_quantity), 0) FROM order_lines l
                             WHERE l.order_id = OLD.id),
        net_minor = net_minor - (SELECT coalesce(sum(((l.quantity - l.refunded_quantity) * l.unit_price_minor - l.refunded_minor)), 0)
                                 FROM order_lines l WHERE l.order_id = OLD.id)
    WHERE (event_id, day, membership_id, link_id) =
          (OLD.event_id, OLD.sale_day, coalesce(OLD.membership_id, 0), coalesce(OLD.link_id, 0));
    INSERT INTO daily_sales (event_id, day, membership_id, link_id, tickets, net_minor)
    SELECT NEW.event_id, NEW.sale_day, coalesce(NEW.membership_id, 0), coalesce(NEW.link_id, 0),
           sum(l.quantity - l.refunded_quantity), sum(((l.quantity - l.refunded_quantity) * l.unit_price_minor - l.refunded_minor))
    FROM order_lines l WHERE l.order_id = NEW.id AND NEW.sale_day IS NOT NULL HAVING count(*) > 0
    ON CONFLICT (event_id, day, membership_id, link_id) DO UPDATE SET tickets = tickets + excluded.tickets,
        net_minor = net_minor + excluded.net_minor;
END;

-- Which shop sells an event's tickets (`webhook`: promoterd's own signed format).
ALTER TABLE events ADD COLUMN checkout TEXT NOT NULL DEFAULT 'webhook';

-- The shop's ids for an event, one or more: Stripe Payment Links or products, Shopify
-- or WooCommerce products, a pretix `organizer/event`, a Ticket Tailor, Eventbrite or
-- Hi.Events event id. Within an organization and a shop an id names one event.
CREATE TABLE event_checkout_keys (
    org_id   INTEGER NOT NULL REFERENCES organizations(id),
    checkout TEXT NOT NULL,
    key      TEXT NOT NULL,
    event_id INTEGER NOT NULL REFERENCES events(id),
    PRIMARY KEY (org_id, checkout, key)
) WITHOUT ROWID;
CREATE INDEX event_checkout_keys_event ON event_checkout_keys(event_id);

-- pretix vouchers promoterd made for tracking links: one per link and pretix event,
-- live while the link is, disabled (valid until the moment) when it is revoked.
CREATE TABLE shop_vouchers (
    link_id    INTEGER NOT NULL REFERENCES links(id),
    event_key  TEXT NOT NULL, -- <organizer>/<event>
    voucher_id INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('live', 'disabled')),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (link_id, event_key)
) WITHOUT ROWID;

-- A promoter's promo code for an event: an order whose discount or voucher code matches
-- is attributed to that promoter's link `link_id` when it carries no ref of its own.
CREATE TABLE promo_codes (
    event_id   INTEGER NOT NULL REFERENCES events(id),
    code       TEXT NOT NULL, -- as said, compared lowercased
    link_id    INTEGER NOT NULL REFERENCES links(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (event_id, code)
) WITHOUT ROWID;
CREATE UNIQUE INDEX promo_codes_link ON promo_codes(link_id);
