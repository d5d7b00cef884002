// tasks/fwd.hpp: configuration and forward declarations shared by the parts of tasks.hpp.
// Include <tasks.hpp>, not the parts: they rely on being included in its order.
#ifndef TASKS_HPP_FWD
#define TASKS_HPP_FWD

#include <tasks.h>

#include <cstdint>

// C++20 coroutines (tasks::Task) when the compiler has them. Nothing else depends on the mode:
// every class that exists in both modes has the same layout in both (one program may mix
// C++17 and C++20 translation units).
#if defined(__cpp_impl_coroutine) && __cpp_impl_coroutine >= 201902L && defined(__has_include)
#if __has_include(<coroutine>)
#define TASKS_HPP_COROUTINES 1
#endif
#endif
// std::stop_token (tasks::current_stop_token) with a C++20 library.
#if __cplusplus >= 202002L && defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_jthread) && __cpp_lib_jthread >= 201911L
#define TASKS_HPP_STOP_TOKEN 1
#endif

namespace tasks {
class Error;
class Cancelled;
class AbortHandle;
template <class T> class JoinHandle;
template <class T> class JoinSet;
template <class T> class Outcome;
class Builder;
class Runtime;
class Scope;
class Executor;
class Waker;
#ifdef TASKS_HPP_COROUTINES
template <class T> class Task;
#endif
}  // namespace tasks

#endif  // TASKS_HPP_FWD
