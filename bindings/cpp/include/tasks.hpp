// tasks.hpp: header-only C++ binding of libtasks (C++17; C++20 adds coroutines and stop
// tokens), written over the C API (tasks.h) alone. Include this header, not its parts.
//
//   tasks::Runtime rt{tasks::Builder{}.worker_threads(4)};
//   tasks::JoinHandle<int> h = rt.spawn([] { return 42; });
//   int v = h.join();                 // rethrows the task's exception, throws tasks::Cancelled
//
// The parts (bindings/cpp/include/tasks/):
//   error.hpp        tasks::Error (a std::system_error, category "tasks"), Cancelled
//   join_handle.hpp  JoinHandle<T>, AbortHandle
//   runtime.hpp      Builder, Runtime, tasks::spawn, current_*, block_in_place
//   join_set.hpp     JoinSet<T>, Outcome<T>, TimedNext<T>
//   fork_join.hpp    Scope (rt.scope, tasks::scope), join, parallel_for, parallel_reduce
//   waker.hpp        Waker (task wakers and your own callbacks as wakers), this_waker()
//   local.hpp        TaskLocal<T> (task-local storage)
//   executor.hpp     Executor (tasks on a thread you own: event loops)
//   coro.hpp         C++20: Task<T>, sleep_for, yield, suspend, Runtime::schedule, co_await
//   when_all.hpp     C++20: when_all
//   stop_token.hpp   C++20 library: current_stop_token()
//
// Ownership. Runtime, Builder, JoinHandle, AbortHandle, JoinSet, Executor and Waker each own
// one C object and free it in their destructor; they are move-only (AbortHandle and Waker copy
// by cloning). Runtime::default_runtime() is borrowed and never freed. A callable passed to
// spawn is moved (or copied) into the task and destroyed when the task ends: after it ran, or
// at once if the task is cancelled before it started. A task's result lives on the heap until
// it is joined; a result nobody joins is destroyed by the library, on whatever thread drops it.
//
// Lifetimes are safe by default (like std::jthread and tbb::task_group): destroying a
// JoinHandle whose task has not ended aborts the task and waits until it has ended, and
// destroying a JoinSet does so for all its tasks; detach() / detach_all() opt out. So a
// callable may capture locals by reference. Destroying a Runtime shuts it down and waits for
// running tasks; handles and sets may outlive it (what never finished reports Cancelled).
// Aborting (abort(), or those destructors) may run the aborted task's destructors (its
// callable's captures, a coroutine's whole frame chain) on the calling thread.
//
// Exceptions. A task's exception is caught on the worker and stored with its result
// (std::exception_ptr), and join()/value() rethrow it with its original type. Nothing ever
// unwinds into the C library: callbacks the library calls are noexcept, so an exception that
// would escape one (a throwing destructor of a callable or a result, a throwing thread hook)
// calls std::terminate. Errors of the library itself are thrown as tasks::Error (status()).
// Moved-from objects throw Error(TASKS_ERR_INVALID) when used.
//
// Thread-safety. Runtime, JoinHandle and AbortHandle members may be called from any thread;
// a const member may run concurrently with other calls on the same object, but moving,
// assigning, destroying and join* need exclusive access (as for any C++ object). A JoinSet is
// used from one thread at a time. Callables run on worker threads (spawn_blocking: on the
// blocking pool), so what they capture by reference must be safe to use from there. Thread
// hooks (Builder::on_thread_start/stop) and notify/waker callbacks are called concurrently
// from several threads.
//
// Layout. Every class has the same layout in C++17 and C++20, so one program may mix
// translation units of both modes.
#ifndef TASKS_HPP
#define TASKS_HPP

#include "tasks/fwd.hpp"
#include "tasks/error.hpp"
#include "tasks/join_handle.hpp"
#include "tasks/runtime.hpp"
#include "tasks/join_set.hpp"
#include "tasks/fork_join.hpp"
#ifdef TASKS_HPP_COROUTINES
#include "tasks/coro.hpp"
#include "tasks/when_all.hpp"
#endif
#include "tasks/waker.hpp"
#include "tasks/local.hpp"
#include "tasks/executor.hpp"
#ifdef TASKS_HPP_STOP_TOKEN
#include "tasks/stop_token.hpp"
#endif

#endif  // TASKS_HPP
