// Test helpers: CHECK aborts with the failing expression (tests run without NDEBUG concerns).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                 \
        }                                                                                 \
    } while (0)

// CHECK_THROWS(expr, Type, e, cond): expr throws Type (caught as `const Type &e`) and cond holds.
// The expression's value is discarded on purpose ([[nodiscard]] does not apply).
#define CHECK_THROWS(stmt, Type, e, cond)                                                         \
    do {                                                                                          \
        bool caught_ = false;                                                                     \
        try {                                                                                     \
            (void)(stmt);                                                                         \
        } catch (const Type &e) {                                                                 \
            caught_ = true;                                                                       \
            if (!(cond)) {                                                                        \
                std::fprintf(stderr, "%s:%d: wrong exception: %s\n", __FILE__, __LINE__, #cond);  \
                std::abort();                                                                     \
            }                                                                                     \
        }                                                                                         \
        if (!caught_) {                                                                           \
            std::fprintf(stderr, "%s:%d: no %s thrown by %s\n", __FILE__, __LINE__, #Type, #stmt); \
            std::abort();                                                                         \
        }                                                                                         \
    } while (0)

// Polls pred until it holds or `limit` passes (generous: valgrind slows everything down).
template <class P>
bool wait_until(P pred, std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// Counts live instances, to check that callables, results and frames are destroyed.
struct Counted {
    static std::atomic<int> live;
    int v;
    explicit Counted(int x = 0) : v(x) { live++; }
    Counted(const Counted &o) : v(o.v) { live++; }
    Counted(Counted &&o) noexcept : v(o.v) { live++; }
    Counted &operator=(const Counted &) = default;
    ~Counted() { live--; }
};
inline std::atomic<int> Counted::live{0};

// A gate tasks wait on; opened from the test thread.
struct Gate {
    std::atomic<bool> open{false};
    void wait() const {
        while (!open.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
};

inline double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
