-- The running totals' INSERT triggers become statement triggers over the statement's
-- new rows (transition tables): a multi-row insert of a group commit (dozens of orders
-- of one promoter) adds to each total row once, with the sums of its rows, instead of
-- once per row. Per-row upserts of one hot row made a new version of it per order and
-- were most of an order's cost on PostgreSQL. The totals are the same sums; UPDATE and
-- DELETE (refunds, cancellations, one row at a time) keep their row triggers. SQLite
-- has no transition tables and keeps its row triggers (0006, 0011, 0015).

DROP TRIGGER order_lines_insert_totals ON order_lines;
CREATE OR REPLACE FUNCTION order_lines_insert_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_totals AS t (event_id, membership_id, link_id, ticket_type_id, lines, sold, tickets,
                                   gross_minor, net_minor, self_tickets)
    SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), n.ticket_type_id, count(*),
           sum(n.quantity), sum(n.quantity - n.refunded_quantity), sum(n.quantity * n.unit_price_minor),
           sum((n.quantity - n.refunded_quantity) * n.unit_price_minor - n.refunded_minor),
           sum(CASE WHEN o.self_referral THEN n.quantity - n.refunded_quantity ELSE 0 END)
    FROM new_lines n JOIN orders o ON o.id = n.order_id
    WHERE o.status <> 'cancelled'
    GROUP BY o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), n.ticket_type_id
    ON CONFLICT (event_id, membership_id, link_id, ticket_type_id) DO UPDATE SET
        lines = t.lines + excluded.lines, sold = t.sold + excluded.sold,
        tickets = t.tickets + excluded.tickets, gross_minor = t.gross_minor + excluded.gross_minor,
        net_minor = t.net_minor + excluded.net_minor, self_tickets = t.self_tickets + excluded.self_tickets;
    RETURN NULL;
END;
$$;
CREATE TRIGGER order_lines_insert_totals AFTER INSERT ON order_lines
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION order_lines_insert_totals();

DROP TRIGGER orders_insert_totals ON orders;
CREATE OR REPLACE FUNCTION orders_insert_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_totals AS t (event_id, membership_id, link_id, all_orders, orders, refunded, self_orders)
    SELECT n.event_id, coalesce(n.membership_id, 0), coalesce(n.link_id, 0), count(*),
           sum((n.status IN ('paid', 'partially_refunded'))::int), sum((n.status = 'refunded')::int),
           sum((n.self_referral AND n.status IN ('paid', 'partially_refunded'))::int)
    FROM new_orders n
    GROUP BY n.event_id, coalesce(n.membership_id, 0), coalesce(n.link_id, 0)
    ON CONFLICT (event_id, membership_id, link_id) DO UPDATE SET all_orders = t.all_orders + excluded.all_orders,
        orders = t.orders + excluded.orders, refunded = t.refunded + excluded.refunded,
        self_orders = t.self_orders + excluded.self_orders;
    RETURN NULL;
END;
$$;
CREATE TRIGGER orders_insert_totals AFTER INSERT ON orders
    REFERENCING NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION orders_insert_totals();

DROP TRIGGER order_lines_insert_daily ON order_lines;
CREATE OR REPLACE FUNCTION order_lines_insert_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO daily_sales AS d (event_id, day, membership_id, link_id, tickets, net_minor)
    SELECT o.event_id, o.sale_day, coalesce(o.membership_id, 0), coalesce(o.link_id, 0),
           sum(n.quantity - n.refunded_quantity),
           sum((n.quantity - n.refunded_quantity) * n.unit_price_minor - n.refunded_minor)
    FROM new_lines n JOIN orders o ON o.id = n.order_id
    WHERE o.status <> 'cancelled' AND o.sale_day IS NOT NULL
    GROUP BY o.event_id, o.sale_day, coalesce(o.membership_id, 0), coalesce(o.link_id, 0)
    ON CONFLICT (event_id, day, membership_id, link_id) DO UPDATE SET tickets = d.tickets + excluded.tickets,
        net_minor = d.net_minor + excluded.net_minor;
    RETURN NULL;
END;
$$;
CREATE TRIGGER order_lines_insert_daily AFTER INSERT ON order_lines
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION order_lines_insert_daily();
