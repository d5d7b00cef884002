// Data parallelism with the C++ binding (tasks/fork_join.hpp): fills a vector with
// parallel_for, sums it and finds its maximum with parallel_reduce, counts primes with a
// chunked parallel_reduce, and sorts with a recursive tasks::join quicksort inside rt.scope.
// Every result is checked against a sequential computation (exit 1 if one differs).
//   parallel_reduce [N]          N: number of elements (default 2000000)
#include <tasks.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <numeric>
#include <vector>

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64: a cheap deterministic "random" value
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

bool is_prime(std::uint64_t n) {
    if (n < 2) return false;
    for (std::uint64_t d = 2; d * d <= n; d++) {
        if (n % d == 0) return false;
    }
    return true;
}

// Sorts [b, e) in place: partitions, then sorts both sides with tasks::join (the second side
// is offered to idle workers; nothing is allocated per call). Small ranges sort serially.
void quicksort(std::uint64_t *b, std::uint64_t *e) {
    if (e - b < 2048) {
        std::sort(b, e);
        return;
    }
    std::uint64_t pivot = b[(e - b) / 2];
    std::uint64_t *m1 = std::partition(b, e, [pivot](std::uint64_t x) { return x < pivot; });
    std::uint64_t *m2 = std::partition(m1, e, [pivot](std::uint64_t x) { return x == pivot; });
    (void)tasks::join([b, m1] { quicksort(b, m1); }, [m2, e] { quicksort(m2, e); });
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char **argv) {
    std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
    tasks::Runtime rt;
    bool ok = true;

    // parallel_for, index form: out[i] depends only on i.
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::uint64_t> v(n);
    tasks::parallel_for(rt, 0, n, [&v](std::size_t i) { v[i] = mix(i) % 1000000; });
    std::cout << "fill     " << n << " elements in " << ms_since(t0) << " ms\n";

    // parallel_reduce: a sum (std::plus) and a maximum (a lambda), each chunk folded serially.
    t0 = std::chrono::steady_clock::now();
    std::uint64_t sum = tasks::parallel_reduce(
        rt, 0, n, std::uint64_t(0),
        [&v](std::size_t b, std::size_t e, std::uint64_t acc) {
            for (std::size_t i = b; i < e; i++) acc += v[i];
            return acc;
        },
        std::plus<>{});
    std::uint64_t max = tasks::parallel_reduce(
        rt, 0, n, std::uint64_t(0),
        [&v](std::size_t b, std::size_t e, std::uint64_t acc) {
            for (std::size_t i = b; i < e; i++) acc = std::max(acc, v[i]);
            return acc;
        },
        [](std::uint64_t a, std::uint64_t b) { return std::max(a, b); });
    std::cout << "reduce   sum " << sum << ", max " << max << " in " << ms_since(t0) << " ms\n";
    ok = ok && sum == std::accumulate(v.begin(), v.end(), std::uint64_t(0));
    ok = ok && (n == 0 || max == *std::max_element(v.begin(), v.end()));

    // Uneven work (primality by trial division grows with the number): a grain keeps the
    // pieces worth a task, and adaptive splitting balances the rest.
    const std::uint64_t limit = 200000;
    t0 = std::chrono::steady_clock::now();
    std::uint64_t primes = tasks::parallel_reduce(
        rt, 0, limit, 256, std::uint64_t(0),
        [](std::size_t b, std::size_t e, std::uint64_t acc) {
            for (std::size_t i = b; i < e; i++) acc += is_prime(i) ? 1 : 0;
            return acc;
        },
        std::plus<>{});
    std::cout << "primes   below " << limit << ": " << primes << " in " << ms_since(t0) << " ms\n";
    std::uint64_t serial_primes = 0;
    for (std::uint64_t i = 0; i < limit; i++) serial_primes += is_prime(i) ? 1 : 0;
    ok = ok && primes == serial_primes;

    // A scope: one task sorts a copy with the join quicksort (joins inside it run on rt), while
    // another counts the even elements with a parallel loop. Both borrow `v` and locals.
    t0 = std::chrono::steady_clock::now();
    std::vector<std::uint64_t> sorted = v;
    std::size_t evens = 0;
    rt.scope([&](tasks::Scope &s) {
        s.spawn([&sorted] { quicksort(sorted.data(), sorted.data() + sorted.size()); });
        s.spawn([&v, &evens] {
            evens = tasks::parallel_reduce(
                0, v.size(), std::size_t(0),
                [&v](std::size_t b, std::size_t e, std::size_t acc) {
                    for (std::size_t i = b; i < e; i++) acc += v[i] % 2 == 0 ? 1 : 0;
                    return acc;
                },
                std::plus<>{});
        });
    });
    std::cout << "scope    sorted " << sorted.size() << ", " << evens << " even, in " << ms_since(t0) << " ms\n";
    ok = ok && std::is_sorted(sorted.begin(), sorted.end()) &&
         evens == static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](std::uint64_t x) { return x % 2 == 0; }));
    std::vector<std::uint64_t> check = v;
    std::sort(check.begin(), check.end());
    ok = ok && check == sorted;

    std::cout << (ok ? "all results match the sequential ones\n" : "MISMATCH\n");
    return ok ? 0 : 1;
}
