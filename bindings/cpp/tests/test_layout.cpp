// C8: Runtime, JoinSet and the other classes have the same layout in C++17 and C++20 units of
// one program (this unit is C++20; layout_cxx17.cpp is C++17), and objects cross between them.
#include <tasks.hpp>

#include "check.hpp"
#include "layout_sizes.hpp"

#ifndef TASKS_HPP_COROUTINES
#error "test_layout.cpp must be compiled as C++20"
#endif

LayoutSizes layout_sizes_cxx17();
tasks::JoinHandle<int> spawn_from_cxx17(tasks::Runtime &rt, int v);

int main() {
    LayoutSizes a = layout_sizes_cxx17();
    LayoutSizes b = LAYOUT_SIZES();
    for (std::size_t i = 0; i < sizeof(a.v) / sizeof(a.v[0]); i++) {
        if (a.v[i] != b.v[i]) {
            std::fprintf(stderr, "entry %zu: C++17 %zu, C++20 %zu\n", i, a.v[i], b.v[i]);
            CHECK(false);
        }
    }
    tasks::Runtime rt{tasks::Builder{}.worker_threads(1)};
    CHECK(spawn_from_cxx17(rt, 21).join() == 42);
    std::puts("test_layout OK");
    return 0;
}
