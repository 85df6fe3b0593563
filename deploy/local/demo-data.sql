-- Demo data for batchport_demo. Every value is a deterministic function of a row number, so
-- each load gives the same rows. Hand-written rows (small ids) contain the values that break
-- CSV writers and character encoders. Generated rows (ids from 101 for users and jobs, from
-- 1001 for orders) give the volume: 150,000 orders created from 2026-11-21 to 2026-12-10
-- in Asia/Tokyo, about 7,500 a day.

SET client_encoding = 'UTF8';

-- Hand-written users: NULLs, empty and whitespace-only strings, the text 'NULL', quotes,
-- commas, newlines, half-width katakana, and characters that Shift_JIS lacks but CP932 has
-- (髙, 﨑, ①, 〜) or that neither has (𠮷, outside the Basic Multilingual Plane).
INSERT INTO users (user_id, display_name, family_name, given_name, email, prefecture, profile, created_at, updated_at) VALUES
    (1, '山田 太郎', '山田', '太郎', 'taro.yamada@example.jp', '東京都', 'ロゴとイラストを描いています。', '2024-04-01 09:00:00+09', NULL),
    (2, '髙橋 一郎', '髙橋', '一郎', NULL, '大阪府', NULL, '2024-04-02 10:30:00+09', '2026-11-30 18:00:00+09'),
    (3, '𠮷田 花子', '𠮷田', '花子', '', '北海道', E'翻訳歴10年。\n英⇔日、独⇔日に対応します。', '2024-04-03 11:15:00+09', NULL),
    (4, '佐藤　美咲', '佐藤', '美咲', '   ', '福岡県', E'Line 1\r\nLine 2', '2024-04-04 12:00:00+09', NULL),
    (5, 'NULL', 'NULL', NULL, 'null@example.jp', NULL, 'NULL', '2024-04-05 13:45:00+09', NULL),
    (6, 'O''Brien, Sean "Shaun"', 'O''Brien', 'Sean', 'sean.obrien@example.com', NULL, 'Says "hi", often.', '2024-04-06 14:00:00+09', NULL),
    (7, 'ﾔﾏﾀﾞ ﾀﾛｳ', 'ﾔﾏﾀﾞ', 'ﾀﾛｳ', 'hankaku@example.jp', '沖縄県', '半角カナの表示名です', '2024-04-07 15:30:00+09', NULL),
    (8, '', '', '', 'empty-name@example.jp', '', '', '2024-04-08 16:00:00+09', NULL),
    (9, E'改行\nさん', '改行', 'さん', 'newline@example.jp', '京都府', E'\n', '2024-04-09 17:20:00+09', NULL),
    (10, '渡邊 ① 〜 テスト', '渡邊', '①', 'wave-dash@example.jp', '神奈川県', '〜 ～ − － ‖ ∥ ¢ £ ¬', '2024-04-10 18:00:00+09', NULL),
    (11, 'Zoë Ångström', 'Ångström', 'Zoë', 'zoe@example.se', NULL, 'Ünïcödé', '2024-04-11 19:00:00+09', NULL),
    (12, '  山﨑 健太  ', '山﨑', '健太', ' kenta@example.jp ', '愛知県', E'\tTab-indented profile', '2024-04-12 20:00:00+09', NULL);

-- Generated users 101 to 20100.
INSERT INTO users (user_id, display_name, family_name, given_name, email, prefecture, profile, created_at, updated_at)
SELECT
    100 + n,
    f.family_name || CASE WHEN n % 5 = 0 THEN '　' ELSE ' ' END || f.given_name,
    f.family_name,
    f.given_name,
    CASE
        WHEN n % 97 = 0 THEN NULL
        WHEN n % 89 = 0 THEN ''
        WHEN n % 83 = 0 THEN '  '
        ELSE 'user' || n || '@example.jp'
    END,
    CASE
        WHEN n % 31 = 0 THEN NULL
        ELSE (ARRAY['東京都', '大阪府', '北海道', '福岡県', '愛知県', '神奈川県',
                    '京都府', '沖縄県', '宮城県', '広島県', '埼玉県', '兵庫県'])[1 + n % 12]
    END,
    CASE
        WHEN n % 7 = 0 THEN f.given_name || 'です。' || E'\n' || 'よろしくお願いします。'
        WHEN n % 11 = 0 THEN 'Freelancer, Tokyo, "remote OK"'
        ELSE NULL
    END,
    t.created_at,
    CASE WHEN n % 3 = 0 THEN t.created_at + interval '30 days' END
FROM generate_series(1, 20000) AS n
CROSS JOIN LATERAL (
    SELECT
        (ARRAY['佐藤', '鈴木', '高橋', '田中', '伊藤', '渡辺', '山本', '中村', '小林', '加藤',
               '吉田', '山田', '佐々木', '山口', '松本', '井上', '木村', '林', '斎藤', '清水',
               '山崎', '森', '池田', '橋本', '阿部', '髙橋', '山﨑', '𠮷田', '渡邊', '齋藤'])[1 + (n * 7) % 30] AS family_name,
        (ARRAY['太郎', '花子', '一郎', '美咲', '翔太', '陽菜', '大輔', 'さくら', '健太', '結衣',
               '拓也', '愛', '直樹', '真由美', '蓮', '葵', '悠真', '凛', 'ひろし', 'ゆかり',
               'ｹﾝｼﾞ', '智子', '誠', '恵', '剛', '彩', '隆', '舞', '修', '瞳'])[1 + (n * 11) % 30] AS given_name
) AS f
CROSS JOIN LATERAL (
    SELECT timestamptz '2024-01-01 00:00:00+09' + n * interval '37 minutes' AS created_at
) AS t;

-- Hand-written jobs, posted by the hand-written users.
INSERT INTO jobs (job_id, seller_user_id, title, category, description, price, status, created_at, published_at) VALUES
    (1, 1, 'ロゴ作成（〜12/3まで）', 'デザイン', 'ヒアリング → ラフ3案 → 修正2回', 5000, 'published', '2025-06-01 09:00:00+09', '2025-06-01 12:00:00+09'),
    (2, 3, 'Translate EN→JA, 5,000 words', '翻訳', 'Business documents, manuals, etc.', 30000, 'published', '2025-06-02 09:00:00+09', '2025-06-02 12:00:00+09'),
    (3, 6, 'Write "catchy" copy, fast', 'ライティング', NULL, 8000, 'published', '2025-06-03 09:00:00+09', '2025-06-03 12:00:00+09'),
    (4, 2, E'Multi-line title\nsecond line', 'プログラミング', E'Line A\nLine B\n', 12000, 'published', '2025-06-04 09:00:00+09', '2025-06-04 12:00:00+09'),
    (5, 4, E'CRLF title\r\nsecond line', '動画編集', E'CRLF\r\ndescription', 15000, 'published', '2025-06-05 09:00:00+09', '2025-06-05 12:00:00+09'),
    (6, 5, 'NULL', 'その他', 'NULL', 1000, 'published', '2025-06-06 09:00:00+09', '2025-06-06 12:00:00+09'),
    (7, 8, '', 'その他', '', 0, 'published', '2025-06-07 09:00:00+09', '2025-06-07 12:00:00+09'),
    (8, 11, '   ', 'その他', '   ', 500, 'paused', '2025-06-08 09:00:00+09', '2025-06-08 12:00:00+09'),
    (9, 2, '髙橋さん専用: ①②③ 〜 ～ − ー', 'ビジネス相談', '①②③の順に進めます。', 22000, 'published', '2025-06-09 09:00:00+09', '2025-06-09 12:00:00+09'),
    (10, 7, 'Emoji 🍣 sushi menu design, 𠮷野家風', 'デザイン', '🍣🍺', 9800, 'published', '2025-06-10 09:00:00+09', '2025-06-10 12:00:00+09'),
    (11, 12, 'Enterprise system development, 一式', 'プログラミング', 'Fixed price, 12 digits.', 123456789012, 'published', '2025-06-11 09:00:00+09', '2025-06-11 12:00:00+09'),
    (12, 1, 'Draft: not yet published', 'デザイン', NULL, 3000, 'draft', '2025-06-12 09:00:00+09', NULL);

-- Generated jobs 101 to 3100, posted by generated users.
INSERT INTO jobs (job_id, seller_user_id, title, category, description, price, status, created_at, published_at)
SELECT
    100 + n,
    101 + (n * 31) % 20000,
    CASE n % 8
        WHEN 0 THEN c.category || 'のお仕事、丁寧に対応します #' || n
        WHEN 1 THEN 'Logo, business card and flyer design #' || n
        WHEN 2 THEN '"プロ品質" の翻訳（英⇔日） #' || n
        WHEN 3 THEN '初回限定 〜 30% OFF #' || n
        WHEN 4 THEN 'Webサイト制作 #' || n
        WHEN 5 THEN '① ヒアリング ② 制作 ③ 納品 #' || n
        WHEN 6 THEN 'SNS運用代行, 月額プラン #' || n
        ELSE 'ナレーション収録 − 短納期対応 #' || n
    END,
    c.category,
    CASE n % 6
        WHEN 0 THEN NULL
        WHEN 1 THEN E'ご購入前にメッセージでご相談ください。\n納期: 3日'
        WHEN 2 THEN 'Revisions: 2, delivery: 5 days, formats: PNG, SVG'
        ELSE c.category || 'の実績多数。'
    END,
    ((n * 37) % 50 + 1) * 500,
    CASE
        WHEN n % 40 = 0 THEN 'closed'
        WHEN n % 25 = 0 THEN 'paused'
        ELSE 'published'
    END,
    t.created_at,
    t.created_at + interval '1 day'
FROM generate_series(1, 3000) AS n
CROSS JOIN LATERAL (
    SELECT (ARRAY['デザイン', '翻訳', 'ライティング', 'プログラミング', '動画編集', '写真',
                  'マーケティング', '音楽', '占い', 'ビジネス相談'])[1 + n % 10] AS category
) AS c
CROSS JOIN LATERAL (
    SELECT timestamptz '2025-01-01 00:00:00+09' + n * interval '137 minutes' AS created_at
) AS t;

-- Hand-written orders on 2026-12-01 (Asia/Tokyo), one awkward note each, then orders at the
-- edges of that day: a filter on the UTC date or with <= in place of < gets them wrong.
INSERT INTO orders (order_id, job_id, buyer_user_id, quantity, unit_price, amount, fee_rate, fee, status, note, created_at, paid_at, cancelled_at)
SELECT
    v.order_id,
    v.job_id,
    v.buyer_user_id,
    v.quantity,
    j.price,
    j.price * v.quantity,
    v.fee_rate,
    floor(j.price * v.quantity * v.fee_rate),
    v.status,
    v.note,
    v.created_at,
    v.paid_at,
    v.cancelled_at
FROM (VALUES
    (1::bigint, 1::bigint, 2::bigint, 1, 0.2200::numeric, 'paid', NULL::text, timestamptz '2026-12-01 10:00:00+09', timestamptz '2026-12-01 10:05:00+09', NULL::timestamptz),
    (2, 2, 1, 2, 0.2200, 'paid', '', '2026-12-01 10:01:00+09', '2026-12-01 10:06:00.5+09', NULL),
    (3, 3, 4, 1, 0.0550, 'pending', ' ', '2026-12-01 10:02:00+09', NULL, NULL),
    (4, 4, 5, 1, 0.2200, 'paid', 'NULL', '2026-12-01 10:03:00+09', '2026-12-01 10:08:00+09', NULL),
    (5, 5, 3, 1, 0.2200, 'completed', E'1行目\n2行目', '2026-12-01 10:04:00+09', '2026-12-01 10:09:00+09', NULL),
    (6, 6, 6, 3, 0.2200, 'paid', E'first line\r\nsecond line', '2026-12-01 10:05:00+09', '2026-12-01 10:10:00+09', NULL),
    (7, 7, 7, 1, 0.0550, 'paid', 'He said "deliver by Friday", OK?', '2026-12-01 10:06:00+09', '2026-12-01 10:11:00+09', NULL),
    (8, 9, 8, 1, 0.2200, 'cancelled', 'a,b,c', '2026-12-01 10:07:00+09', NULL, '2026-12-01 12:07:00+09'),
    (9, 10, 9, 1, 0.2200, 'paid', '=SUM(A1:A3)', '2026-12-01 10:08:00+09', '2026-12-01 10:13:00+09', NULL),
    (10, 1, 10, 1, 0.2200, 'refunded', E'tab\there', '2026-12-01 10:09:00+09', '2026-12-01 10:14:00+09', NULL),
    (11, 2, 11, 100, 0.0550, 'paid', 'C:\Users\yamada\注文書.pdf', '2026-12-01 10:10:00+09', '2026-12-01 10:15:00+09', NULL),
    (12, 9, 12, 1, 0.2200, 'paid', '〜12/5 納品希望、①②③は別料金', '2026-12-01 10:11:00+09', '2026-12-01 10:16:00+09', NULL),
    (13, 9, 3, 1, 0.2200, 'paid', '髙橋様・𠮷田様 連名', '2026-12-01 10:12:00+09', '2026-12-01 10:17:00+09', NULL),
    (14, 10, 1, 2, 0.2200, 'pending', '🍣🍺 打ち上げ用', '2026-12-01 10:13:00+09', NULL, NULL),
    (15, 3, 2, 1, 0.2200, 'paid', E'\n', '2026-12-01 10:14:00+09', '2026-12-01 10:19:00+09', NULL),
    (16, 4, 4, 1, 0.2200, 'paid', ' leading and trailing spaces ', '2026-12-01 10:15:00+09', '2026-12-01 10:20:00+09', NULL),
    (17, 5, 5, 1, 0.2200, 'paid', '"', '2026-12-01 10:16:00+09', '2026-12-01 10:21:00+09', NULL),
    (18, 6, 6, 1, 0.2200, 'completed', E'trailing newline\n', '2026-12-01 10:17:00+09', '2026-12-01 10:22:00+09', NULL),
    (19, 7, 7, 1, 0.2200, 'paid', 'ｶﾀｶﾅ ﾊﾝｶｸ', '2026-12-01 10:18:00+09', '2026-12-01 10:23:00+09', NULL),
    (20, 11, 1, 1, 0.0550, 'paid', repeat('長文メモ。', 200), '2026-12-01 10:19:00.123456+09', '2026-12-01 10:24:00+09', NULL),
    (21, 1, 2, 1, 0.2200, 'paid', 'edge: last microsecond of 2026-11-30 in Tokyo', '2026-11-30 23:59:59.999999+09', '2026-12-01 00:05:00+09', NULL),
    (22, 1, 3, 1, 0.2200, 'paid', 'edge: first instant of 2026-12-01 in Tokyo', '2026-12-01 00:00:00+09', '2026-12-01 00:05:00+09', NULL),
    (23, 1, 4, 1, 0.2200, 'paid', 'edge: last microsecond of 2026-12-01 in Tokyo', '2026-12-01 23:59:59.999999+09', '2026-12-02 00:05:00+09', NULL),
    (24, 1, 5, 1, 0.2200, 'paid', 'edge: first instant of 2026-12-02 in Tokyo', '2026-12-02 00:00:00+09', '2026-12-02 00:05:00+09', NULL),
    (25, 2, 6, 1, 0.2200, 'paid', 'edge: UTC date 2026-11-30, Tokyo date 2026-12-01', '2026-11-30 20:30:00+00', '2026-11-30 20:35:00+00', NULL),
    (26, 2, 7, 1, 0.2200, 'paid', 'edge: UTC date 2026-12-01, Tokyo date 2026-12-02', '2026-12-01 16:00:00+00', '2026-12-01 16:05:00+00', NULL)
) AS v (order_id, job_id, buyer_user_id, quantity, fee_rate, status, note, created_at, paid_at, cancelled_at)
JOIN jobs AS j ON j.job_id = v.job_id;

-- Generated orders 1001 to 151000, every 11.52 s plus a few milliseconds over 20 days.
-- The series is bigint because n * 104729 overflows integer.
WITH g AS (
    SELECT
        n,
        101 + (n * 7919) % 3000 AS job_id,
        101 + (n * 104729) % 20000 AS buyer_user_id,
        1 + (n % 10 = 0)::int + 2 * (n % 30 = 0)::int AS quantity,
        CASE WHEN n % 4 = 0 THEN 0.0550 ELSE 0.2200 END AS fee_rate,
        CASE n % 20
            WHEN 14 THEN 'pending'
            WHEN 15 THEN 'pending'
            WHEN 16 THEN 'cancelled'
            WHEN 17 THEN 'refunded'
            WHEN 18 THEN 'completed'
            WHEN 19 THEN 'completed'
            ELSE 'paid'
        END AS status,
        timestamptz '2026-11-21 00:00:00+09'
            + (n - 1) * interval '11.52 seconds'
            + ((n * 7) % 1000) * interval '1 millisecond' AS created_at
    FROM generate_series(1::bigint, 150000::bigint) AS n
)
INSERT INTO orders (order_id, job_id, buyer_user_id, quantity, unit_price, amount, fee_rate, fee, status, note, created_at, paid_at, cancelled_at)
SELECT
    1000 + g.n,
    g.job_id,
    g.buyer_user_id,
    g.quantity,
    j.price,
    j.price * g.quantity,
    g.fee_rate,
    floor(j.price * g.quantity * g.fee_rate),
    g.status,
    CASE
        WHEN g.n % 997 = 0 THEN E'配送先:\n東京都千代田区千代田1-1'
        WHEN g.n % 991 = 0 THEN E'Line one\r\nLine two'
        WHEN g.n % 983 = 0 THEN 'Please call "after 6pm", thanks'
        WHEN g.n % 977 = 0 THEN 'NULL'
        WHEN g.n % 971 = 0 THEN ''
        WHEN g.n % 967 = 0 THEN '   '
        WHEN g.n % 953 = 0 THEN '納期〜12/5、①②は別途'
        WHEN g.n % 947 = 0 THEN '髙橋様 ご依頼分'
        WHEN g.n % 13 = 0 THEN 'リピート注文'
        WHEN g.n % 17 = 0 THEN 'Gift wrapping, please'
        ELSE NULL
    END,
    g.created_at,
    CASE WHEN g.status IN ('paid', 'completed', 'refunded') THEN g.created_at + (g.n % 50 + 1) * interval '1 minute' END,
    CASE WHEN g.status = 'cancelled' THEN g.created_at + interval '2 hours' END
FROM g
JOIN jobs AS j ON j.job_id = g.job_id;

-- The rows above set their ids explicitly, so move each identity sequence past them.
SELECT setval(pg_get_serial_sequence('users', 'user_id'), (SELECT max(user_id) FROM users));
SELECT setval(pg_get_serial_sequence('jobs', 'job_id'), (SELECT max(job_id) FROM jobs));
SELECT setval(pg_get_serial_sequence('orders', 'order_id'), (SELECT max(order_id) FROM orders));

-- Foreign keys and secondary indexes, built once over the loaded rows.
ALTER TABLE jobs ADD CONSTRAINT jobs_seller_user_id_fkey FOREIGN KEY (seller_user_id) REFERENCES users (user_id);
ALTER TABLE orders ADD CONSTRAINT orders_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs (job_id);
ALTER TABLE orders ADD CONSTRAINT orders_buyer_user_id_fkey FOREIGN KEY (buyer_user_id) REFERENCES users (user_id);

CREATE INDEX jobs_seller_user_id_idx ON jobs (seller_user_id);
CREATE INDEX orders_created_at_idx ON orders (created_at);
CREATE INDEX orders_job_id_idx ON orders (job_id);
CREATE INDEX orders_buyer_user_id_idx ON orders (buyer_user_id);
