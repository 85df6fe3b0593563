-- Orders created on one day in Asia/Tokyo, with the buyer, the job and its seller.
-- The day is the job parameter "date", which reaches SQL as the setting batchport.param.date.
-- The bounds are Tokyo midnights, so the result does not depend on the session time zone,
-- and the half-open range lets PostgreSQL use the index on orders.created_at.
SELECT
    o.order_id,
    o.created_at AS ordered_at,
    o.status,
    o.job_id,
    j.title AS job_title,
    j.category AS job_category,
    j.seller_user_id AS seller_id,
    s.display_name AS seller_name,
    o.buyer_user_id AS buyer_id,
    b.display_name AS buyer_name,
    b.email AS buyer_email,
    b.prefecture AS buyer_prefecture,
    o.quantity,
    o.unit_price,
    o.amount,
    o.fee_rate,
    o.fee,
    o.currency,
    o.paid_at,
    o.cancelled_at,
    o.note
FROM orders AS o
JOIN jobs AS j ON j.job_id = o.job_id
JOIN users AS s ON s.user_id = j.seller_user_id
JOIN users AS b ON b.user_id = o.buyer_user_id
WHERE o.created_at >= (current_setting('batchport.param.date')::date)::timestamp AT TIME ZONE 'Asia/Tokyo'
  AND o.created_at < (current_setting('batchport.param.date')::date + 1)::timestamp AT TIME ZONE 'Asia/Tokyo'
ORDER BY o.order_id
