//! The task state machine driven step by step on one thread (also run under miri).

use std::sync::atomic::Ordering::SeqCst;
use std::task::{Wake, Waker};

use super::support::*;
use crate::core::sync::{Arc, AtomicUsize};
use crate::core::task::{COMPLETE, Outcome, REF_SHIFT, SCHEDULED};

fn setup() -> (Arc<TestScheduler>, Arc<Counters>) {
    (TestScheduler::new(), Arc::new(Counters::default()))
}

#[test]
fn run_to_completion_hands_out_output_once() {
    let (s, c, h) = one_task(Script::Run);
    assert_eq!(outcome(&h), None);
    assert_eq!(s.run_all(), 1);
    assert_eq!(outcome(&h), Some(Outcome::Ok));
    assert_eq!(c.drops(), 1, "body dropped at completion");
    let out = take_output(&h);
    assert!(!out.is_null());
    assert!(take_output(&h).is_null(), "output handed out once");
    consume_output(out);
    drop_handle(h);
    assert_eq!(c.outputs_dropped(), 0);
    assert_eq!(s.owned.len(), 0);
}

#[test]
fn detached_output_is_dropped_by_completer() {
    let (s, c) = setup();
    assert!(
        s.spawn(TestBody::new(Script::Ready, &c), false)
            .unwrap()
            .is_none()
    );
    s.run_all();
    assert_eq!(c.outputs_dropped(), 1);
    assert_eq!(c.drops(), 1);
}

#[test]
fn handle_dropped_after_completion_drops_untaken_output() {
    let (s, c, h) = one_task(Script::Ready);
    s.run_all();
    assert_eq!(c.outputs_dropped(), 0);
    drop_handle(h);
    assert_eq!(c.outputs_dropped(), 1);
}

#[test]
fn handle_dropped_before_completion_detaches() {
    let (s, c, h) = one_task(Script::Ready);
    drop_handle(h);
    assert_eq!(s.run_all(), 1);
    assert_eq!(c.outputs_dropped(), 1);
    assert_eq!(s.owned.len(), 0);
}

#[test]
fn wakes_coalesce_into_one_poll() {
    let (s, c, h) = one_task(Script::UntilFlag);
    assert_eq!(s.run_all(), 1);
    let w = task_waker_of(&h);
    w.wake_by_ref();
    w.wake_by_ref();
    let by_val = w.clone();
    by_val.wake();
    assert_eq!(s.queued(), 1, "three wakes of an idle task queue it once");
    c.set_flag();
    assert_eq!(s.run_all(), 1);
    assert_eq!(outcome(&h), Some(Outcome::Ok));
    w.wake_by_ref();
    assert_eq!(s.queued(), 0, "a wake of a finished task does nothing");
    drop(w);
    drop_handle(h);
}

#[test]
fn wake_during_poll_reschedules_once() {
    let (s, c, h) = one_task(Script::WakeSelfOnce);
    assert!(s.pop().unwrap().run());
    assert_eq!(s.queued(), 1, "woken during its poll: requeued once");
    assert_eq!(s.run_all(), 1);
    assert_eq!(c.polls(), 2);
    assert_eq!(outcome(&h), Some(Outcome::Ok));
    drop_handle(h);
}

#[test]
fn yield_requeues_until_ready() {
    let (s, _c, h) = one_task(Script::Yield(5));
    assert_eq!(s.run_all(), 6);
    assert_eq!(outcome(&h), Some(Outcome::Ok));
    drop_handle(h);
}

#[test]
fn abort_before_start_cancels_at_once() {
    let (s, c, h) = one_task(Script::Run);
    h.abort();
    assert_eq!(outcome(&h), Some(Outcome::Cancelled));
    assert_eq!(c.drops(), 1, "drop_arg ran before abort returned");
    assert_eq!(s.owned.len(), 1, "still listed: its queue entry exists");
    assert_eq!(s.run_all(), 0, "the stale entry does not run the task");
    assert_eq!(c.polls(), 0);
    assert_eq!(
        s.owned.len(),
        0,
        "released when the stale entry was discarded"
    );
    h.abort();
    drop_handle(h);
}

#[test]
fn abort_idle_task_cancels_and_ignores_later_wakes() {
    let (s, c, h) = idle_task();
    let w = task_waker_of(&h);
    h.abort();
    assert_eq!(outcome(&h), Some(Outcome::Cancelled));
    assert_eq!(c.drops(), 1);
    assert_eq!(s.owned.len(), 0, "no entry: released at once");
    w.wake();
    assert_eq!(s.queued(), 0);
    drop_handle(h);
}

#[test]
fn abort_during_poll_cancels_at_pending_but_ready_stands() {
    let (s, _c, h) = one_task(Script::AbortSelf { then_ready: false });
    s.run_all();
    assert_eq!(outcome(&h), Some(Outcome::Cancelled));
    drop_handle(h);

    let (s, c2, h) = one_task(Script::AbortSelf { then_ready: true });
    s.run_all();
    assert_eq!(
        outcome(&h),
        Some(Outcome::Ok),
        "READY from the aborted poll stands"
    );
    drop_handle(h);
    assert_eq!(c2.outputs_dropped(), 1);
}

#[test]
fn abort_after_completion_changes_nothing() {
    let (s, _c, h) = one_task(Script::Ready);
    s.run_all();
    h.abort();
    assert_eq!(outcome(&h), Some(Outcome::Ok));
    drop_handle(h);
}

struct CountingWaker(AtomicUsize);
impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn join_waker_is_woken_exactly_at_completion_and_replaced() {
    let (s, c, h) = one_task(Script::UntilFlag);
    let first = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
    let second = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
    assert_eq!(h.poll_join(&Waker::from(first.clone())), None);
    assert_eq!(h.poll_join(&Waker::from(second.clone())), None);
    s.run_all();
    assert_eq!(second.0.load(SeqCst), 0, "not woken before completion");
    c.set_flag();
    task_waker_of(&h).wake();
    s.run_all();
    assert_eq!(first.0.load(SeqCst), 0, "a replaced waker is not woken");
    assert_eq!(second.0.load(SeqCst), 1);
    assert_eq!(h.poll_join(&Waker::from(second.clone())), Some(Outcome::Ok));
    drop_handle(h);
}

#[test]
fn shutdown_cancels_queued_and_idle_and_refuses_spawns() {
    let (s, c) = setup();
    let idle = s
        .spawn(TestBody::new(Script::UntilFlag, &c), true)
        .unwrap()
        .unwrap();
    s.run_all();
    let queued = s
        .spawn(TestBody::new(Script::Run, &c), true)
        .unwrap()
        .unwrap();
    let done = s.spawn(TestBody::new(Script::Ready, &c), false).unwrap();
    assert!(done.is_none());
    // Run only the detached one: it is last in the queue, so run everything but `queued`.
    let q = s.pop().unwrap();
    s.run_all();
    s.queue_back(q);
    s.shutdown();
    assert_eq!(outcome(&idle), Some(Outcome::Cancelled));
    assert_eq!(outcome(&queued), Some(Outcome::Cancelled));
    assert_eq!(c.drops(), 3, "every body dropped exactly once");
    assert_eq!(s.owned.len(), 0);
    let refused = s.spawn(TestBody::new(Script::Run, &c), true);
    let body = refused.err().expect("spawn after shutdown is refused");
    drop(body);
    assert_eq!(c.drops(), 4, "the refused body came back to the caller");
    drop_handle(idle);
    drop_handle(queued);
    let counts = s.owned.counts();
    assert_eq!(
        (counts.spawned, counts.completed, counts.cancelled),
        (3, 1, 2)
    );
}

#[test]
fn state_flags_after_completion() {
    let (s, _c, h) = one_task(Script::Ready);
    assert!(h.state_flags() & SCHEDULED != 0);
    s.run_all();
    let st = h.state_flags();
    assert!(st & COMPLETE != 0 && st & SCHEDULED == 0);
    assert_eq!(st >> REF_SHIFT, 1, "only the handle is left");
    drop_handle(h);
}

#[test]
fn header_is_at_most_64_bytes() {
    // The runtime's per-task overhead (owner links, state, id, scheduler, vtable, join waker,
    // output); everything after it in the block is what the user passed.
    assert!(std::mem::size_of::<crate::core::task::Header>() <= 64);
}

#[test]
fn sleeping_task_is_woken_by_its_timer_and_abort_releases_the_timer() {
    let (s, _c, h) = one_task(Script::SleepOnce);
    assert_eq!(s.run_all(), 1);
    assert!(s.timers.has_pending(), "the poll registered a timer");
    s.fire_timers();
    assert_eq!(s.run_all(), 1);
    assert_eq!(outcome(&h), Some(Outcome::Ok));
    drop_handle(h);

    let c2 = Arc::new(Counters::default());
    let h = s
        .spawn(TestBody::new(Script::SleepOnce, &c2), true)
        .unwrap()
        .unwrap();
    s.run_all();
    assert!(s.timers.has_pending());
    h.abort();
    assert_eq!(outcome(&h), Some(Outcome::Cancelled));
    assert!(
        !s.timers.has_pending(),
        "aborting a sleeper releases its timer entry"
    );
    drop_and_check_released(&s, h);
}

#[test]
fn abort_of_thread_bound_task_is_carried_out_by_its_owner() {
    let (s, c, h) = idle_bound_task();
    h.abort();
    assert_eq!(outcome(&h), None, "not cancelled by the aborting thread");
    assert_eq!(c.drops(), 0);
    assert_eq!(s.queued(), 1);
    assert_eq!(s.run_all(), 0, "cancelled without a poll");
    assert_eq!(outcome(&h), Some(Outcome::Cancelled));
    assert_eq!(c.drops(), 1);
    drop_handle(h);
}
