-- A promo code a promoter asks for (`mycode`) counts once an organizer approves it
-- (`promocode`): a shop's public code must not become one promoter's. Codes stored
-- before this migration counted from the start, and keep counting.
ALTER TABLE promo_codes ADD COLUMN approved_at TEXT;
UPDATE promo_codes SET approved_at = created_at;
