//! The validation threads: a fixed set of threads (one per configured
//! slot) that take the next queued validation the moment they finish one.
//!
//! A slot semaphore in front of the runtime's blocking pool hands each
//! freed slot back through the async runtime (wake the waiting task, poll
//! it, wake a blocking thread) before the next validation starts. On a
//! 2-core machine under load that left about a fifth of the CPU idle;
//! a worker that pulls its next job from a queue leaves no such gap.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// A validation job panicked (a bug); the request gets a 500.
#[derive(Debug, thiserror::Error)]
#[error("the validation job panicked")]
pub struct JobPanicked;

/// Runs validations on a fixed number of threads, first come first served.
pub struct ValidationPool {
    pool: rayon::ThreadPool,
}

impl ValidationPool {
    /// Starts `threads` validation threads (at least one).
    pub fn new(threads: usize) -> Result<ValidationPool, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("shinny-validate-{i}"))
            .build()
            .map_err(|e| format!("cannot start the validation threads: {e}"))?;
        Ok(ValidationPool { pool })
    }

    /// Queues `job` and waits for its result. A job whose caller has gone
    /// away (the client disconnected) before a thread reached it is
    /// dropped unrun.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JobPanicked> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(catch_unwind(AssertUnwindSafe(job)));
        });
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            _ => Err(JobPanicked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_reports_a_panic_as_an_error() {
        let pool = ValidationPool::new(2).unwrap();
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
        let r = pool.run(|| -> u32 { panic!("boom") }).await;
        assert!(r.is_err());
        // The threads survive a panicking job.
        for i in 0..16u32 {
            assert_eq!(pool.run(move || i + 1).await.unwrap(), i + 1);
        }
    }
}
