// Compiled as C++17 and linked into test_layout (C++20): the classes both modes share must
// have one layout (ODR), and objects must cross between translation units of both modes.
#include <tasks.hpp>

#include <cstddef>

#ifdef TASKS_HPP_COROUTINES
#error "layout_cxx17.cpp must be compiled as C++17"
#endif

#include "layout_sizes.hpp"

LayoutSizes layout_sizes_cxx17() { return LAYOUT_SIZES(); }

// Spawns on a Runtime built in the C++20 unit; the handle goes back there to be joined.
tasks::JoinHandle<int> spawn_from_cxx17(tasks::Runtime &rt, int v) {
    return rt.spawn([v] { return v * 2; });
}
