//! Commissions (issue 18) over random sequences of sales, refunds, clock steps and payouts
//! through the real store: after every step each order's ledger equals a hand computation
//! of what it earns, the books balance, and payouts add up.

use super::commissions::{Sale, books_balance, paid, sell};
use super::support::*;
use chrono::{Duration, TimeZone, Utc};
use promoterd::clock::Clock;
use promoterd::domain::commission;

/// A tiny deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// An order of the sequence: who sold it, what, and how many tickets are refunded.
struct Sold {
    id: String,
    ana: bool,
    vip: bool,
    quantity: u32,
    refunded: u32,
}

impl Sold {
    /// By hand: VIP earns 3.00 per net ticket (its own rule); General Admission 12.5% of
    /// its net amount, rounded half up to the cent.
    fn earns(&self) -> i64 {
        let net = i64::from(self.quantity - self.refunded);
        if self.vip {
            300 * net
        } else {
            (net * 4900 * 1250 + 5000) / 10_000
        }
    }
}

async fn due(app: &TestApp, who: &str) -> i64 {
    let org = app.store.org_ids().await.unwrap()[0];
    let person = app.store.person_by_email(who).await.unwrap().unwrap();
    let rows = app.store.commission_ledgers(org, person.id).await.unwrap();
    let ledgers: Vec<_> = rows.iter().map(|r| r.ledger()).collect();
    commission::balances(&ledgers, app.core.clock.now())
        .iter()
        .map(|b| b.approved)
        .sum()
}

#[tokio::test]
async fn random_sales_refunds_and_payouts_keep_every_figure_right() {
    for seed in [7u64, 1234, 99_991] {
        let clock = Clock::fixed(Utc.with_ymd_and_hms(2099, 5, 1, 12, 0, 0).unwrap());
        let app = TestApp::with_clock(clock.clone()).await;
        app.world().await;
        let codes = [
            link_code(&app.ok(ANA, "mylink summer-fest").await),
            link_code(&app.ok(BEN, "mylink").await),
        ];
        app.ok(OWNER, "setcommission 12.5% summer-fest").await;
        app.ok(OWNER, "setcommission 3 summer-fest --type VIP").await;
        app.ok(OWNER, "commissionpolicy --hold 0").await;
        // The event is soon: the sequence crosses its start, and payouts happen.
        app.ok(OWNER, "editevent summer-fest starts \"2099-05-10 18:00\"").await;
        let mut rng = Rng(seed);
        let (mut orders, mut updates, mut paid_out) = (Vec::<Sold>::new(), 0u32, 0i64);
        for step in 0..40 {
            match rng.below(6) {
                0 | 1 => {
                    let s = Sold {
                        id: format!("R{seed}-{step}"),
                        ana: rng.below(2) == 0,
                        vip: rng.below(3) == 0,
                        quantity: 1 + rng.below(4) as u32,
                        refunded: 0,
                    };
                    let (tt, price) = if s.vip {
                        ("VIP", 12950)
                    } else {
                        ("General Admission", 4900)
                    };
                    let code = &codes[usize::from(!s.ana)];
                    sell(
                        &app,
                        &[paid(
                            &s.id,
                            "summer-fest",
                            "2099-05-02T10:00:00Z",
                            code,
                            tt,
                            s.quantity,
                            price,
                        )],
                    )
                    .await;
                    orders.push(s);
                }
                2 if !orders.is_empty() => {
                    let i = rng.below(orders.len() as u64) as usize;
                    let o = &mut orders[i];
                    if o.refunded == o.quantity {
                        continue;
                    }
                    o.refunded += 1;
                    updates += 1;
                    let updated = format!("2099-05-03T{:02}:{:02}:00Z", updates / 60, updates % 60);
                    let (tt, price) = if o.vip {
                        ("VIP", 12950)
                    } else {
                        ("General Admission", 4900)
                    };
                    let code = &codes[usize::from(!o.ana)];
                    let mut line: Sale = paid(
                        &o.id,
                        "summer-fest",
                        "2099-05-02T10:00:00Z",
                        code,
                        tt,
                        o.quantity,
                        price,
                    );
                    line.status = if o.refunded == o.quantity {
                        "refunded"
                    } else {
                        "partially_refunded"
                    };
                    line.refunded = o.refunded;
                    line.updated = &updated;
                    sell(&app, &[line]).await;
                }
                3 => clock.advance(Duration::days(1 + rng.below(4) as i64)),
                _ => {
                    let who = if rng.below(2) == 0 { ANA } else { BEN };
                    let owed = due(&app, who).await;
                    if owed > 0 && rng.below(2) == 0 {
                        let part = 1 + rng.below(owed as u64) as i64;
                        let r = app
                            .ok(
                                OWNER,
                                &format!("markpaid {who} {}.{:02} P-{step}", part / 100, part % 100),
                            )
                            .await;
                        assert!(r.contains("Recorded"), "{r}");
                        paid_out += part;
                    } else {
                        let r = app.ok(OWNER, &format!("markpaid {who}")).await;
                        assert_eq!(r.contains("Nothing is due"), owed <= 0, "{r}");
                        paid_out += owed.max(0);
                    }
                }
            }
            // Every order's ledger is what it earns by hand; the books balance.
            let db = app.db().await;
            for o in &orders {
                let booked: i64 = db
                    .scalar(
                        "SELECT CAST(coalesce(sum(c.amount_minor), 0) AS BIGINT) FROM commission_entries c \
                         JOIN orders o ON o.id = c.order_id WHERE o.external_id = $1",
                        &[&o.id],
                    )
                    .await;
                assert_eq!(booked, o.earns(), "seed {seed} step {step} order {}", o.id);
            }
            let recorded: i64 = db
                .scalar(
                    "SELECT CAST(coalesce(sum(amount_minor), 0) AS BIGINT) FROM payouts",
                    &[],
                )
                .await;
            db.close().await;
            assert_eq!(recorded, paid_out, "seed {seed} step {step}");
            books_balance(&app).await;
        }
        assert!(
            paid_out > 0,
            "seed {seed}: the sequence reached a payout (clock {}, {} orders)",
            clock.now(),
            orders.len()
        );
    }
}
