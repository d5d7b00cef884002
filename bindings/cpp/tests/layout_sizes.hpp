// The sizes and alignments test_layout compares between its C++17 and C++20 units.
#pragma once
#include <cstddef>

struct LayoutSizes {
    std::size_t v[18];
};
#define LAYOUT_ENTRY(T) sizeof(T), alignof(T)
#define LAYOUT_SIZES()                                                                              \
    LayoutSizes {                                                                                   \
        {LAYOUT_ENTRY(tasks::Runtime), LAYOUT_ENTRY(tasks::Builder), LAYOUT_ENTRY(tasks::JoinHandle<int>), \
         LAYOUT_ENTRY(tasks::JoinSet<int>), LAYOUT_ENTRY(tasks::Outcome<int>), LAYOUT_ENTRY(tasks::AbortHandle), \
         LAYOUT_ENTRY(tasks::Executor), LAYOUT_ENTRY(tasks::Waker), LAYOUT_ENTRY(tasks::Error)}      \
    }
