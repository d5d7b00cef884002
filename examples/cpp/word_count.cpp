// Parallel word count with the C++ binding: splits the input (a file, or a generated text) into
// chunks, counts each chunk in a task of a JoinSet, merges the maps in completion order, and
// checks the result against a plain sequential count (exit 1 if they differ).
//   word_count [FILE]
#include <tasks.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

using Counts = std::unordered_map<std::string, std::size_t>;

static Counts count_words(const std::string &text, std::size_t begin, std::size_t end) {
    Counts c;
    std::string w;
    for (std::size_t i = begin; i < end; i++) {
        unsigned char ch = static_cast<unsigned char>(text[i]);
        if (std::isalnum(ch)) {
            w.push_back(static_cast<char>(std::tolower(ch)));
        } else if (!w.empty()) {
            c[w]++;
            w.clear();
        }
    }
    if (!w.empty()) c[w]++;
    return c;
}

int main(int argc, char **argv) {
    std::string text;
    if (argc > 1) {
        std::ifstream in(argv[1], std::ios::binary);
        if (!in) { std::cerr << "cannot open " << argv[1] << "\n"; return 1; }
        std::ostringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    } else {
        const char *words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"};
        for (int i = 0; i < 200000; i++) { text += words[(i * 7 + i / 3) % 8]; text += ' '; }
    }
    // Shared, not copied, by every chunk's task; it lives until the last task is done.
    auto shared = std::make_shared<const std::string>(std::move(text));

    tasks::Runtime rt{tasks::Builder{}.thread_name("wc")};
    tasks::JoinSet<Counts> set(rt);
    const std::size_t chunk = 64 * 1024;
    std::size_t begin = 0;
    while (begin < shared->size()) {
        std::size_t end = std::min(shared->size(), begin + chunk);
        // Cut between words, so that no word is counted as two halves.
        while (end < shared->size() && std::isalnum(static_cast<unsigned char>((*shared)[end]))) end++;
        set.spawn([shared, begin, end] { return count_words(*shared, begin, end); });
        begin = end;
    }

    Counts total;
    std::size_t chunks = 0;
    while (auto o = set.join_next()) {
        chunks++;
        for (auto &kv : o->value()) total[kv.first] += kv.second;
    }
    // The order the chunks finished in does not matter to the sum: it must match one pass.
    if (total != count_words(*shared, 0, shared->size())) {
        std::cerr << "word_count: parallel and sequential counts differ\n";
        return 1;
    }
    std::vector<std::pair<std::string, std::size_t>> v(total.begin(), total.end());
    std::sort(v.begin(), v.end(), [](auto &a, auto &b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
    std::cout << chunks << " chunks, " << v.size() << " distinct words\n";
    for (std::size_t i = 0; i < v.size() && i < 10; i++) std::cout << v[i].second << "\t" << v[i].first << "\n";
    return 0;
}
