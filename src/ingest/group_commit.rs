//! Group commit for order deliveries: concurrent webhook requests share one durable
//! transaction, each in its own savepoint, and each is answered once the commit is on
//! disk. The disk's confirmation of one batch is awaited while the next is written.

use super::{ApplyError, DeliveryOutcome, OrderError, OrderInput};
use crate::clock::Clock;
use crate::store::{IngestOutcome, Store, StoreError, Unsynced, WRITER_CACHE_BUSY_KIB, WRITER_CACHE_IDLE_KIB};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Most deliveries in one transaction.
const MAX_BATCH: usize = 256;
/// Committed batches waiting for the disk at most; past it the writer waits too.
const MAX_IN_SYNC: usize = 64;
/// Quiet time after which the writer's page cache goes back to its resting size.
const RUSH_OVER: std::time::Duration = std::time::Duration::from_secs(30);

struct Job {
    delivery_id: Option<String>,
    order: OrderInput,
    done: oneshot::Sender<Answer>,
}

/// A handle to the committing task; cheap to clone. The task ends when every handle
/// is gone and the queue is empty.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
    /// Set when the disk did not confirm a commit: the writer has stopped for good.
    refused_by_disk: Arc<AtomicBool>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("order", &self.order.external_id)
            .finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Starts the committing task.
    pub fn start(store: Store, clock: Clock) -> (GroupCommit, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let refused_by_disk = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(store, clock, rx, refused_by_disk.clone()));
        (
            GroupCommit {
                jobs: tx,
                refused_by_disk,
            },
            task,
        )
    }

    /// Whether the writer stopped because the disk did not confirm a commit: order
    /// deliveries are refused until promoterd is restarted (`/healthz` says so).
    pub fn stopped_by_disk(&self) -> bool {
        self.refused_by_disk.load(Ordering::Acquire)
    }

    /// Applies one delivery; resolves once it is committed (or refused).
    pub async fn apply(&self, delivery_id: Option<String>, order: OrderInput) -> Result<DeliveryOutcome, ApplyError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job {
                delivery_id,
                order,
                done,
            })
            .await
            .map_err(|_| ApplyError::Unavailable("it has stopped".into()))?;
        wait.await
            .map_err(|_| ApplyError::Unavailable("it has stopped".into()))?
    }
}

async fn apply_one(
    store: &Store,
    tx: &mut crate::store::WriteTx,
    job: &Job,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<DeliveryOutcome, ApplyError> {
    if let Some(id) = &job.delivery_id
        && !store
            .record_delivery(tx, &job.order.source, id, &job.order.external_id, now)
            .await?
    {
        return Ok(DeliveryOutcome::Duplicate);
    }
    match store.apply_order(tx, &job.order, now).await? {
        IngestOutcome::Conflict(msg) => Err(OrderError::Conflict(msg).into()),
        outcome => Ok(DeliveryOutcome::Applied(outcome)),
    }
}

/// What a delivery is answered.
type Answer = Result<DeliveryOutcome, ApplyError>;

/// Refuses deliveries whose answers can no longer be given: the checkout retries.
fn refuse(waiting: impl IntoIterator<Item = oneshot::Sender<Answer>>, why: &str) {
    for done in waiting {
        let _ = done.send(Err(ApplyError::Unavailable(why.to_string())));
    }
}

/// A committed batch's answers, given once its commit is on disk.
struct Answers {
    commit: Unsynced,
    answers: Vec<(oneshot::Sender<Answer>, Answer)>,
}

/// Answers committed batches once they are on disk: one sync for every batch committed
/// before it began, while the writer goes on with the next. A failed sync ends it, and
/// with it the writer (see [`writer`]).
async fn answer_when_durable(store: Store, mut rx: mpsc::Receiver<Answers>, refused_by_disk: Arc<AtomicBool>) {
    let mut pending: Vec<Answers> = Vec::new();
    while rx.recv_many(&mut pending, usize::MAX).await > 0 {
        let mut answers = Vec::new();
        let commits = pending
            .drain(..)
            .map(|a| {
                answers.extend(a.answers);
                a.commit
            })
            .collect();
        match store.make_durable(commits).await {
            Ok(()) => {
                for (done, answer) in answers {
                    let _ = done.send(answer);
                }
            }
            Err(e) => {
                refused_by_disk.store(true, Ordering::Release);
                // The writer sees this before it writes another batch.
                rx.close();
                // Committed, visible, perhaps never on disk: a later sync would not say
                // so (the failed pages count as written), so no delivery is acknowledged
                // from here on, retries of these included.
                tracing::error!(
                    error = %e,
                    orders = answers.len(),
                    "the disk did not confirm committed orders: order deliveries are refused until promoterd is restarted (check the disk first)"
                );
                refuse(
                    answers.into_iter().map(|(done, _)| done),
                    &format!("the disk did not confirm the write: {e}"),
                );
                return;
            }
        }
    }
}

async fn run(store: Store, clock: Clock, mut rx: mpsc::Receiver<Job>, refused_by_disk: Arc<AtomicBool>) {
    let (durable, to_answer) = mpsc::channel(MAX_IN_SYNC);
    let answering = tokio::spawn(answer_when_durable(store.clone(), to_answer, refused_by_disk));
    writer(&store, &clock, &mut rx, &durable).await;
    drop(durable);
    let _ = answering.await;
}

async fn writer(store: &Store, clock: &Clock, rx: &mut mpsc::Receiver<Job>, durable: &mpsc::Sender<Answers>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    // During a rush the writer keeps a larger page cache; at rest it gives it back.
    let mut rush = false;
    loop {
        let received = if rush {
            match tokio::time::timeout(RUSH_OVER, rx.recv_many(&mut batch, MAX_BATCH)).await {
                Ok(n) => n,
                Err(_) => {
                    if let Err(e) = set_cache(store, WRITER_CACHE_IDLE_KIB).await {
                        tracing::warn!(error = %e, "shrinking the writer's page cache failed");
                    }
                    // The rush's buffers and cache pages are free now: the system gets them back.
                    crate::memory::give_back_soon();
                    rush = false;
                    continue;
                }
            }
        } else {
            rx.recv_many(&mut batch, MAX_BATCH).await
        };
        if received == 0 {
            break;
        }
        if durable.is_closed() {
            // The disk failed to confirm a commit (or the answering task is gone):
            // nothing more is written, and deliveries are refused as by a stopped writer.
            refuse(
                batch.drain(..).map(|job| job.done),
                "it has stopped: the disk did not confirm a write",
            );
            return;
        }
        if !rush {
            if let Err(e) = set_cache(store, WRITER_CACHE_BUSY_KIB).await {
                tracing::warn!(error = %e, "growing the writer's page cache failed");
            }
            rush = true;
        }
        let (results, commit) = commit_batch(store, clock, &batch).await;
        let answers: Vec<_> = batch.drain(..).map(|job| job.done).zip(results).collect();
        match commit {
            Some(commit) => {
                if let Err(mpsc::error::SendError(a)) = durable.send(Answers { commit, answers }).await {
                    // Only while stopping: nothing can confirm the disk any more.
                    refuse(a.answers.into_iter().map(|(done, _)| done), "it has stopped");
                }
            }
            // Nothing was committed: the answers say so at once.
            None => {
                for (done, answer) in answers {
                    let _ = done.send(answer);
                }
            }
        }
    }
}

async fn set_cache(store: &Store, kib: u32) -> Result<(), StoreError> {
    let mut tx = store.write().await?;
    store.set_writer_cache(&mut tx, kib).await?;
    tx.commit().await?;
    Ok(())
}

/// One transaction for the batch. New orders (the common case) are written together
/// with a few multi-row statements; any other delivery runs on its own in a savepoint,
/// so a refused one rolls back only itself.
async fn commit_batch(store: &Store, clock: &Clock, batch: &[Job]) -> (Vec<Answer>, Option<Unsynced>) {
    let now = clock.now();
    let attempt = async {
        let mut tx = store.write_batch().await?;
        let mut results: Vec<Option<Answer>> = batch.iter().map(|_| None).collect();
        let fresh = fresh_orders(store, &mut tx, batch).await?;
        let deliveries: Vec<(&str, &str, &str)> = fresh
            .iter()
            .filter_map(|&i| {
                let j = &batch[i];
                j.delivery_id
                    .as_deref()
                    .map(|d| (j.order.source.as_str(), d, j.order.external_id.as_str()))
            })
            .collect();
        let recorded = store.record_deliveries(&mut tx, &deliveries, now).await?;
        let mut new = Vec::with_capacity(fresh.len());
        for i in fresh {
            let j = &batch[i];
            match &j.delivery_id {
                Some(d) if !recorded.contains(&(j.order.source.clone(), d.clone())) => {
                    results[i] = Some(Ok(DeliveryOutcome::Duplicate));
                }
                _ => new.push(i),
            }
        }
        let orders: Vec<&OrderInput> = new.iter().map(|&i| &batch[i].order).collect();
        let ids = store.insert_new_orders(&mut tx, &orders, now).await?;
        for (i, id) in new.into_iter().zip(ids) {
            results[i] = Some(Ok(DeliveryOutcome::Applied(IngestOutcome::Created(id))));
        }
        for (job, slot) in batch.iter().zip(results.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            store.savepoint(&mut tx).await?;
            let r = apply_one(store, &mut tx, job, now).await;
            match &r {
                Ok(_) => store.release_savepoint(&mut tx).await?,
                Err(_) => store.rollback_savepoint(&mut tx).await?,
            }
            *slot = Some(r);
        }
        let commit = tx.commit_unsynced().await?;
        Ok::<_, StoreError>((results.into_iter().flatten().collect::<Vec<_>>(), commit))
    }
    .await;
    match attempt {
        Ok((results, commit)) => (results, Some(commit)),
        Err(e) => {
            tracing::error!(error = %e, orders = batch.len(), "committing a batch of orders failed");
            let failed = batch
                .iter()
                .map(|_| Err(ApplyError::Unavailable(format!("the batch failed: {e}"))))
                .collect();
            (failed, None)
        }
    }
}

/// Deliveries that can take the bulk path: an order with lines that is neither stored
/// nor awaited by a refund, and whose order and delivery id appear once in the batch.
async fn fresh_orders(store: &Store, tx: &mut crate::store::WriteTx, batch: &[Job]) -> Result<Vec<usize>, StoreError> {
    let mut orders: HashMap<(&str, &str), usize> = HashMap::new();
    let mut deliveries: HashMap<(&str, &str), usize> = HashMap::new();
    for j in batch {
        *orders.entry((&j.order.source, &j.order.external_id)).or_default() += 1;
        if let Some(d) = &j.delivery_id {
            *deliveries.entry((&j.order.source, d)).or_default() += 1;
        }
    }
    let candidates: Vec<usize> = (0..batch.len())
        .filter(|&i| {
            let j = &batch[i];
            !j.order.lines.is_empty()
                && orders[&(j.order.source.as_str(), j.order.external_id.as_str())] == 1
                && j.delivery_id
                    .as_deref()
                    .is_none_or(|d| deliveries[&(j.order.source.as_str(), d)] == 1)
        })
        .collect();
    let keys: Vec<(&str, &str)> = candidates
        .iter()
        .map(|&i| (batch[i].order.source.as_str(), batch[i].order.external_id.as_str()))
        .collect();
    let known = store.known_orders(tx, &keys).await?;
    Ok(candidates
        .into_iter()
        .filter(|&i| !known.contains(&(batch[i].order.source.clone(), batch[i].order.external_id.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LineInput, OrderStatus};
    use crate::store::test_fixture::{Fixture, store_with_an_event_syncing};

    fn order(f: &Fixture, id: &str) -> OrderInput {
        let now = chrono::Utc::now();
        OrderInput {
            source: "checkout".into(),
            external_id: id.into(),
            event_id: f.event,
            ref_code: None,
            buyer_name: None,
            buyer_email: None,
            buyer_phone: None,
            status: OrderStatus::Paid,
            currency: "EUR".into(),
            ordered_at: now,
            updated_at: now,
            lines: vec![LineInput {
                ticket_type: "GA".into(),
                quantity: 1,
                refunded_quantity: 0,
                unit_price_minor: 2500,
                refunded_minor: 0,
            }],
        }
    }

    #[tokio::test]
    async fn a_delivery_is_answered_only_once_the_disk_confirms_its_commit() {
        let (f, tx) = store_with_an_event_syncing(true).await;
        tx.commit().await.unwrap();
        let (writer, _task) = GroupCommit::start(f.store.clone(), Clock::system());
        let ok = writer.apply(Some("d1".into()), order(&f, "A1")).await;
        assert!(
            matches!(ok, Ok(DeliveryOutcome::Applied(IngestOutcome::Created(_)))),
            "{ok:?}"
        );
        assert!(!writer.stopped_by_disk());

        // A disk that refuses the sync (the log's directory is a file here): the
        // committed batch is not acknowledged, and the writer takes nothing more.
        std::fs::write(f.dir.path().join("not-a-directory"), b"").unwrap();
        let failing = f
            .store
            .clone()
            .with_write_ahead_log(f.dir.path().join("not-a-directory").join("db.sqlite-wal"));
        let (writer, task) = GroupCommit::start(failing, Clock::system());
        let refused = writer.apply(Some("d2".into()), order(&f, "A2")).await;
        assert!(
            matches!(&refused, Err(ApplyError::Unavailable(m)) if m.contains("disk did not confirm")),
            "{refused:?}"
        );
        let after = writer.apply(Some("d3".into()), order(&f, "A3")).await;
        assert!(matches!(after, Err(ApplyError::Unavailable(_))), "{after:?}");
        assert!(writer.stopped_by_disk(), "what /healthz reads");
        assert_eq!(
            f.count("orders").await,
            2,
            "A1, and A2 committed but never acknowledged; A3 not written"
        );
        drop(writer);
        task.await.unwrap();
    }
}
