// libtasks C++ example: a local executor inside a poll()/eventfd event loop, together with the
// multi-threaded runtime (the C++ version of examples/c/event_loop.c).
//
// The main thread owns a tasks::Executor and runs a classic event loop: it sleeps in poll() on
// two descriptors and, whenever one is readable, handles it and calls Executor::run.
//   - wake_fd (an eventfd): the executor's notify hook writes to it, so the loop wakes up
//     exactly when one of its tasks becomes ready, whichever thread made it ready.
//   - input_fd (a pipe): an event source of the loop's own, written by another thread ("a
//     socket"). A local coroutine waits for it with a tasks::Waker it stores in the loop; when
//     poll() reports the pipe readable, the loop wakes that Waker.
// The work: a local coroutine (running on the main thread only) spawns a computation on the
// runtime (a coroutine that sleeps 20 ms on a runtime timer, then sums squares), co_awaits it,
// then waits for a line on the pipe, and returns both. The program checks its own results
// (and that the local coroutine only ever ran on the main thread); exit 1 on a mismatch.
#include <tasks.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {
constexpr std::uint64_t N = 1000;
constexpr std::uint64_t kExpected = N * (N + 1) * (2 * N + 1) / 6;

// The runtime's part: runs on a worker.
tasks::Task<std::uint64_t> sum_of_squares(std::uint64_t n) {
    co_await tasks::sleep_for(20ms);
    std::uint64_t sum = 0;
    for (std::uint64_t i = 1; i <= n; i++) sum += i * i;
    co_return sum;
}

// What the loop knows about its pipe: the data read so far, and who waits for it. Only the
// loop thread touches it (the local coroutine runs there too), so it needs no lock.
struct Input {
    int fd = -1;
    std::string data;
    bool closed = false;
    tasks::Waker waiter;
};

// A local coroutine's wait for a line on the pipe: registers its waker, suspends, re-checks.
tasks::Task<std::string> read_line(Input *in) {
    for (;;) {
        std::size_t nl = in->data.find('\n');
        if (nl != std::string::npos) co_return in->data.substr(0, nl);
        if (in->closed) throw std::runtime_error("input closed before a full line");
        in->waiter = co_await tasks::this_waker();
        co_await tasks::suspend();  // until the loop sees the pipe readable and wakes us
    }
}

struct Outcome {
    std::uint64_t sum = 0;
    std::string line;
    int off_thread_polls = 0;
};

bool drain_eventfd(int fd) {
    std::uint64_t count;
    return read(fd, &count, sizeof count) >= 0 || errno == EAGAIN;
}
}  // namespace

int main() {
    int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int pipe_fds[2];
    if (wake_fd < 0 || pipe(pipe_fds) != 0) {
        std::perror("eventfd/pipe");
        return 1;
    }
    Input input;
    input.fd = pipe_fds[0];
    std::atomic<int> notifies{0};
    int rc = 1;
    {
        tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};
        tasks::Executor ex;
        // Called from any thread when a task of ex becomes ready while none was.
        ex.set_notify([wake_fd, &notifies] {
            notifies++;
            std::uint64_t one = 1;
            while (write(wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
            }
        });

        auto loop_thread = std::this_thread::get_id();
        tasks::JoinHandle<Outcome> local = ex.spawn([&]() -> tasks::Task<Outcome> {
            Outcome o;
            auto check_thread = [&] { o.off_thread_polls += std::this_thread::get_id() != loop_thread; };
            check_thread();
            tasks::JoinHandle<std::uint64_t> work = rt.spawn(sum_of_squares(N));
            std::printf("local task: spawned the computation on the runtime (task %llu)\n",
                        static_cast<unsigned long long>(work.id()));
            o.sum = co_await work;  // the finishing worker wakes us: notify -> eventfd -> poll()
            check_thread();
            std::printf("local task: sum of squares 1..%llu = %llu\n", static_cast<unsigned long long>(N),
                        static_cast<unsigned long long>(o.sum));
            o.line = co_await read_line(&input);
            check_thread();
            std::printf("local task: read \"%s\" from the pipe\n", o.line.c_str());
            co_return o;
        });

        // "A socket": another thread writes a line, in two pieces, a little later.
        std::thread writer([fd = pipe_fds[1]] {
            std::this_thread::sleep_for(40ms);
            (void)!write(fd, "hello ", 6);
            std::this_thread::sleep_for(10ms);
            (void)!write(fd, "loop\n", 5);
            close(fd);
        });

        // The loop: run what is ready; when nothing is, sleep in poll() until a descriptor is
        // readable.
        int wakeups = 0;
        bool failed = false;
        while (!ex.empty()) {
            if (ex.run(64) > 0) continue;  // something ran: there may be more ready
            struct pollfd fds[2] = {{wake_fd, POLLIN, 0}, {input.fd, POLLIN, 0}};
            int n = poll(fds, input.closed ? 1 : 2, 10 * 1000);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                std::fprintf(stderr, "event_loop: %s\n", n == 0 ? "no wake-up for 10 s: a lost notify?" : std::strerror(errno));
                failed = true;
                break;
            }
            wakeups++;
            if ((fds[0].revents & POLLIN) && !drain_eventfd(wake_fd)) {
                std::perror("read eventfd");
                failed = true;
                break;
            }
            if (!input.closed && (fds[1].revents & (POLLIN | POLLHUP))) {
                char buf[256];
                ssize_t got = read(input.fd, buf, sizeof buf);
                if (got > 0) {
                    input.data.append(buf, static_cast<std::size_t>(got));
                } else {
                    input.closed = true;
                }
                input.waiter.wake();  // the coroutine re-checks; a wake with nobody waiting does nothing
            }
        }
        writer.join();
        std::printf("event loop: done after %d wake-up(s) from poll(), notify called %d time(s)\n", wakeups,
                    notifies.load());
        if (!failed) {
            try {
                Outcome o = local.join();
                if (o.sum != kExpected) {
                    std::fprintf(stderr, "event_loop: sum %llu, expected %llu\n", static_cast<unsigned long long>(o.sum),
                                 static_cast<unsigned long long>(kExpected));
                } else if (o.line != "hello loop") {
                    std::fprintf(stderr, "event_loop: read \"%s\"\n", o.line.c_str());
                } else if (o.off_thread_polls != 0) {
                    std::fprintf(stderr, "event_loop: the local task ran off the loop thread\n");
                } else if (wakeups < 2 || notifies < 1) {
                    std::fprintf(stderr, "event_loop: expected the local task to wait (wake-ups %d)\n", wakeups);
                } else {
                    std::printf("event_loop: OK\n");
                    rc = 0;
                }
            } catch (const std::exception &e) {
                std::fprintf(stderr, "event_loop: the local task failed: %s\n", e.what());
            }
        }
        // Leaving the scope: `local` (finished), the executor (cancels anything left, on
        // this, its owner thread), then the runtime.
    }
    close(pipe_fds[0]);
    close(wake_fd);
    return rc;
}
