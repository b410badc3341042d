//! Group commit for order deliveries: concurrent webhook requests share one durable
//! transaction, each in its own savepoint, and each is answered after the commit.

use super::{ApplyError, DeliveryOutcome, OrderError, OrderInput};
use crate::clock::Clock;
use crate::store::{IngestOutcome, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most deliveries in one transaction.
const MAX_BATCH: usize = 256;

struct Job {
    delivery_id: Option<String>,
    order: OrderInput,
    done: oneshot::Sender<Result<DeliveryOutcome, ApplyError>>,
}

/// A handle to the committing task; cheap to clone. The task ends when every handle
/// is gone and the queue is empty.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
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
        (GroupCommit { jobs: tx }, tokio::spawn(run(store, clock, rx)))
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
            .map_err(|_| ApplyError::Store(StoreError::Corrupt("the order writer has stopped".into())))?;
        wait.await
            .map_err(|_| ApplyError::Store(StoreError::Corrupt("the order writer has stopped".into())))?
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

async fn run(store: Store, clock: Clock, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let results = commit_batch(&store, &clock, &batch).await;
        for (job, result) in batch.drain(..).zip(results) {
            let _ = job.done.send(result);
        }
    }
}

/// One transaction for the batch; a refused delivery rolls back only its savepoint.
async fn commit_batch(store: &Store, clock: &Clock, batch: &[Job]) -> Vec<Result<DeliveryOutcome, ApplyError>> {
    let now = clock.now();
    let attempt = async {
        let mut tx = store.write().await?;
        let mut results = Vec::with_capacity(batch.len());
        for job in batch {
            store.savepoint(&mut tx).await?;
            let r = apply_one(store, &mut tx, job, now).await;
            match &r {
                Ok(_) => store.release_savepoint(&mut tx).await?,
                Err(_) => store.rollback_savepoint(&mut tx).await?,
            }
            results.push(r);
        }
        tx.commit().await?;
        Ok::<_, StoreError>(results)
    }
    .await;
    match attempt {
        Ok(results) => results,
        Err(e) => {
            tracing::error!(error = %e, orders = batch.len(), "committing a batch of orders failed");
            batch
                .iter()
                .map(|_| Err(ApplyError::Store(StoreError::Corrupt(format!("the batch failed: {e}")))))
                .collect()
        }
    }
}
