//! The threads that run database work, and the one queue that feeds them in arrival order.
//!
//! Every request's database work waits in one first-in, first-out queue, whichever HTTP worker
//! took the request, and runs on one of as many threads as the pool has connections. A thread
//! that finishes a job takes the next one without waiting to be woken while work is queued.
//! One queue, not one per HTTP worker: with several, a request's wait would depend on which
//! queue it fell into rather than on how much work came before it.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Database work: it takes its connection and sends its own answer.
pub type Job = Box<dyn FnOnce() + Send>;

struct Shared {
    state: Mutex<State>,
    queued: Condvar,
}

struct State {
    /// Each job with when it was queued.
    jobs: VecDeque<(Instant, Job)>,
    /// Threads waiting for a job: a push wakes one only when there is one to wake.
    idle: usize,
    /// False once every handle on the queue is gone: the threads finish what is queued, then
    /// end.
    open: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No job runs under the lock, so a poisoned lock still guards a consistent queue.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The queue and its threads; they end when it is dropped.
pub struct Queue {
    shared: Arc<Shared>,
}

impl Queue {
    /// Starts `threads` threads (at least one) that take jobs from the queue.
    pub fn start(threads: usize) -> std::io::Result<Queue> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                idle: 0,
                open: true,
            }),
            queued: Condvar::new(),
        });
        for i in 0..threads.max(1) {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("newsdesk-db-{i}"))
                .spawn(move || serve(&shared))?;
        }
        Ok(Queue { shared })
    }

    /// How many jobs wait, and how long the one queued longest ago has waited.
    pub fn stats(&self) -> (usize, Duration) {
        let state = self.shared.lock();
        let oldest = state
            .jobs
            .front()
            .map_or(Duration::ZERO, |(at, _)| at.elapsed());
        (state.jobs.len(), oldest)
    }

    /// How long the job queued longest ago has been waiting (zero when none waits).
    pub fn oldest_wait(&self) -> Duration {
        self.shared
            .lock()
            .jobs
            .front()
            .map_or(Duration::ZERO, |(at, _)| at.elapsed())
    }

    /// Queues `job` behind every job queued before it.
    pub fn push(&self, job: Job) {
        self.enqueue(job, false);
    }

    /// Queues `job` ahead of every job waiting: for the few, short pieces of background work
    /// that must not wait behind a burst of requests (webhook deliveries).
    pub fn push_first(&self, job: Job) {
        self.enqueue(job, true);
    }

    fn enqueue(&self, job: Job, first: bool) {
        let mut state = self.shared.lock();
        if first {
            state.jobs.push_front((Instant::now(), job));
        } else {
            state.jobs.push_back((Instant::now(), job));
        }
        let wake = state.idle > 0;
        drop(state);
        if wake {
            self.shared.queued.notify_one();
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.shared.lock().open = false;
        self.shared.queued.notify_all();
    }
}

fn serve(shared: &Shared) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if let Some((_, job)) = state.jobs.pop_front() {
                    break job;
                }
                if !state.open {
                    return;
                }
                state.idle += 1;
                state = shared
                    .queued
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.idle -= 1;
            }
        };
        // A job that panics loses its own answer (its caller sees the channel closed); the
        // thread goes on with the next.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn jobs_start_in_the_order_they_were_queued() {
        let queue = Queue::start(1).unwrap();
        let (started, order) = mpsc::channel();
        // The first job holds the only thread until every other job is queued behind it.
        let (release, hold) = mpsc::channel::<()>();
        let first = started.clone();
        queue.push(Box::new(move || {
            hold.recv().unwrap();
            first.send(0).unwrap();
        }));
        for n in 1..=50 {
            let started = started.clone();
            queue.push(Box::new(move || started.send(n).unwrap()));
        }
        release.send(()).unwrap();
        let seen: Vec<i32> = (0..=50)
            .map(|_| order.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(seen, (0..=50).collect::<Vec<_>>());
    }

    #[test]
    fn a_job_that_panics_leaves_its_thread_serving() {
        let queue = Queue::start(1).unwrap();
        let (tx, rx) = mpsc::channel();
        queue.push(Box::new(|| panic!("a job's bug")));
        queue.push(Box::new(move || tx.send("served").unwrap()));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("served"));
    }

    #[test]
    fn threads_end_once_the_queue_is_dropped_and_its_jobs_are_done() {
        let queue = Queue::start(2).unwrap();
        let threads_hold = Arc::downgrade(&queue.shared);
        let (tx, rx) = mpsc::channel();
        for n in 0..10 {
            let tx = tx.clone();
            queue.push(Box::new(move || tx.send(n).unwrap()));
        }
        drop(tx);
        drop(queue);
        let mut done = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(n) => done.push(n),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("queued jobs did not finish: {e}"),
            }
        }
        done.sort_unstable();
        assert_eq!(done, (0..10).collect::<Vec<_>>());
        // Each thread holds the queue's state until it ends.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while threads_hold.upgrade().is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the threads did not end"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
