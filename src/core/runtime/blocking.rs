//! The blocking pool: threads started on demand (up to a limit) that run blocking tasks from a
//! FIFO queue; a thread idle for the keep-alive exits. Exited threads are joined by the next
//! thread start or by `shutdown`, so finished threads never accumulate.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::Runtime;
use crate::core::sync::{Condvar, Mutex};
use crate::core::task::Notified;

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Notified>,
    threads: usize,
    idle: usize,
    shutdown: bool,
    next_id: usize,
    handles: Vec<(usize, JoinHandle<()>)>,
    exited: Vec<usize>,
}

pub(crate) struct BlockingPool {
    state: Mutex<PoolState>,
    cvar: Condvar,
}

pub(crate) struct PoolCounts {
    pub(crate) threads: usize,
    pub(crate) idle: usize,
}

impl BlockingPool {
    pub(crate) fn new() -> BlockingPool {
        BlockingPool {
            state: Mutex::new(PoolState::default()),
            cvar: Condvar::new(),
        }
    }

    /// Queues a blocking task and makes sure a thread will run it: an idle thread is woken, or a
    /// new one started if under the limit (otherwise it waits for a busy thread). If the OS
    /// refuses a thread while none exists, the task stays queued and the next submit retries.
    pub(crate) fn submit(&self, shared: &Arc<Runtime>, entry: Notified) {
        let mut st = self.state.lock();
        st.queue.push_back(entry);
        if st.idle >= st.queue.len() {
            drop(st);
            self.cvar.notify_one();
            return;
        }
        if st.threads < shared.config.max_blocking_threads && !st.shutdown {
            let reap: Vec<_> = take_exited(&mut st);
            let id = st.next_id;
            st.next_id += 1;
            let s = Arc::clone(shared);
            let spawned = shared.spawn_thread(
                format!("{}-blocking", shared.config.thread_name),
                move || run_thread(s, id),
            );
            // On failure there is nothing to undo: the entry stays queued for the existing
            // threads, or for the thread the next submit starts.
            if let Ok(handle) = spawned {
                st.threads += 1;
                st.handles.push((id, handle));
            }
            drop(st);
            for h in reap {
                let _ = h.join();
            }
        }
    }

    /// Removes every queued entry (shutdown drains them itself so that they do not wait for a
    /// busy thread).
    pub(crate) fn drain(&self) -> Vec<Notified> {
        self.state.lock().queue.drain(..).collect()
    }

    /// Stops the pool and joins all its threads. Queued entries are run or discarded first.
    pub(crate) fn shutdown_and_join(&self) {
        let handles = {
            let mut st = self.state.lock();
            st.shutdown = true;
            std::mem::take(&mut st.handles)
        };
        self.cvar.notify_all();
        for (_, h) in handles {
            let _ = h.join();
        }
    }

    pub(crate) fn counts(&self) -> PoolCounts {
        let st = self.state.lock();
        PoolCounts {
            threads: st.threads,
            idle: st.idle,
        }
    }
}

fn take_exited(st: &mut PoolState) -> Vec<JoinHandle<()>> {
    let exited = std::mem::take(&mut st.exited);
    let (done, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut st.handles)
        .into_iter()
        .partition(|(id, _)| exited.contains(id));
    st.handles = keep;
    done.into_iter().map(|(_, h)| h).collect()
}

fn run_thread(shared: Arc<Runtime>, id: usize) {
    let _ctx = super::this_thread::enter_runtime(&shared);
    let pool = &shared.blocking;
    let keep_alive = shared.config.blocking_keep_alive;
    let mut st = pool.state.lock();
    loop {
        if let Some(entry) = st.queue.pop_front() {
            drop(st);
            entry.run_counted(|| {
                shared
                    .blocking_polls
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
            st = pool.state.lock();
            continue;
        }
        if st.shutdown {
            break;
        }
        st.idle += 1;
        let deadline = Instant::now() + keep_alive;
        st = pool.cvar.wait_until(st, Some(deadline));
        st.idle -= 1;
        if st.queue.is_empty() && !st.shutdown && Instant::now() >= deadline {
            st.exited.push(id);
            break;
        }
    }
    st.threads -= 1;
}
