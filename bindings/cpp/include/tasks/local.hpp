// tasks/local.hpp: tasks::TaskLocal<T>, a value per task (like thread_local, per task).
#ifndef TASKS_HPP_LOCAL
#define TASKS_HPP_LOCAL

#include "detail/core.hpp"

#include <memory>
#include <utility>

namespace tasks {

// Each task sees its own T (none until it sets one). A task's value is destroyed when the task
// ends (finished or cancelled), on the thread where it ends, before its handle reports
// is_finished(); ~T must not throw (std::terminate).
// Each TaskLocal allocates a library key that lives for the rest of the process (the C API
// never frees keys), so make TaskLocals static or global, not per call. Not copyable or movable.
template <class T>
class TaskLocal {
public:
    TaskLocal() : key_(tasks_local_key_new(&destroy)) {
        if (!key_) throw Error(TASKS_ERR_NO_MEMORY, "tasks_local_key_new");
    }
    TaskLocal(const TaskLocal &) = delete;
    TaskLocal &operator=(const TaskLocal &) = delete;

    // The running task's value; nullptr if it has none or outside a task.
    [[nodiscard]] T *get() const noexcept { return static_cast<T *>(tasks_local_key_get(key_)); }
    // Sets the running task's value to T(args...), destroying the old one; returns it.
    // Error(TASKS_ERR_NO_TASK) outside a task.
    template <class... A>
    T &emplace(A &&...args) {
        auto v = std::make_unique<T>(std::forward<A>(args)...);
        detail::check(tasks_local_key_set(key_, v.get()), "TaskLocal::emplace");
        return *v.release();  // the task owns it now
    }
    // The running task's value, created with T(args...) if it has none.
    template <class... A>
    T &get_or_emplace(A &&...args) {
        if (T *v = get()) return *v;
        return emplace(std::forward<A>(args)...);
    }
    // Destroys the running task's value. Error(TASKS_ERR_NO_TASK) outside a task.
    void reset() { detail::check(tasks_local_key_set(key_, nullptr), "TaskLocal::reset"); }

    const tasks_local_key *native_handle() const noexcept { return key_; }

private:
    static void destroy(void *v) noexcept { delete static_cast<T *>(v); }
    tasks_local_key *key_;
};

}  // namespace tasks

#endif  // TASKS_HPP_LOCAL
