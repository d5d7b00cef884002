// tasks/stop_token.hpp: tasks::current_stop_token(), a task's abort as a std::stop_token
// (C++20 library).
#ifndef TASKS_HPP_STOP_TOKEN_H
#define TASKS_HPP_STOP_TOKEN_H

#include "detail/core.hpp"

#include <memory>
#include <mutex>
#include <stop_token>
#include <unordered_map>
#include <vector>

namespace tasks {
namespace detail {

// One stop_source per task that asked for a token, keyed by task id, with the groups whose
// aborts reach it. Entries go when their task ends (a task-local value's destructor).
struct StopRegistry {
    struct Entry {
        std::stop_source source;
        TaskGroups groups;
    };
    std::mutex mu;
    std::unordered_map<std::uint64_t, Entry> entries;

    // Never destroyed: tasks may end (and abort notifications arrive) during static destruction.
    static StopRegistry &get() {
        static StopRegistry *r = new StopRegistry;
        return *r;
    }
    // request_stop runs the token's stop_callbacks: never under the lock (they may call back).
    static void stop_task(std::uint64_t id) noexcept {
        StopRegistry &r = get();
        std::stop_source s = std::stop_source(std::nostopstate);
        {
            std::lock_guard<std::mutex> g(r.mu);
            auto it = r.entries.find(id);
            if (it == r.entries.end()) return;
            s = it->second.source;
        }
        s.request_stop();
    }
    static void stop_group(const void *group) noexcept {
        StopRegistry &r = get();
        std::vector<std::stop_source> hit;
        try {
            std::lock_guard<std::mutex> g(r.mu);
            for (auto &kv : r.entries) {
                if (kv.second.groups.set == group || kv.second.groups.runtime == group) hit.push_back(kv.second.source);
            }
        } catch (...) {
            // Out of memory collecting them: the tasks still see current_is_cancelled(), and
            // their tokens turn at their next current_stop_token()/current_is_cancelled().
        }
        for (auto &s : hit) s.request_stop();
    }
    static void forget(void *value) noexcept {
        auto *id = static_cast<std::uint64_t *>(value);
        StopRegistry &r = get();
        {
            std::lock_guard<std::mutex> g(r.mu);
            r.entries.erase(*id);
        }
        delete id;
    }
};
inline constexpr AbortListener stop_listener{&StopRegistry::stop_task, &StopRegistry::stop_group};

}  // namespace detail

// The running task's stop token: stop is requested when the task is aborted (by a JoinHandle,
// an AbortHandle, a JoinSet, a Runtime's shutdown or destruction, or a destructor that aborts).
// An abort made through the C API directly shows at the task's next call of
// current_stop_token() or current_is_cancelled(). Outside a task: a token that never stops
// (stop_possible() is false). Stop callbacks run on the aborting thread.
inline std::stop_token current_stop_token() {
    std::uint64_t id = tasks_current_id();
    if (id == 0) return std::stop_token();
    detail::abort_listener.store(&detail::stop_listener, std::memory_order_release);
    static tasks_local_key *key = tasks_local_key_new(&detail::StopRegistry::forget);
    if (!key) throw Error(TASKS_ERR_NO_MEMORY, "tasks_local_key_new");
    detail::StopRegistry &r = detail::StopRegistry::get();
    std::stop_source source = std::stop_source(std::nostopstate);
    bool fresh = false;
    {
        std::lock_guard<std::mutex> g(r.mu);
        auto [it, inserted] = r.entries.try_emplace(id);
        if (inserted) it->second.groups = detail::current_groups;
        source = it->second.source;
        fresh = inserted;
    }
    if (fresh) {
        // The entry is forgotten when the task ends (its task-local value is destroyed).
        auto idp = std::make_unique<std::uint64_t>(id);
        if (tasks_local_key_set(key, idp.get()) == TASKS_OK) {
            idp.release();
        } else {
            std::lock_guard<std::mutex> g(r.mu);
            r.entries.erase(id);  // nothing would forget it
        }
    }
    if (tasks_current_is_cancelled()) source.request_stop();
    return source.get_token();
}

}  // namespace tasks

#endif  // TASKS_HPP_STOP_TOKEN_H
