// Downstream smoke test of tasks::cpp: nothing but find_package(tasks) and tasks.hpp.
#include <tasks.hpp>

#include <cstdio>

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};
    tasks::JoinSet<int> set(rt);
    for (int i = 1; i <= 10; i++) set.spawn([i] { return i * i; });
    int sum = 0;
    while (auto o = set.join_next()) sum += o->value();
    if (sum != 385) {
        std::fprintf(stderr, "consumer_cpp: sum %d, want 385\n", sum);
        return 1;
    }
    std::printf("consumer_cpp: libtasks %s ok (385)\n", tasks_version());
    return 0;
}
